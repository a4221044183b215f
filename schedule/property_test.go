package schedule_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/schedule"
)

// brute is an independent, deliberately naive cron matcher: it interprets
// the text of each field against one minute, without bitsets, day masks or
// search. The property test checks Next against it.
type brute struct{ f [6]string }

var (
	bruteMonths = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	bruteDays   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

// newBrute splits a cron expression; ok is false for anything else.
func newBrute(expr string) (brute, bool) {
	body, ok := strings.CutPrefix(expr, "cron(")
	if !ok {
		return brute{}, false
	}
	fields := strings.Fields(strings.ToUpper(strings.TrimSuffix(body, ")")))
	var b brute
	copy(b.f[:], fields)
	return b, len(fields) == 6
}

// match reports whether the minute of tm (in UTC) matches.
func (b brute) match(tm time.Time) bool {
	tm = tm.UTC()
	return b.matchDay(tm) &&
		matchList(b.f[1], tm.Hour(), 0, 23, nil) &&
		matchList(b.f[0], tm.Minute(), 0, 59, nil)
}

// matchDay reports whether the day of tm matches.
func (b brute) matchDay(tm time.Time) bool {
	y, m, d := tm.Date()
	return matchList(b.f[5], y, 1970, 2199, nil) &&
		matchList(b.f[3], int(m), 1, 12, bruteMonths) &&
		b.matchDayOfMonth(y, m, d) &&
		b.matchDayOfWeek(tm)
}

func lastDayOf(y int, m time.Month) int {
	for d := 31; ; d-- {
		if time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Month() == m {
			return d
		}
	}
}

func isWeekday(y int, m time.Month, d int) bool {
	w := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()
	return w != time.Saturday && w != time.Sunday
}

func (b brute) matchDayOfMonth(y int, m time.Month, d int) bool {
	f := b.f[2]
	last := lastDayOf(y, m)
	switch {
	case f == "?":
		return true
	case f == "L":
		return d == last
	case f == "LW":
		w := last
		for !isWeekday(y, m, w) {
			w--
		}
		return d == w
	case strings.HasSuffix(f, "W"):
		n, _ := strconv.Atoi(strings.TrimSuffix(f, "W"))
		if n > last {
			return false
		}
		// The weekday of the month closest to day n.
		best := 0
		for c := 1; c <= last; c++ {
			if isWeekday(y, m, c) && (best == 0 || abs(c-n) < abs(best-n)) {
				best = c
			}
		}
		return d == best
	}
	return matchList(f, d, 1, 31, nil)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (b brute) matchDayOfWeek(tm time.Time) bool {
	f := b.f[4]
	w := int(tm.Weekday()) + 1
	d := tm.Day()
	switch {
	case f == "?":
		return true
	case f == "L":
		return w == 7
	case strings.Contains(f, "#"):
		day, nth, _ := strings.Cut(f, "#")
		k, _ := strconv.Atoi(nth)
		return w == bruteValue(day, 1, bruteDays) && (d-1)/7+1 == k
	case strings.HasSuffix(f, "L"):
		return w == bruteValue(strings.TrimSuffix(f, "L"), 1, bruteDays) && d+7 > lastDayOf(tm.Year(), tm.Month())
	}
	return matchList(f, w, 1, 7, bruteDays)
}

func bruteValue(s string, min int, names []string) int {
	for i, n := range names {
		if s == n {
			return min + i
		}
	}
	v, _ := strconv.Atoi(s)
	return v
}

// matchList reports whether v matches any item of a list field.
func matchList(f string, v, min, max int, names []string) bool {
	for _, item := range strings.Split(f, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			step, _ = strconv.Atoi(stepText)
		}
		span := max - min + 1
		switch {
		case rng == "*":
			if (v-min)%step == 0 {
				return true
			}
		case strings.Contains(rng, "-"):
			a, z, _ := strings.Cut(rng, "-")
			lo, hi := bruteValue(a, min, names), bruteValue(z, min, names)
			off, length := (v-lo+span)%span, (hi-lo+span)%span
			if off <= length && off%step == 0 {
				return true
			}
		default:
			lo := bruteValue(rng, min, names)
			if (!hasStep && v == lo) || (hasStep && v >= lo && (v-lo)%step == 0) {
				return true
			}
		}
	}
	return false
}

// randomCron builds a random valid cron expression. list's maxStep is
// the largest step it writes, 0 for none.
func randomCron(r *rand.Rand) string {
	pick := func(options ...string) string { return options[r.IntN(len(options))] }
	num := func(lo, hi int) string { return strconv.Itoa(lo + r.IntN(hi-lo+1)) }
	list := func(lo, hi, maxStep int, names []string) string {
		val := func() string {
			v := lo + r.IntN(hi-lo+1)
			if names != nil && r.IntN(3) == 0 {
				return names[v-lo]
			}
			return strconv.Itoa(v)
		}
		item := func() string {
			if maxStep == 0 { // no steps in this field
				return pick("*", val(), val()+"-"+val())
			}
			switch r.IntN(7) {
			case 0:
				return "*"
			case 1:
				return "*/" + num(1, maxStep)
			case 2:
				return val() + "/" + num(1, maxStep)
			case 3, 4:
				return val() + "-" + val()
			case 5:
				return val() + "-" + val() + "/" + num(1, maxStep)
			}
			return val()
		}
		n := 1 + r.IntN(3)
		items := make([]string, n)
		for i := range items {
			items[i] = item()
		}
		return strings.Join(items, ",")
	}
	minutes := pick("*", "0", "0/15", "*/5", list(0, 59, 30, nil), list(0, 59, 60, nil))
	hours := pick("*", "10", "8-17", list(0, 23, 12, nil), list(0, 23, 24, nil))
	month := pick("*", "*", list(1, 12, 6, bruteMonths), list(1, 12, 12, bruteMonths))
	year := pick("*", "*", "*", "2020-2030", "2024/3", "2019", num(2019, 2032), "2030-2199/7")
	// Year ranges must not run backwards.
	if strings.Count(year, "-") == 0 && r.IntN(4) == 0 {
		a := 2019 + r.IntN(10)
		year = fmt.Sprintf("%d-%d", a, a+r.IntN(5))
	}
	var dom, dow string
	if r.IntN(2) == 0 {
		dom = pick("*", "L", "LW", pick("1", "2", "30", "31", num(1, 31))+"W", num(1, 31), num(28, 31), list(1, 31, 15, nil), list(1, 31, 31, nil))
		dow = "?"
	} else {
		dom = "?"
		day := func() string {
			if r.IntN(2) == 0 {
				return bruteDays[r.IntN(7)]
			}
			return num(1, 7)
		}
		dow = pick("*", "L", "MON-FRI", day()+"L", day()+"#"+num(1, 5), list(1, 7, 0, bruteDays))
	}
	return fmt.Sprintf("cron(%s %s %s %s %s %s)", minutes, hours, dom, month, dow, year)
}

func TestNextProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const window = 62 * 24 * time.Hour // longer than any month
	base := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	fired := 0
	for range iterations {
		expr := randomCron(r)
		s, err := schedule.Parse(expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", expr, err)
		}
		b, _ := newBrute(expr)
		from := base.Add(time.Duration(r.Int64N(int64(13 * 365 * 24 * time.Hour))))
		if r.IntN(4) == 0 {
			from = from.Truncate(time.Minute)
		}
		// Follow a few consecutive firings.
		for range 4 {
			next := s.Next(from)
			if !next.IsZero() {
				fired++
				if !next.After(from) {
					t.Fatalf("%s: Next(%v) = %v, not after", expr, from, next)
				}
				if next.Second() != 0 || next.Nanosecond() != 0 || next.Location() != time.UTC {
					t.Fatalf("%s: Next(%v) = %v, not a whole minute in UTC", expr, from, next)
				}
				if !b.match(next) {
					t.Fatalf("%s: Next(%v) = %v, which does not match", expr, from, next)
				}
			}
			// No minute strictly between from and next (or, when next is zero
			// or far away, in the window after from) may match. Whole days
			// that do not match are skipped.
			end := from.Add(window)
			if !next.IsZero() && next.Before(end) {
				end = next
			}
			for m := from.Truncate(time.Minute).Add(time.Minute); m.Before(end); {
				if !b.matchDay(m) {
					y, mo, d := m.Date()
					m = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
					continue
				}
				if b.match(m) {
					t.Fatalf("%s: Next(%v) = %v, but %v matches", expr, from, next, m)
				}
				m = m.Add(time.Minute)
			}
			if next.IsZero() {
				break
			}
			from = next
		}
	}
	if fired < iterations {
		t.Errorf("only %d firings for %d schedules: the generator is too narrow", fired, iterations)
	}
}

