package schedule_test

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/courier-io/courier/schedule"
)

// at parses an RFC 3339 time, failing the test on error.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// checkNext checks that successive Next calls from `from` yield want (RFC
// 3339 strings, "" for the zero time), and that each firing matches the
// brute-force matcher when the schedule is a cron expression.
func checkNext(t *testing.T, expr, from string, want ...string) {
	t.Helper()
	s, err := schedule.Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	cur := at(t, from)
	for i, w := range want {
		got := s.Next(cur)
		if w == "" {
			if !got.IsZero() {
				t.Errorf("%s: Next #%d from %s = %s, want the zero time", expr, i+1, cur.Format(time.RFC3339), got.Format(time.RFC3339))
			}
			return
		}
		if !got.Equal(at(t, w)) || got.Location() != time.UTC {
			t.Errorf("%s: Next #%d from %s = %s (%s), want %s", expr, i+1, cur.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano), got.Location(), w)
			return
		}
		if b, ok := newBrute(expr); ok && !b.match(got) {
			t.Errorf("%s: Next #%d = %s, which the brute-force matcher rejects", expr, i+1, got.Format(time.RFC3339))
		}
		cur = got
	}
}

func TestCronAWSExamples(t *testing.T) {
	// The examples of the EventBridge user guide. 2024-02-09 is a Friday.
	tests := []struct {
		expr, from string
		want       []string
	}{
		// 10:00 every day.
		{"cron(0 10 * * ? *)", "2024-02-10T12:34:56Z", []string{"2024-02-11T10:00:00Z", "2024-02-12T10:00:00Z"}},
		{"cron(0 10 * * ? *)", "2024-02-10T09:59:59.999Z", []string{"2024-02-10T10:00:00Z"}},
		{"cron(0 10 * * ? *)", "2024-02-10T10:00:00Z", []string{"2024-02-11T10:00:00Z"}},
		// 12:15 every day.
		{"cron(15 12 * * ? *)", "2024-02-10T12:14:00Z", []string{"2024-02-10T12:15:00Z", "2024-02-11T12:15:00Z"}},
		{"cron(15 12 * * ? *)", "2024-02-10T12:15:00.000000001Z", []string{"2024-02-11T12:15:00Z"}},
		// 18:00 Monday to Friday.
		{"cron(0 18 ? * MON-FRI *)", "2024-02-09T18:00:00Z", []string{"2024-02-12T18:00:00Z", "2024-02-13T18:00:00Z"}},
		{"cron(0 18 ? * MON-FRI *)", "2024-02-12T17:00:00Z", []string{"2024-02-12T18:00:00Z"}},
		// 8:00 on the first day of every month.
		{"cron(0 8 1 * ? *)", "2024-01-15T00:00:00Z", []string{"2024-02-01T08:00:00Z", "2024-03-01T08:00:00Z"}},
		{"cron(0 8 1 * ? *)", "2024-12-01T08:00:00Z", []string{"2025-01-01T08:00:00Z"}},
		// Every 15 minutes.
		{"cron(0/15 * * * ? *)", "2024-02-10T12:34:56Z", []string{"2024-02-10T12:45:00Z", "2024-02-10T13:00:00Z", "2024-02-10T13:15:00Z"}},
		{"cron(0/15 * * * ? *)", "2024-12-31T23:59:00Z", []string{"2025-01-01T00:00:00Z"}},
		// Every 10 minutes, Monday to Friday.
		{"cron(0/10 * ? * MON-FRI *)", "2024-02-09T23:55:00Z", []string{"2024-02-12T00:00:00Z", "2024-02-12T00:10:00Z"}},
		// Every 5 minutes between 8:00 and 17:55, Monday to Friday.
		{"cron(0/5 8-17 ? * MON-FRI *)", "2024-02-09T17:55:00Z", []string{"2024-02-12T08:00:00Z", "2024-02-12T08:05:00Z"}},
		{"cron(0/5 8-17 ? * MON-FRI *)", "2024-02-12T17:54:00Z", []string{"2024-02-12T17:55:00Z", "2024-02-13T08:00:00Z"}},
		// 9:00 on the first Monday of every month.
		{"cron(0 9 ? * 2#1 *)", "2024-02-10T00:00:00Z", []string{"2024-03-04T09:00:00Z", "2024-04-01T09:00:00Z", "2024-05-06T09:00:00Z"}},
		// "1/10" is minutes 1, 11, 21, ...
		{"cron(1/10 * * * ? *)", "2024-02-10T12:34:00Z", []string{"2024-02-10T12:41:00Z", "2024-02-10T12:51:00Z", "2024-02-10T13:01:00Z"}},
		// Names and lists.
		{"cron(0 10,15 ? * mon,WED,fri *)", "2024-02-10T00:00:00Z", []string{"2024-02-12T10:00:00Z", "2024-02-12T15:00:00Z", "2024-02-14T10:00:00Z"}},
		{"cron(30 6 1 JAN,jul ? *)", "2024-02-10T00:00:00Z", []string{"2024-07-01T06:30:00Z", "2025-01-01T06:30:00Z"}},
	}
	for _, tt := range tests {
		checkNext(t, tt.expr, tt.from, tt.want...)
	}
}

