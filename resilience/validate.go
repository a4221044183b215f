package resilience

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/courier-io/courier/driver"
)

// validator collects *driver.ValidationError values, one per rejected field,
// so that one call reports every problem. The errors match courier.ErrInvalid
// (driver.ErrInvalid) with errors.Is.
type validator struct {
	errs []error
}

func (v *validator) fail(field, format string, args ...any) {
	v.errs = append(v.errs, driver.Invalid(field, format, args...))
}

func (v *validator) intRange(field string, n, lo, hi int) bool {
	if n < lo || n > hi {
		v.fail(field, "%d is out of range %d..%d", n, lo, hi)
		return false
	}
	return true
}

func (v *validator) durationRange(field string, d, lo, hi time.Duration) bool {
	if d < lo || d > hi {
		v.fail(field, "%s is out of range %s..%s", fmtDuration(d), fmtDuration(lo), fmtDuration(hi))
		return false
	}
	return true
}

// floatRange checks lo < f ≤ hi when openLo, else lo ≤ f ≤ hi.
func (v *validator) floatRange(field string, f, lo, hi float64, openLo bool) bool {
	if f != f || f > hi || f < lo || (openLo && f == lo) {
		left := "["
		if openLo {
			left = "("
		}
		v.fail(field, "%s is out of range %s%s, %s]", fmtFloat(f), left, fmtFloat(lo), fmtFloat(hi))
		return false
	}
	return true
}

// fmtFloat writes ordinary magnitudes in full (1000000, 0.5) and others in
// exponent form (1e-300).
func fmtFloat(f float64) string {
	if a := math.Abs(f); a == 0 || (a >= 1e-4 && a < 1e15) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func (v *validator) err() error {
	return errors.Join(v.errs...)
}
