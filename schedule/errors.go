package schedule

import "fmt"

// Error is a parse error. For a problem in one cron field, Field is the
// field's position (1 to 6), Name its name ("day-of-month") and Text the
// field as written; otherwise Field is 0 and Text is the whole expression.
// Reason says what is wrong and, where it helps, what is accepted.
type Error struct {
	Field  int
	Name   string
	Text   string
	Reason string
}

// Error returns `cron field 3 (day-of-month) "32": value 32 out of range
// 1-31` for a field error and `schedule expression "...": reason`
// otherwise.
func (e *Error) Error() string {
	if e.Field > 0 {
		return fmt.Sprintf("cron field %d (%s) %q: %s", e.Field, e.Name, e.Text, e.Reason)
	}
	return fmt.Sprintf("schedule expression %q: %s", e.Text, e.Reason)
}

// exprError returns an *Error about the expression as a whole.
func exprError(expr, format string, args ...any) *Error {
	return &Error{Text: expr, Reason: fmt.Sprintf(format, args...)}
}