func TestCronSpecialCharacters(t *testing.T) {
	tests := []struct {
		name, expr, from string
		want             []string
	}{
		{"L last day, leap year", "cron(0 0 L * ? *)", "2024-02-10T00:00:00Z", []string{"2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z", "2024-04-30T00:00:00Z"}},
		{"L last day, common year", "cron(0 0 L * ? *)", "2023-02-10T00:00:00Z", []string{"2023-02-28T00:00:00Z"}},
		{"LW on a weekday", "cron(0 0 LW * ? *)", "2024-02-10T00:00:00Z", []string{"2024-02-29T00:00:00Z"}},
		{"LW last day Sunday", "cron(0 0 LW * ? *)", "2024-03-01T00:00:00Z", []string{"2024-03-29T00:00:00Z"}},
		{"LW last day Saturday", "cron(0 0 LW * ? *)", "2024-08-01T00:00:00Z", []string{"2024-08-30T00:00:00Z"}},
		{"15W Saturday to Friday", "cron(0 12 15W * ? *)", "2024-06-01T00:00:00Z", []string{"2024-06-14T12:00:00Z", "2024-07-15T12:00:00Z"}},
		{"15W Sunday to Monday", "cron(0 12 15W * ? *)", "2024-09-01T00:00:00Z", []string{"2024-09-16T12:00:00Z"}},
		{"1W Saturday stays in month", "cron(0 0 1W * ? *)", "2024-05-15T00:00:00Z", []string{"2024-06-03T00:00:00Z", "2024-07-01T00:00:00Z"}},
		{"31W Sunday stays in month", "cron(0 0 31W * ? *)", "2024-03-01T00:00:00Z", []string{"2024-03-29T00:00:00Z", "2024-05-31T00:00:00Z"}},
		{"30W never in February", "cron(0 0 30W 2 ? *)", "2024-01-01T00:00:00Z", []string{""}},
		{"5L last Thursday", "cron(0 0 ? * 5L *)", "2024-02-01T00:00:00Z", []string{"2024-02-29T00:00:00Z", "2024-03-28T00:00:00Z"}},
		{"FRIL last Friday", "cron(0 0 ? * FRIL *)", "2024-02-01T00:00:00Z", []string{"2024-02-23T00:00:00Z", "2024-03-29T00:00:00Z"}},
		{"L alone is Saturday", "cron(0 0 ? * L *)", "2024-02-01T00:00:00Z", []string{"2024-02-03T00:00:00Z", "2024-02-10T00:00:00Z"}},
		{"3#2 second Tuesday", "cron(0 0 ? * 3#2 *)", "2024-02-01T00:00:00Z", []string{"2024-02-13T00:00:00Z", "2024-03-12T00:00:00Z"}},
		{"6#5 fifth Friday skips months", "cron(0 0 ? * 6#5 *)", "2024-02-10T00:00:00Z", []string{"2024-03-29T00:00:00Z", "2024-05-31T00:00:00Z"}},
		{"29 February", "cron(0 0 29 2 ? *)", "2024-03-01T00:00:00Z", []string{"2028-02-29T00:00:00Z"}},
		{"29 February skips 2100", "cron(0 0 29 FEB ? *)", "2096-03-01T00:00:00Z", []string{"2104-02-29T00:00:00Z"}},
		{"31st skips short months", "cron(0 0 31 * ? *)", "2024-04-01T00:00:00Z", []string{"2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z", "2024-08-31T00:00:00Z", "2024-10-31T00:00:00Z"}},
		{"30 February never", "cron(0 0 30 2 ? *)", "2024-01-01T00:00:00Z", []string{""}},
		{"wrapping hours", "cron(0 22-2 ? * * *)", "2024-02-10T12:00:00Z", []string{"2024-02-10T22:00:00Z", "2024-02-10T23:00:00Z", "2024-02-11T00:00:00Z", "2024-02-11T01:00:00Z", "2024-02-11T02:00:00Z", "2024-02-11T22:00:00Z"}},
		{"wrapping days of week", "cron(0 0 ? * FRI-MON *)", "2024-02-08T00:00:00Z", []string{"2024-02-09T00:00:00Z", "2024-02-10T00:00:00Z", "2024-02-11T00:00:00Z", "2024-02-12T00:00:00Z", "2024-02-16T00:00:00Z"}},
		{"range step", "cron(10-50/20 * * * ? *)", "2024-02-10T12:00:00Z", []string{"2024-02-10T12:10:00Z", "2024-02-10T12:30:00Z", "2024-02-10T12:50:00Z", "2024-02-10T13:10:00Z"}},
		{"day-of-month step", "cron(0 0 1/10 * ? *)", "2024-02-10T00:00:00Z", []string{"2024-02-11T00:00:00Z", "2024-02-21T00:00:00Z", "2024-03-01T00:00:00Z"}},
		{"year step", "cron(0 0 1 1 ? 2025/5)", "2024-02-10T00:00:00Z", []string{"2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z"}},
		{"last year", "cron(0 0 1 1 ? 2199)", "2198-06-01T00:00:00Z", []string{"2199-01-01T00:00:00Z", ""}},
		{"last minute", "cron(59 23 31 12 ? *)", "2199-12-31T23:58:30Z", []string{"2199-12-31T23:59:00Z", ""}},
		{"after 2199", "cron(* * * * ? *)", "2200-01-01T00:00:00Z", []string{""}},
		{"first year", "cron(0 0 1 1 ? 1970)", "1900-01-01T00:00:00Z", []string{"1970-01-01T00:00:00Z", ""}},
		{"before 1970", "cron(* * * * ? *)", "1969-12-31T23:59:59Z", []string{"1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z"}},
		{"past year", "cron(0 10 * * ? 2020)", "2024-02-10T00:00:00Z", []string{""}},
		{"year range", "cron(0 10 1 1 ? 2020-2026)", "2025-02-10T00:00:00Z", []string{"2026-01-01T10:00:00Z", ""}},
		{"other time zones", "cron(0 10 * * ? *)", "2024-02-10T11:30:00+02:00", []string{"2024-02-10T10:00:00Z"}},
		{"other time zones, later", "cron(0 10 * * ? *)", "2024-02-10T12:30:00+02:00", []string{"2024-02-11T10:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkNext(t, tt.expr, tt.from, tt.want...) })
	}
}

func TestNeverFiringIsCheap(t *testing.T) {
	for _, expr := range []string{
		"cron(0 0 30 2 ? *)",
		"cron(0 0 31 4,6,9,11 ? *)",
		"cron(0 0 30W 2 ? *)",
		"cron(59 23 ? 2 6#5 2101-2199)", // a rare day, checked below
	} {
		s, err := schedule.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got := s.Next(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC))
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("%s: Next took %v", expr, d)
		}
		if expr == "cron(59 23 ? 2 6#5 2101-2199)" {
			// February has a fifth Friday only in leap years where the 29th
			// is a Friday: the first after 2100 is 2104.
			if want := time.Date(2104, 2, 29, 23, 59, 0, 0, time.UTC); !got.Equal(want) {
				t.Errorf("%s: Next = %v, want %v", expr, got, want)
			}
			continue
		}
		if !got.IsZero() {
			t.Errorf("%s: Next = %v, want the zero time", expr, got)
		}
	}
}

