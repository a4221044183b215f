package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/courier-io/courier/driver"
)

// Error is the JSON error object: {"code": ..., "message": ..., "field": ...}.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the offending input for invalid_argument and too_large.
	Field string `json:"field,omitempty"`
}

// ErrorResponse is the body of every failed request.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// errorKinds is the one table from courier errors to HTTP statuses and
// error codes. The first matching row wins, so the more specific errors
// come first.
var errorKinds = []struct {
	err    error
	status int
	code   string
}{
	{driver.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{driver.ErrInvalid, http.StatusBadRequest, "invalid_argument"},
	{driver.ErrReceiptInvalid, http.StatusBadRequest, "receipt_invalid"},
	{driver.ErrNotFound, http.StatusNotFound, "not_found"},
	{driver.ErrExists, http.StatusConflict, "exists"},
	{driver.ErrFenced, http.StatusConflict, "fenced"},
	{driver.ErrConflict, http.StatusConflict, "conflict"},
	{driver.ErrUnsupported, http.StatusNotImplemented, "unsupported"},
	{driver.ErrStorage, http.StatusServiceUnavailable, "storage_failed"},
	{driver.ErrClosed, http.StatusServiceUnavailable, "closed"},
	{context.DeadlineExceeded, http.StatusGatewayTimeout, "deadline_exceeded"},
	{context.Canceled, http.StatusServiceUnavailable, "canceled"},
}

// ErrorOf returns the status and error object for err.
func ErrorOf(err error) (int, Error) {
	e := Error{Code: "internal", Message: err.Error()}
	status := http.StatusInternalServerError
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			status, e.Code = k.status, k.code
			break
		}
	}
	var ve *driver.ValidationError
	if errors.As(err, &ve) {
		e.Field = ve.Field
	}
	return status, e
}

// remoteError is an error received from a server: its message, matching
// the courier sentinel of its code with errors.Is.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// Err turns an error object received from a server back into an error
// that matches the same courier sentinel (and, for invalid input, is a
// *driver.ValidationError naming the same field).
func (e Error) Err() error {
	for _, k := range errorKinds {
		if k.code != e.Code {
			continue
		}
		if e.Field != "" && (k.err == driver.ErrInvalid || k.err == driver.ErrTooLarge) {
			return &driver.ValidationError{Field: e.Field, Reason: trimField(e.Message, e.Field), TooLarge: k.err == driver.ErrTooLarge}
		}
		return &remoteError{msg: e.Message, sentinel: k.err}
	}
	return fmt.Errorf("server error %s: %s", e.Code, e.Message)
}

// trimField removes a leading "field: " that ValidationError.Error adds,
// so a round trip does not repeat it.
func trimField(msg, field string) string {
	for i := 0; i+len(field)+2 <= len(msg); i++ {
		if msg[i:i+len(field)+2] == field+": " {
			return msg[i+len(field)+2:]
		}
	}
	return msg
}
