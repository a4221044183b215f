package driver

import (
	"errors"
	"fmt"
)

// Sentinel errors. Drivers wrap them with context (fmt.Errorf("queue %q: %w",
// name, ErrNotFound)); callers test them with errors.Is. The root package
// re-exports each one under the same name.
var (
	// ErrNotFound: the named queue (or other resource) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a resource with that name already exists and the call needed it not to.
	ErrExists = errors.New("already exists")
	// ErrConflict: the request contradicts the resource's current state, such as
	// creating a queue that exists with different attributes.
	ErrConflict = errors.New("conflict")
	// ErrTooLarge: a message, batch or request exceeds a configured limit.
	ErrTooLarge = errors.New("too large")
	// ErrInvalid: the input is malformed or out of range. Such errors are
	// usually a *ValidationError naming the field.
	ErrInvalid = errors.New("invalid argument")
	// ErrStorage: the storage failed (a write or fsync returned an error). The
	// backend stops accepting writes and keeps serving reads.
	ErrStorage = errors.New("storage failed")
	// ErrClosed: the broker or connection was closed.
	ErrClosed = errors.New("closed")
	// ErrReceiptInvalid: a receipt handle is malformed or stale (the message
	// has been redelivered since the receipt was issued).
	ErrReceiptInvalid = errors.New("receipt handle is invalid")
	// ErrFenced: a consumer-group member committed or read for a partition
	// it does not own (any more) in that generation.
	ErrFenced = errors.New("fenced: partition not owned by this member in this generation")
	// ErrUnsupported: the backend does not support the requested feature; see
	// its Capabilities.
	ErrUnsupported = errors.New("not supported by this backend")
)

// ValidationError reports input that failed validation: Field names the
// offending input (a JSON path-like name such as "attributes.visibility" or
// "messages[3].body") and Reason says what was wrong and what is accepted.
// It matches ErrInvalid with errors.Is, or ErrTooLarge when TooLarge is set.
type ValidationError struct {
	Field    string
	Reason   string
	TooLarge bool
}

// Invalid returns a *ValidationError for field with a formatted reason.
func Invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// TooLarge returns a *ValidationError for field that matches ErrTooLarge.
func TooLarge(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...), TooLarge: true}
}

// Error returns "field: reason".
func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// Is reports whether target is ErrInvalid (or ErrTooLarge for size limits).
func (e *ValidationError) Is(target error) bool {
	if e.TooLarge {
		return target == ErrTooLarge
	}
	return target == ErrInvalid
}