func TestRate(t *testing.T) {
	tests := []struct {
		expr, from string
		want       []string
	}{
		{"rate(1 minute)", "2024-02-10T12:34:56Z", []string{"2024-02-10T12:35:00Z", "2024-02-10T12:36:00Z"}},
		{"rate(5 minutes)", "2024-02-10T12:34:56Z", []string{"2024-02-10T12:35:00Z", "2024-02-10T12:40:00Z"}},
		{"rate(5 minutes)", "2024-02-10T12:35:00Z", []string{"2024-02-10T12:40:00Z"}},
		{"rate(1 hour)", "2024-02-10T12:34:56Z", []string{"2024-02-10T13:00:00Z", "2024-02-10T14:00:00Z"}},
		{"rate(2 hours)", "2024-02-10T12:00:00Z", []string{"2024-02-10T14:00:00Z"}},
		{"rate(1 day)", "2024-02-10T12:34:56Z", []string{"2024-02-11T00:00:00Z", "2024-02-12T00:00:00Z"}},
		// 2024-02-10 is day 19763 of the epoch; 19764 is a multiple of 3.
		{"rate(3 days)", "2024-02-10T00:00:00Z", []string{"2024-02-11T00:00:00Z", "2024-02-14T00:00:00Z"}},
		{"rate(3650 days)", "2024-02-10T00:00:00Z", []string{"2029-12-17T00:00:00Z"}},
		// Before the epoch, the anchor is the first firing.
		{"rate(1 day)", "1960-05-01T00:00:00Z", []string{"1970-01-01T00:00:00Z", "1970-01-02T00:00:00Z"}},
		{"rate(1 day)", "9999-12-30T12:00:00Z", []string{"9999-12-31T00:00:00Z"}},
		{"rate(5 minutes)", "2024-02-10T14:34:56+02:00", []string{"2024-02-10T12:35:00Z"}},
	}
	for _, tt := range tests {
		checkNext(t, tt.expr, tt.from, tt.want...)
	}
}

