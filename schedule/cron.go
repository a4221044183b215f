package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// bitset holds up to 256 small integers; a field stores value v at bit
// v minus the field's minimum.
type bitset [4]uint64

func (b *bitset) set(i int) { b[i>>6] |= 1 << (i & 63) }

// next returns the smallest member >= i, or -1 if there is none.
func (b *bitset) next(i int) int {
	if i < 0 {
		i = 0
	}
	for w := i >> 6; w < len(b); w++ {
		word := b[w]
		if w == i>>6 {
			word &= ^uint64(0) << (i & 63)
		}
		if word != 0 {
			return w<<6 + bits.TrailingZeros64(word)
		}
	}
	return -1
}

// dayKind is the form of the day rule: Day-of-month or Day-of-week,
// whichever of the two is not "?".
type dayKind uint8

const (
	daysOfMonth    dayKind = iota // days
	lastDay                       // L
	lastWeekday                   // LW
	nearestWeekday                // nW: n
	daysOfWeek                    // weekdays
	lastOfWeek                    // nL: n (0 = Sunday)
	nthOfWeek                     // n#k: n (0 = Sunday), k
)

// dayRule selects the days of a month.
type dayRule struct {
	kind     dayKind
	days     uint32 // daysOfMonth: bit d for day d
	weekdays uint8  // daysOfWeek: bit w for time.Weekday w
	n, k     int
}

// cronSpec is a parsed cron expression.
type cronSpec struct {
	minutes, hours, months, years bitset
	day                           dayRule
}

// field describes one cron field.
type field struct {
	pos       int
	name      string
	min, max  int
	names     []string // names[i] is the value min+i
	wildcards string   // as listed in the AWS documentation
	wraps     bool     // a backwards range wraps around the maximum
}

var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

var cronFields = [6]field{
	{1, "minutes", 0, 59, nil, ", - * /", true},
	{2, "hours", 0, 23, nil, ", - * /", true},
	{3, "day-of-month", 1, 31, nil, ", - * ? / L W", true},
	{4, "month", 1, 12, monthNames, ", - * /", true},
	{5, "day-of-week", 1, 7, dayNames, ", - * ? L #", true},
	{6, "year", 1970, 2199, nil, ", - * /", false},
}

const (
	minYear = 1970
	maxYear = 2199
)

// errorf returns an *Error about field f, written as text.
func (f *field) errorf(text, format string, args ...any) *Error {
	return &Error{Field: f.pos, Name: f.name, Text: text, Reason: fmt.Sprintf(format, args...)}
}

// upperASCII upper-cases ASCII letters only, so that no other character
// turns into a name or a wildcard.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// parseCron parses the text between "cron(" and ")".
func parseCron(expr, body string) (*Schedule, error) {
	written := strings.Fields(body)
	if len(written) != 6 {
		return nil, exprError(expr, "cron needs 6 fields (minutes hours day-of-month month day-of-week year), got %d", len(written))
	}
	var up [6]string
	for i, w := range written {
		up[i] = upperASCII(w)
		if err := cronFields[i].checkChars(up[i], w); err != nil {
			return nil, err
		}
	}
	var c cronSpec
	var dom, dow dayRule
	var err error
	if c.minutes, err = cronFields[0].parseList(up[0], written[0]); err != nil {
		return nil, err
	}
	if c.hours, err = cronFields[1].parseList(up[1], written[1]); err != nil {
		return nil, err
	}
	if up[2] != "?" {
		if dom, err = parseDayOfMonth(up[2], written[2]); err != nil {
			return nil, err
		}
	}
	if c.months, err = cronFields[3].parseList(up[3], written[3]); err != nil {
		return nil, err
	}
	if up[4] != "?" {
		if dow, err = parseDayOfWeek(up[4], written[4]); err != nil {
			return nil, err
		}
	}
	if c.years, err = cronFields[5].parseList(up[5], written[5]); err != nil {
		return nil, err
	}
	f := &cronFields[4]
	switch {
	case up[2] == "?" && up[4] == "?":
		return nil, f.errorf(written[4], `day-of-month is also "?": exactly one of day-of-month and day-of-week must be "?"`)
	case up[2] != "?" && up[4] != "?":
		return nil, f.errorf(written[4], `day-of-month is %q: one of day-of-month and day-of-week must be "?", a day cannot be given in both`, written[2])
	case up[2] == "?":
		c.day = dow
	default:
		c.day = dom
	}
	return &Schedule{
		expr: "cron(" + strings.Join(up[:], " ") + ")",
		kind: kindCron,
		cron: c,
	}, nil
}

// checkChars rejects characters that cannot appear in the field at all.
func (f *field) checkChars(text, written string) error {
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case '0' <= c && c <= '9', 'A' <= c && c <= 'Z':
		case c == ',' || c == '-' || c == '*' || c == '/' || c == '?' || c == '#':
			if !strings.Contains(f.wildcards, string(c)) {
				return f.errorf(written, "%q is not allowed in %s (wildcards: %s)", c, f.name, f.wildcards)
			}
		default:
			r := []rune(written[i:])[0]
			return f.errorf(written, "unexpected character %q", r)
		}
	}
	return nil
}

