package awsapi

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
)

// Error is an AWS error response: the code the SDKs switch on, a message
// for people, the HTTP status, and whether the caller (Sender) or the
// service (Receiver) is at fault.
type Error struct {
	// Code is the error code as AWS spells it in query-protocol responses
	// and in the x-amzn-query-error header: "AWS.SimpleQueueService.NonExistentQueue",
	// "InvalidParameterValue", "NotFound".
	Code string
	// Type is the shape name of a JSON-protocol response's __type, without
	// the namespace: "QueueDoesNotExist", "ResourceNotFoundException".
	// Empty uses Code.
	Type string
	// Message says what was wrong and where.
	Message string
	// Status is the HTTP status; 0 is 400.
	Status int
	// Server marks an error of the service (5xx) rather than the caller.
	Server bool
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns a caller error (HTTP 400) with code and a formatted
// message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// HTTPStatus returns the HTTP status of e: Status, or 500 for a service
// error and 400 for a caller's.
func (e *Error) HTTPStatus() int {
	switch {
	case e.Status != 0:
		return e.Status
	case e.Server:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// TypeName is the __type shape name of e (without a namespace): Type,
// or Code when Type is empty.
func (e *Error) TypeName() string {
	if e.Type != "" {
		return e.Type
	}
	return e.Code
}

// fault is "Sender" or "Receiver", as query-protocol errors say.
func (e *Error) fault() string {
	if e.Server || e.HTTPStatus() >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// AsError returns err as an *Error: itself when it is one, else an
// InternalFailure (HTTP 500) carrying err's text.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: "InternalFailure", Message: err.Error(), Server: true}
}

// WriteJSONError writes err as an AWS JSON-protocol error. namespace, when
// set, qualifies __type as awsJson1_0 services do ("com.amazonaws.sqs"
// gives "com.amazonaws.sqs#QueueDoesNotExist"); queryCompatible adds the
// x-amzn-query-error header that SQS sends so that SDKs can report the
// query protocol's code.
func WriteJSONError(w http.ResponseWriter, err error, contentType, namespace string, queryCompatible bool) {
	e := AsError(err)
	typ := e.TypeName()
	if namespace != "" {
		typ = namespace + "#" + typ
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Amzn-ErrorType", e.TypeName())
	if queryCompatible {
		h.Set("X-Amzn-Query-Error", e.Code+";"+e.fault())
	}
	h.Set("X-Amzn-RequestId", RequestID(w))
	w.WriteHeader(e.HTTPStatus())
	_ = json.NewEncoder(w).Encode(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{typ, e.Message})
}

// queryError is the <ErrorResponse> document of the query protocol.
type queryError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr,omitempty"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

// WriteQueryError writes err as a query-protocol <ErrorResponse> in the
// XML namespace xmlns.
func WriteQueryError(w http.ResponseWriter, err error, xmlns string) {
	e := AsError(err)
	var doc queryError
	doc.Xmlns = xmlns
	doc.Error.Type = e.fault()
	doc.Error.Code = e.Code
	doc.Error.Message = e.Message
	doc.RequestID = RequestID(w)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.HTTPStatus())
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(doc)
}