func TestRateAnchor(t *testing.T) {
	s, err := schedule.Parse("rate(2 hours)")
	if err != nil {
		t.Fatal(err)
	}
	t0 := at(t, "2024-02-10T12:34:56.789+01:00")
	a := s.Anchor(t0)
	for _, tt := range []struct {
		from time.Time
		want time.Time
	}{
		{t0.Add(-time.Nanosecond), t0},
		{t0.Add(-1000 * time.Hour), t0},
		{time.Time{}, t0},
		{t0, t0.Add(2 * time.Hour)},
		{t0.Add(time.Second), t0.Add(2 * time.Hour)},
		{t0.Add(2*time.Hour - time.Nanosecond), t0.Add(2 * time.Hour)},
		{t0.Add(2 * time.Hour), t0.Add(4 * time.Hour)},
		{t0.Add(3 * time.Hour), t0.Add(4 * time.Hour)},
		{t0.Add(1000*time.Hour + 500*time.Millisecond), t0.Add(1002 * time.Hour)},
		{t0.Add(1000*time.Hour + 900*time.Millisecond), t0.Add(1002 * time.Hour)},
	} {
		if got := a.Next(tt.from); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("Next(%v) = %v, want %v in UTC", tt.from, got, tt.want)
		}
	}
	// 300 years after the anchor (beyond a time.Duration): the firing is
	// within one interval and a whole number of intervals after the anchor.
	far := t0.AddDate(300, 0, 0).Add(17 * time.Minute)
	if got := a.Next(far); !got.After(far) || got.Sub(far) > 2*time.Hour ||
		(got.Unix()-t0.Unix())%7200 != 0 || got.Nanosecond() != t0.Nanosecond() {
		t.Errorf("Next(%v) = %v: want within 2h after, a multiple of 2h after the anchor", far, got)
	}
	// The original is unchanged, and the anchor is not part of the text.
	if got, want := s.Next(t0), at(t, "2024-02-10T12:00:00Z"); !got.Equal(want) {
		t.Errorf("original Next = %v, want %v", got, want)
	}
	if a.String() != "rate(2 hours)" {
		t.Errorf("String = %q", a.String())
	}
	// Cron schedules ignore the anchor.
	c, err := schedule.Parse("cron(0 10 * * ? *)")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Anchor(t0).Next(t0), c.Next(t0); !got.Equal(want) {
		t.Errorf("anchored cron Next = %v, want %v", got, want)
	}
	// Far from the anchor, nothing overflows.
	if got := a.Next(time.Unix(math.MaxInt64-62135596800-10, 0)); !got.IsZero() {
		t.Errorf("Next near the end of time = %v, want the zero time", got)
	}
	if got := a.Next(time.Unix(math.MinInt64/2, 0)); !got.Equal(t0) {
		t.Errorf("Next near the start of time = %v, want the anchor", got)
	}
}

