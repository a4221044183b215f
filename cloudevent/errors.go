package cloudevent

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors, wrapped by *Error so that errors.Is can tell them apart
// from invalid events.
var (
	// ErrTooLarge: an event, a batch body or a batch's event count is over
	// MaxEventSize or MaxBatch.
	ErrTooLarge = errors.New("cloudevent: too large")
	// ErrNotCloudEvent: the request is neither structured, batched nor
	// binary CloudEvents.
	ErrNotCloudEvent = errors.New("cloudevent: not a CloudEvents request")
	// ErrUnsupportedFormat: the Content-Type names a CloudEvents event
	// format other than JSON, such as application/cloudevents+avro.
	ErrUnsupportedFormat = errors.New("cloudevent: unsupported event format")
)

// Error describes an invalid event or request. Index is the event's
// position in a batch, or -1 when the error is not about one event of a
// batch (a single event, or the batch as a whole); Attribute names the
// attribute at fault ("" when the problem is not one attribute's); Reason
// says what is wrong; Err is a sentinel (ErrTooLarge, ErrNotCloudEvent,
// ErrUnsupportedFormat) or nil.
type Error struct {
	Index     int
	Attribute string
	Reason    string
	Err       error
}

// Error returns `cloudevent[2]: attribute "specversion": want "1.0", got
// "0.3"`, leaving out the index and the attribute when they do not apply.
func (e *Error) Error() string {
	s := "cloudevent"
	if e.Index >= 0 {
		s += "[" + strconv.Itoa(e.Index) + "]"
	}
	s += ": "
	if e.Attribute != "" {
		s += "attribute " + strconv.Quote(e.Attribute) + ": "
	}
	return s + e.Reason
}

// Unwrap returns the sentinel, if any.
func (e *Error) Unwrap() error { return e.Err }

// attrError returns an *Error about one attribute, outside a batch.
func attrError(attr, format string, args ...any) *Error {
	return &Error{Index: -1, Attribute: attr, Reason: fmt.Sprintf(format, args...)}
}

// inBatch sets the batch index of err, if it is an *Error.
func inBatch(err error, i int) error {
	var e *Error
	if errors.As(err, &e) {
		e.Index = i
	}
	return err
}
