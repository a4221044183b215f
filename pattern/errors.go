package pattern

import "errors"

// Error is a compile error: the dotted path of the offending field in the
// pattern ("" for the pattern as a whole) and the reason. When a limit was
// hit, Err is the matching sentinel (ErrTooManyKeys, ErrTooManyCombinations
// or ErrTooComplex), so that errors.Is can tell limits from mistakes.
type Error struct {
	Path   string
	Reason string
	Err    error
}

// Error returns "path: reason", or the reason alone for the whole pattern.
func (e *Error) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// Unwrap returns the limit sentinel, if any.
func (e *Error) Unwrap() error { return e.Err }

// Limit sentinels, wrapped by *Error.
var (
	// ErrTooManyKeys: an SNS filter policy names more than
	// MaxPolicyKeys keys.
	ErrTooManyKeys = errors.New("pattern: too many keys")
	// ErrTooManyCombinations: an SNS filter policy has more than
	// MaxPolicyCombinations combinations of values.
	ErrTooManyCombinations = errors.New("pattern: too many combinations")
	// ErrTooComplex: a pattern exceeds a size, depth, $or or wildcard
	// complexity limit.
	ErrTooComplex = errors.New("pattern: too complex")
)
