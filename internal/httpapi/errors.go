package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"connectrpc.com/connect"

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

// Errors of the server's access control and limits. They have no
// counterpart in package driver: only a server answers them.
var (
	// ErrUnauthenticated: the request carries no credentials, or ones that
	// match no identity (401, with a WWW-Authenticate: Bearer header).
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrPermissionDenied: the identity may not do this (403).
	ErrPermissionDenied = errors.New("permission denied")
	// ErrRateLimited: the identity is over its request rate, or the server
	// has no room for another stream or long poll (429, with Retry-After).
	ErrRateLimited = errors.New("rate limited")
)

// errorKinds is the one table from courier errors to HTTP statuses, gRPC
// status codes and error codes: REST (ErrorOf) and gRPC (GRPCErrorOf)
// answer an error the same way. The first matching row wins, so the more
// specific errors come first.
var errorKinds = []struct {
	err    error
	status int
	grpc   connect.Code
	code   string
}{
	{driver.ErrTooLarge, http.StatusRequestEntityTooLarge, connect.CodeResourceExhausted, "too_large"},
	{driver.ErrInvalid, http.StatusBadRequest, connect.CodeInvalidArgument, "invalid_argument"},
	{driver.ErrReceiptInvalid, http.StatusBadRequest, connect.CodeFailedPrecondition, "receipt_invalid"},
	{driver.ErrNotFound, http.StatusNotFound, connect.CodeNotFound, "not_found"},
	{driver.ErrExists, http.StatusConflict, connect.CodeAlreadyExists, "exists"},
	{driver.ErrFenced, http.StatusConflict, connect.CodeAborted, "fenced"},
	{driver.ErrConflict, http.StatusConflict, connect.CodeFailedPrecondition, "conflict"},
	{driver.ErrUnsupported, http.StatusNotImplemented, connect.CodeUnimplemented, "unsupported"},
	{driver.ErrStorage, http.StatusServiceUnavailable, connect.CodeUnavailable, "storage_failed"},
	{driver.ErrClosed, http.StatusServiceUnavailable, connect.CodeUnavailable, "closed"},
	{ErrUnauthenticated, http.StatusUnauthorized, connect.CodeUnauthenticated, "unauthenticated"},
	{ErrPermissionDenied, http.StatusForbidden, connect.CodePermissionDenied, "permission_denied"},
	{ErrRateLimited, http.StatusTooManyRequests, connect.CodeResourceExhausted, "rate_limited"},
	{context.DeadlineExceeded, http.StatusGatewayTimeout, connect.CodeDeadlineExceeded, "deadline_exceeded"},
	{context.Canceled, http.StatusServiceUnavailable, connect.CodeCanceled, "canceled"},
}

// WebSocket close codes (RFC 6455, section 7.4.1) that the server sends.
const (
	CloseNormal          = 1000 // the client closed, or the server answered its close
	CloseGoingAway       = 1001 // the server is shutting down (Drain) or the backend closed
	CloseUnsupportedData = 1003 // a binary frame: the protocol is JSON text frames
	ClosePolicyViolation = 1008 // the client broke a rule: too slow to read, no pong, invalid input
	CloseMessageTooBig   = 1009 // a frame over the read limit
	CloseInternalError   = 1011 // a storage failure or a bug
	CloseTryAgainLater   = 1013 // a server limit (connections) is reached; retry later
)

// closeCodes extends the error table with the WebSocket close code for
// the errors that end a whole WebSocket connection rather than one
// request (which is answered with an error frame and the code above).
// It is keyed by the table's codes, so that every row has a close code:
// codes not listed close with CloseInternalError.
var closeCodes = map[string]int{
	"too_large":         CloseMessageTooBig,
	"invalid_argument":  ClosePolicyViolation,
	"receipt_invalid":   ClosePolicyViolation,
	"unsupported":       CloseUnsupportedData,
	"closed":            CloseGoingAway,
	"canceled":          CloseGoingAway,
	"deadline_exceeded": ClosePolicyViolation,
	"unauthenticated":   ClosePolicyViolation,
	"permission_denied": ClosePolicyViolation,
	"rate_limited":      CloseTryAgainLater,
}

// CloseCodeOf returns the WebSocket close code for an error that ends a
// connection, by the error table: CloseGoingAway for ErrClosed and
// context.Canceled, CloseMessageTooBig for ErrTooLarge,
// CloseUnsupportedData for ErrUnsupported, CloseTryAgainLater for
// ErrRateLimited, ClosePolicyViolation for invalid input, missed
// deadlines and refused credentials, CloseInternalError otherwise.
func CloseCodeOf(err error) int {
	_, e := ErrorOf(err)
	if c, ok := closeCodes[e.Code]; ok {
		return c
	}
	return CloseInternalError
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

// GRPCErrorOf returns the gRPC status code and the error object for err,
// by the same table as ErrorOf, so that the gRPC surface answers an error
// as REST does: codes.InvalidArgument where REST says 400
// invalid_argument, and so on (docs/grpc.md lists the table). Errors the
// table does not know are codes.Internal.
func GRPCErrorOf(err error) (connect.Code, Error) {
	_, e := ErrorOf(err)
	return GRPCCode(e.Code), e
}

// GRPCCode returns the gRPC status code of an error object's code
// ("not_found" is codes.NotFound); unknown codes are codes.Internal.
func GRPCCode(code string) connect.Code {
	for _, k := range errorKinds {
		if k.code == code {
			return k.grpc
		}
	}
	return connect.CodeInternal
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
