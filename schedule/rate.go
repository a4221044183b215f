package schedule

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// maxRate is the longest rate interval: 10 years of 365 days.
const maxRate = 3650 * 24 * time.Hour

// rateUnits maps each unit, singular and plural, to its length.
var rateUnits = map[string]time.Duration{
	"minute": time.Minute, "minutes": time.Minute,
	"hour": time.Hour, "hours": time.Hour,
	"day": 24 * time.Hour, "days": 24 * time.Hour,
}

// parseRate parses the text between "rate(" and ")".
func parseRate(expr, body string) (*Schedule, error) {
	parts := strings.Fields(body)
	if len(parts) != 2 {
		return nil, exprError(expr, "rate needs a value and a unit, as in rate(5 minutes)")
	}
	value, unit := parts[0], parts[1]
	for _, c := range []byte(value) {
		if c < '0' || c > '9' {
			return nil, exprError(expr, "rate value %q is not a positive integer", value)
		}
	}
	if value[0] == '0' {
		return nil, exprError(expr, "rate value %q is not a positive integer without leading zeros", value)
	}
	length, ok := rateUnits[unit]
	if !ok {
		return nil, exprError(expr, "rate unit %q: want minute, minutes, hour, hours, day or days", unit)
	}
	plural := strings.HasSuffix(unit, "s")
	if value == "1" && plural {
		return nil, exprError(expr, "rate unit %q: want %q for a value of 1", unit, strings.TrimSuffix(unit, "s"))
	}
	if value != "1" && !plural {
		return nil, exprError(expr, "rate unit %q: want %q for a value other than 1", unit, unit+"s")
	}
	// Compare by division: the product could overflow a Duration.
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n > int64(maxRate/length) {
		return nil, exprError(expr, "rate interval %s %s exceeds 10 years (3650 days)", value, unit)
	}
	return &Schedule{
		expr:  "rate(" + value + " " + unit + ")",
		kind:  kindRate,
		every: time.Duration(n) * length,
	}, nil
}

// maxUnix is the largest Unix second that time.Unix represents without
// overflowing its internal count of seconds since year 1.
const maxUnix = math.MaxInt64 - 62135596800

// nextRate returns anchor + k*every for the smallest k >= 0 that is
// strictly after t. It works in Unix seconds and nanoseconds so that times
// centuries away from the anchor do not overflow a time.Duration.
func (s *Schedule) nextRate(t time.Time) time.Time {
	a := s.anchor
	tu, tn := t.Unix(), int64(t.Nanosecond())
	au, an := a.Unix(), int64(a.Nanosecond())
	if tu < au || (tu == au && tn < an) {
		return a // the anchor is the first firing
	}
	// t >= a. Whole seconds elapsed since the anchor, rounded down.
	ds := tu - au
	if tn < an {
		ds--
	}
	if ds < 0 { // tu - au overflowed
		return time.Time{}
	}
	step := int64(s.every / time.Second)
	// The next firing is ds - ds%step + step whole seconds after au, that
	// is step - ds%step seconds after au + ds, which is tu, or tu - 1 when
	// ds was rounded down.
	ahead := step - ds%step
	if tn < an {
		ahead--
	}
	if tu > maxUnix-ahead {
		return time.Time{}
	}
	return time.Unix(tu+ahead, an).UTC()
}
