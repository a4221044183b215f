package schedule

import (
	"strings"
	"time"
)

// kind tells a rate schedule from a cron schedule.
type kind uint8

const (
	kindNone kind = iota // the zero Schedule: never fires
	kindRate
	kindCron
)

// Schedule is a parsed schedule expression: a rate with its anchor, or a
// cron expression. The zero Schedule never fires and prints as "". A
// Schedule is immutable and safe for concurrent use.
type Schedule struct {
	expr   string
	kind   kind
	every  time.Duration // rate interval, a whole number of minutes
	anchor time.Time     // rate anchor, in UTC; the Unix epoch by default
	cron   cronSpec
}

// Parse parses "rate(VALUE UNIT)" or "cron(FIELDS)" as described in the
// package documentation. Nothing may precede the keyword or follow the
// closing parenthesis. It fails with an *Error naming the cron field and
// the reason, and never panics.
func Parse(expr string) (*Schedule, error) {
	keyword, body, ok := strings.Cut(expr, "(")
	if !ok || (keyword != "rate" && keyword != "cron") {
		return nil, exprError(expr, `want "rate(value unit)" or "cron(minutes hours day-of-month month day-of-week year)"`)
	}
	end := strings.IndexAny(body, "()")
	switch {
	case end < 0:
		return nil, exprError(expr, `missing ")"`)
	case body[end] == '(':
		return nil, exprError(expr, `unexpected "(" inside %s(...)`, keyword)
	case end != len(body)-1:
		return nil, exprError(expr, `unexpected text %q after ")"`, body[end+1:])
	}
	body = body[:end]
	var s *Schedule
	var err error
	if keyword == "rate" {
		s, err = parseRate(expr, body)
	} else {
		s, err = parseCron(expr, body)
	}
	if err != nil {
		return nil, err
	}
	s.anchor = epoch
	return s, nil
}

// epoch is the default anchor of rate schedules.
var epoch = time.Unix(0, 0).UTC()

// Anchor returns a copy of s whose rate intervals are counted from t: the
// copy fires at t, t+interval, t+2*interval, ... and never before t. The
// default anchor is the Unix epoch. Cron schedules ignore the anchor; for
// them the copy behaves like s.
func (s *Schedule) Anchor(t time.Time) *Schedule {
	c := *s
	c.anchor = t.UTC()
	return &c
}

// Next returns the first firing time strictly after t, in UTC, or the zero
// time if the schedule never fires again: a cron schedule whose remaining
// years (up to 2199) hold no matching minute, or a rate schedule whose next
// firing cannot be represented as a time.Time. Cron firings are at whole
// minutes; rate firings keep the anchor's seconds and nanoseconds.
func (s *Schedule) Next(t time.Time) time.Time {
	switch s.kind {
	case kindRate:
		return s.nextRate(t)
	case kindCron:
		return s.cron.next(t.UTC())
	}
	return time.Time{}
}

// String returns the canonical expression, "" for the zero Schedule. It
// parses back to an equal Schedule (without the anchor).
func (s *Schedule) String() string { return s.expr }
