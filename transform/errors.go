package transform

import "errors"

// Error is an InputTransformer that does not compile: the field at fault,
// written as in JSON (`input_paths["total"]`, "input_paths" or
// "template"), and the reason. Err is the *PathError of a bad path, or
// ErrTooLarge when a limit was hit, so that errors.As and errors.Is can
// tell them apart.
type Error struct {
	Field  string
	Reason string
	Err    error
}

// Error returns "field: reason".
func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns the *PathError or limit sentinel, if any.
func (e *Error) Unwrap() error { return e.Err }

var (
	// ErrTooLarge is wrapped by the errors of limits: a path longer than
	// MaxPathLen, a template longer than MaxTemplateSize, more than
	// MaxVariables variables, or output beyond MaxOutputSize.
	ErrTooLarge = errors.New("transform: too large")
	// ErrInvalidEvent is wrapped by the errors of Apply for an event that
	// is not a JSON object, and of Path.Extract for a document that is not
	// JSON; the message says where and why.
	ErrInvalidEvent = errors.New("transform: invalid event")
	// ErrInvalidOutput is wrapped by the error of Apply when a JSON
	// template rendered text that is not JSON. Compile rules out the
	// templates that could, so this is a safety net, not an expected
	// outcome.
	ErrInvalidOutput = errors.New("transform: output is not valid JSON")
)
