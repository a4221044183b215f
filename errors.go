package courier

import (
	"strings"

	"github.com/courier-io/courier/driver"
)

// Sentinel errors; see package driver for what each means. Every error from
// this package wraps one of them.
var (
	ErrNotFound       = driver.ErrNotFound
	ErrExists         = driver.ErrExists
	ErrConflict       = driver.ErrConflict
	ErrTooLarge       = driver.ErrTooLarge
	ErrInvalid        = driver.ErrInvalid
	ErrStorage        = driver.ErrStorage
	ErrClosed         = driver.ErrClosed
	ErrReceiptInvalid = driver.ErrReceiptInvalid
	ErrUnsupported    = driver.ErrUnsupported
	ErrFenced         = driver.ErrFenced
)

// ValidationError names the input field that was rejected and why.
type ValidationError = driver.ValidationError

// BatchError reports the entries of a batch call (Ack, Nack, Extend) that
// failed. Errors has one entry per input, nil for those that succeeded.
// errors.Is(err, ErrReceiptInvalid) is true when any entry matches.
type BatchError struct {
	Errors []error
}

// Error summarises the failed entries.
func (e *BatchError) Error() string {
	var b strings.Builder
	n := 0
	for _, err := range e.Errors {
		if err == nil {
			continue
		}
		if n > 0 {
			b.WriteString("; ")
		}
		if n == 3 {
			b.WriteString("...")
			break
		}
		b.WriteString(err.Error())
		n++
	}
	return b.String()
}

// Unwrap returns the failed entries' errors.
func (e *BatchError) Unwrap() []error {
	out := make([]error, 0, len(e.Errors))
	for _, err := range e.Errors {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// batchError returns nil when every entry succeeded, else a *BatchError.
func batchError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return &BatchError{Errors: errs}
		}
	}
	return nil
}