// parseList parses a list of values, ranges and steps into a bitset.
func (f *field) parseList(text, written string) (bitset, error) {
	var b bitset
	for item := range strings.SplitSeq(text, ",") {
		if err := f.addItem(&b, item, written); err != nil {
			return b, err
		}
	}
	return b, nil
}

// addItem adds one list item: "*", "v", "a-b", each optionally followed
// by "/step", to b.
func (f *field) addItem(b *bitset, item, written string) error {
	if item == "" {
		return f.errorf(written, "empty list item")
	}
	span := f.max - f.min + 1
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, ok := digits(stepText)
		if !ok || n < 1 || n > span {
			return f.errorf(written, "step %q: want an integer from 1 to %d", stepText, span)
		}
		step = n
	}
	lo, hi := f.min, f.max
	switch {
	case rng == "*":
	case rng == "?":
		return f.errorf(written, `"?" must stand alone`)
	case strings.Contains(rng, "-"):
		a, z, _ := strings.Cut(rng, "-")
		var err error
		if lo, err = f.value(a, written); err != nil {
			return err
		}
		if hi, err = f.value(z, written); err != nil {
			return err
		}
		if hi < lo && !f.wraps {
			return f.errorf(written, "range %s-%s runs backwards", a, z)
		}
	default:
		var err error
		if lo, err = f.value(rng, written); err != nil {
			return err
		}
		if !hasStep {
			hi = lo
		}
	}
	count := hi - lo + 1
	if hi < lo { // wraps around the maximum
		count += span
	}
	for i := 0; i < count; i += step {
		v := lo + i
		if v > f.max {
			v -= span
		}
		b.set(v - f.min)
	}
	return nil
}

// digits parses a non-empty run of at most 9 decimal digits.
func digits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// value parses a number or a name of the field.
func (f *field) value(s, written string) (int, error) {
	if s == "" {
		return 0, f.errorf(written, "missing value")
	}
	if strings.Trim(s, "0123456789") == "" {
		n, ok := digits(s)
		if !ok || n < f.min || n > f.max {
			return 0, f.errorf(written, "value %s out of range %d-%d", s, f.min, f.max)
		}
		return n, nil
	}
	for i, name := range f.names {
		if s == name {
			return f.min + i, nil
		}
	}
	if f.names != nil {
		return 0, f.errorf(written, "%q is not a number %d-%d or a name %s-%s", s, f.min, f.max, f.names[0], f.names[len(f.names)-1])
	}
	return 0, f.errorf(written, "%q is not a number %d-%d", s, f.min, f.max)
}

// parseDayOfMonth parses field 3 other than "?".
func parseDayOfMonth(text, written string) (dayRule, error) {
	f := &cronFields[2]
	switch {
	case text == "L":
		return dayRule{kind: lastDay}, nil
	case text == "LW":
		return dayRule{kind: lastWeekday}, nil
	case strings.HasSuffix(text, "W"):
		n, ok := digits(text[:len(text)-1])
		if !ok {
			return dayRule{}, f.errorf(written, `"W" follows a single day of the month, as in 15W, and stands alone`)
		}
		if n < f.min || n > f.max {
			return dayRule{}, f.errorf(written, "value %s out of range %d-%d", text[:len(text)-1], f.min, f.max)
		}
		return dayRule{kind: nearestWeekday, n: n}, nil
	case strings.ContainsAny(text, "LW"):
		return dayRule{}, f.errorf(written, `"L" and "W" stand alone in day-of-month: use L, LW or nW`)
	}
	b, err := f.parseList(text, written)
	if err != nil {
		return dayRule{}, err
	}
	return dayRule{kind: daysOfMonth, days: uint32(b[0]) << 1}, nil
}

// parseDayOfWeek parses field 5 other than "?".
func parseDayOfWeek(text, written string) (dayRule, error) {
	f := &cronFields[4]
	switch {
	case text == "L": // the last day of the week: every Saturday
		return dayRule{kind: daysOfWeek, weekdays: 1 << 6}, nil
	case strings.Contains(text, "#"):
		day, nth, _ := strings.Cut(text, "#")
		if strings.ContainsAny(day, ",-*/L") || strings.ContainsAny(nth, ",-*/L#") {
			return dayRule{}, f.errorf(written, `"#" takes one day and an ordinal, as in 3#2, and stands alone`)
		}
		d, err := f.value(day, written)
		if err != nil {
			return dayRule{}, err
		}
		k, ok := digits(nth)
		if !ok || k < 1 || k > 5 {
			return dayRule{}, f.errorf(written, "ordinal %q after \"#\": want 1 to 5", nth)
		}
		return dayRule{kind: nthOfWeek, n: d - 1, k: k}, nil
	case strings.HasSuffix(text, "L"):
		day := text[:len(text)-1]
		if strings.ContainsAny(day, ",-*/L") {
			return dayRule{}, f.errorf(written, `"L" follows a single day of the week, as in 5L, and stands alone`)
		}
		d, err := f.value(day, written)
		if err != nil {
			return dayRule{}, err
		}
		return dayRule{kind: lastOfWeek, n: d - 1}, nil
	case strings.Contains(text, "L"):
		return dayRule{}, f.errorf(written, `"L" stands alone in day-of-week: use L or nL`)
	}
	b, err := f.parseList(text, written)
	if err != nil {
		return dayRule{}, err
	}
	return dayRule{kind: daysOfWeek, weekdays: uint8(b[0])}, nil
}