func TestString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"rate(5 minutes)", "rate(5 minutes)"},
		{"rate(  1   day )", "rate(1 day)"},
		{"cron(0 10 * * ? *)", "cron(0 10 * * ? *)"},
		{"cron( 0\t18  ? *   mon-fri * )", "cron(0 18 ? * MON-FRI *)"},
		{"cron(0 0 lw jan ? *)", "cron(0 0 LW JAN ? *)"},
		{"cron(0 9 ? * thu#1 *)", "cron(0 9 ? * THU#1 *)"},
	} {
		s, err := schedule.Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if s.String() != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, s.String(), tt.want)
		}
		again, err := schedule.Parse(s.String())
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Errorf("Parse(%q) = %v, %v: want a Schedule equal to Parse(%q)", s.String(), again, err, tt.in)
		}
	}
	var zero schedule.Schedule
	if zero.String() != "" || !zero.Next(time.Now()).IsZero() {
		t.Errorf("zero Schedule: String %q, fires", zero.String())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		// Expression shape.
		{"", `schedule expression "": want "rate(value unit)" or "cron(minutes hours day-of-month month day-of-week year)"`},
		{"every 5 minutes", `schedule expression "every 5 minutes": want "rate(value unit)" or "cron(minutes hours day-of-month month day-of-week year)"`},
		{"Rate(5 minutes)", `schedule expression "Rate(5 minutes)": want "rate(value unit)" or "cron(minutes hours day-of-month month day-of-week year)"`},
		{" rate(5 minutes)", `schedule expression " rate(5 minutes)": want "rate(value unit)" or "cron(minutes hours day-of-month month day-of-week year)"`},
		{"rate(5 minutes", `schedule expression "rate(5 minutes": missing ")"`},
		{"rate(5 minutes) ", `schedule expression "rate(5 minutes) ": unexpected text " " after ")"`},
		{"cron(0 10 * * ? *)x", `schedule expression "cron(0 10 * * ? *)x": unexpected text "x" after ")"`},
		{"cron(0 10 * * ? *))", `schedule expression "cron(0 10 * * ? *))": unexpected text ")" after ")"`},
		{"cron(0 (10) * * ? *)", `schedule expression "cron(0 (10) * * ? *)": unexpected "(" inside cron(...)`},
		// Rates.
		{"rate()", `schedule expression "rate()": rate needs a value and a unit, as in rate(5 minutes)`},
		{"rate(5)", `schedule expression "rate(5)": rate needs a value and a unit, as in rate(5 minutes)`},
		{"rate(5 minutes now)", `schedule expression "rate(5 minutes now)": rate needs a value and a unit, as in rate(5 minutes)`},
		{"rate(0 minutes)", `schedule expression "rate(0 minutes)": rate value "0" is not a positive integer without leading zeros`},
		{"rate(05 minutes)", `schedule expression "rate(05 minutes)": rate value "05" is not a positive integer without leading zeros`},
		{"rate(-5 minutes)", `schedule expression "rate(-5 minutes)": rate value "-5" is not a positive integer`},
		{"rate(+5 minutes)", `schedule expression "rate(+5 minutes)": rate value "+5" is not a positive integer`},
		{"rate(1.5 hours)", `schedule expression "rate(1.5 hours)": rate value "1.5" is not a positive integer`},
		{"rate(5 weeks)", `schedule expression "rate(5 weeks)": rate unit "weeks": want minute, minutes, hour, hours, day or days`},
		{"rate(5 Minutes)", `schedule expression "rate(5 Minutes)": rate unit "Minutes": want minute, minutes, hour, hours, day or days`},
		{"rate(1 minutes)", `schedule expression "rate(1 minutes)": rate unit "minutes": want "minute" for a value of 1`},
		{"rate(5 minute)", `schedule expression "rate(5 minute)": rate unit "minute": want "minutes" for a value other than 1`},
		{"rate(2 day)", `schedule expression "rate(2 day)": rate unit "day": want "days" for a value other than 1`},
		{"rate(3651 days)", `schedule expression "rate(3651 days)": rate interval 3651 days exceeds 10 years (3650 days)`},
		{"rate(87601 hours)", `schedule expression "rate(87601 hours)": rate interval 87601 hours exceeds 10 years (3650 days)`},
		{"rate(1000000 days)", `schedule expression "rate(1000000 days)": rate interval 1000000 days exceeds 10 years (3650 days)`}, // overflowed a Duration
		{"rate(99999999999999999999 minutes)", `schedule expression "rate(99999999999999999999 minutes)": rate interval 99999999999999999999 minutes exceeds 10 years (3650 days)`},
		// Cron shape.
		{"cron()", `schedule expression "cron()": cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 0`},
		{"cron(0 10 * * ?)", `schedule expression "cron(0 10 * * ?)": cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 5`},
		{"cron(0 0 10 * * ? *)", `schedule expression "cron(0 0 10 * * ? *)": cron needs 6 fields (minutes hours day-of-month month day-of-week year), got 7`},
		// The "?" rule.
		{"cron(0 10 ? * ? *)", `cron field 5 (day-of-week) "?": day-of-month is also "?": exactly one of day-of-month and day-of-week must be "?"`},
		{"cron(0 10 * * * *)", `cron field 5 (day-of-week) "*": day-of-month is "*": one of day-of-month and day-of-week must be "?", a day cannot be given in both`},
		{"cron(0 10 1 * MON *)", `cron field 5 (day-of-week) "MON": day-of-month is "1": one of day-of-month and day-of-week must be "?", a day cannot be given in both`},
		{"cron(? 10 * * ? *)", `cron field 1 (minutes) "?": '?' is not allowed in minutes (wildcards: , - * /)`},
		{"cron(0 10 1,? * ? *)", `cron field 3 (day-of-month) "1,?": "?" must stand alone`},
		// Out of range.
		{"cron(60 10 * * ? *)", `cron field 1 (minutes) "60": value 60 out of range 0-59`},
		{"cron(0 24 * * ? *)", `cron field 2 (hours) "24": value 24 out of range 0-23`},
		{"cron(0 10 32 * ? *)", `cron field 3 (day-of-month) "32": value 32 out of range 1-31`},
		{"cron(0 10 0 * ? *)", `cron field 3 (day-of-month) "0": value 0 out of range 1-31`},
		{"cron(0 10 * 13 ? *)", `cron field 4 (month) "13": value 13 out of range 1-12`},
		{"cron(0 10 ? * 0 *)", `cron field 5 (day-of-week) "0": value 0 out of range 1-7`},
		{"cron(0 10 ? * 8 *)", `cron field 5 (day-of-week) "8": value 8 out of range 1-7`},
		{"cron(0 10 * * ? 1969)", `cron field 6 (year) "1969": value 1969 out of range 1970-2199`},
		{"cron(0 10 * * ? 2200)", `cron field 6 (year) "2200": value 2200 out of range 1970-2199`},
		{"cron(0 10 1-40 * ? *)", `cron field 3 (day-of-month) "1-40": value 40 out of range 1-31`},
		{"cron(0 10 * * ? 12345678901234567890)", `cron field 6 (year) "12345678901234567890": value 12345678901234567890 out of range 1970-2199`},
		// Bad values, ranges and steps.
		{"cron(x 10 * * ? *)", `cron field 1 (minutes) "x": "X" is not a number 0-59`},
		{"cron(0 10 * JANUARY ? *)", `cron field 4 (month) "JANUARY": "JANUARY" is not a number 1-12 or a name JAN-DEC`},
		{"cron(0 10 ? * MON-FRY *)", `cron field 5 (day-of-week) "MON-FRY": "FRY" is not a number 1-7 or a name SUN-SAT`},
		{"cron(0 10 * * ? 2025-2020)", `cron field 6 (year) "2025-2020": range 2025-2020 runs backwards`},
		{"cron(0 10 * 1- ? *)", `cron field 4 (month) "1-": missing value`},
		{"cron(0 10 * 1-2-3 ? *)", `cron field 4 (month) "1-2-3": "2-3" is not a number 1-12 or a name JAN-DEC`},
		{"cron(1,,2 10 * * ? *)", `cron field 1 (minutes) "1,,2": empty list item`},
		{"cron(1, 10 * * ? *)", `cron field 1 (minutes) "1,": empty list item`},
		{"cron(0/0 * * * ? *)", `cron field 1 (minutes) "0/0": step "0": want an integer from 1 to 60`},
		{"cron(0/61 * * * ? *)", `cron field 1 (minutes) "0/61": step "61": want an integer from 1 to 60`},
		{"cron(0/ * * * ? *)", `cron field 1 (minutes) "0/": step "": want an integer from 1 to 60`},
		{"cron(/5 * * * ? *)", `cron field 1 (minutes) "/5": missing value`},
		{"cron(*/x * * * ? *)", `cron field 1 (minutes) "*/x": step "X": want an integer from 1 to 60`},
		{"cron(0/5/2 * * * ? *)", `cron field 1 (minutes) "0/5/2": step "5/2": want an integer from 1 to 60`},
		{"cron(0 10 ? * */2 *)", `cron field 5 (day-of-week) "*/2": '/' is not allowed in day-of-week (wildcards: , - * ? L #)`},
		{"cron(0 10 * * ? 2020/0)", `cron field 6 (year) "2020/0": step "0": want an integer from 1 to 230`},
		{"cron(0 10 * * ? *;)", `cron field 6 (year) "*;": unexpected character ';'`},
		{"cron(0 10 * * ? é)", `cron field 6 (year) "é": unexpected character 'é'`},
		// L, W and #.
		{"cron(L 10 * * ? *)", `cron field 1 (minutes) "L": "L" is not a number 0-59`},
		{"cron(0 10 L-3 * ? *)", `cron field 3 (day-of-month) "L-3": "L" and "W" stand alone in day-of-month: use L, LW or nW`},
		{"cron(0 10 L,15 * ? *)", `cron field 3 (day-of-month) "L,15": "L" and "W" stand alone in day-of-month: use L, LW or nW`},
		{"cron(0 10 W * ? *)", `cron field 3 (day-of-month) "W": "W" follows a single day of the month, as in 15W, and stands alone`},
		{"cron(0 10 1-5W * ? *)", `cron field 3 (day-of-month) "1-5W": "W" follows a single day of the month, as in 15W, and stands alone`},
		{"cron(0 10 32W * ? *)", `cron field 3 (day-of-month) "32W": value 32 out of range 1-31`},
		{"cron(0 10 ? * 3#1,6#3 *)", `cron field 5 (day-of-week) "3#1,6#3": "#" takes one day and an ordinal, as in 3#2, and stands alone`},
		{"cron(0 10 ? * 3#6 *)", `cron field 5 (day-of-week) "3#6": ordinal "6" after "#": want 1 to 5`},
		{"cron(0 10 ? * 3# *)", `cron field 5 (day-of-week) "3#": ordinal "" after "#": want 1 to 5`},
		{"cron(0 10 ? * #2 *)", `cron field 5 (day-of-week) "#2": missing value`},
		{"cron(0 10 ? * 8#2 *)", `cron field 5 (day-of-week) "8#2": value 8 out of range 1-7`},
		{"cron(0 10 ? * 1-5L *)", `cron field 5 (day-of-week) "1-5L": "L" follows a single day of the week, as in 5L, and stands alone`},
		{"cron(0 10 ? * L5 *)", `cron field 5 (day-of-week) "L5": "L" stands alone in day-of-week: use L or nL`},
		{"cron(0 10 * * ? L)", `cron field 6 (year) "L": "L" is not a number 1970-2199`},
		{"cron(0 10 1 * 2#1 *)", `cron field 5 (day-of-week) "2#1": day-of-month is "1": one of day-of-month and day-of-week must be "?", a day cannot be given in both`},
	}
	for _, tt := range tests {
		s, err := schedule.Parse(tt.expr)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error %s", tt.expr, s, tt.want)
			continue
		}
		var se *schedule.Error
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error %T, want *schedule.Error", tt.expr, err)
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.expr, err, tt.want)
		}
	}
}

func TestErrorFields(t *testing.T) {
	_, err := schedule.Parse("cron(0 10 32 * ? *)")
	var se *schedule.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %T, want *schedule.Error", err)
	}
	want := schedule.Error{Field: 3, Name: "day-of-month", Text: "32", Reason: "value 32 out of range 1-31"}
	if *se != want {
		t.Errorf("error = %+v, want %+v", *se, want)
	}
}

func TestConcurrentUse(t *testing.T) {
	s, err := schedule.Parse("cron(0/5 8-17 ? * MON-FRI *)")
	if err != nil {
		t.Fatal(err)
	}
	from := at(t, "2024-02-09T17:55:00Z")
	want := s.Next(from)
	done := make(chan time.Time)
	for range 8 {
		go func() { done <- s.Next(from) }()
	}
	for range 8 {
		if got := <-done; !got.Equal(want) {
			t.Errorf("concurrent Next = %v, want %v", got, want)
		}
	}
}