// TestBruteMatcher pins the brute-force matcher itself to known answers, so
// that a bug shared with the real matcher cannot hide.
func TestBruteMatcher(t *testing.T) {
	for _, tt := range []struct {
		expr, at string
		want     bool
	}{
		{"cron(0 10 * * ? *)", "2024-02-10T10:00:00Z", true},
		{"cron(0 10 * * ? *)", "2024-02-10T10:01:00Z", false},
		{"cron(0 9 ? * 2#1 *)", "2024-03-04T09:00:00Z", true},
		{"cron(0 9 ? * 2#1 *)", "2024-03-11T09:00:00Z", false},
		{"cron(0 0 LW * ? *)", "2024-03-29T00:00:00Z", true},
		{"cron(0 0 1W * ? *)", "2024-06-03T00:00:00Z", true},
		{"cron(0 0 1W * ? *)", "2024-06-01T00:00:00Z", false},
		{"cron(0 0 ? * 6L *)", "2024-02-23T00:00:00Z", true},
		{"cron(0 0 ? * 6L *)", "2024-02-16T00:00:00Z", false},
		{"cron(0 22-2 ? * * *)", "2024-02-10T01:00:00Z", true},
		{"cron(0 22-2 ? * * *)", "2024-02-10T03:00:00Z", false},
		{"cron(10-50/20 * * * ? *)", "2024-02-10T03:30:00Z", true},
		{"cron(10-50/20 * * * ? *)", "2024-02-10T03:40:00Z", false},
	} {
		b, _ := newBrute(tt.expr)
		if got := b.match(at(t, tt.at)); got != tt.want {
			t.Errorf("brute %s at %s = %v, want %v", tt.expr, tt.at, got, tt.want)
		}
	}
}
