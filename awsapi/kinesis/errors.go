package kinesis

import (
	"errors"
	"fmt"
	"net/http"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// kerr returns a Kinesis caller error (HTTP 400): code is the error
// shape's name, as both the JSON __type and the CBOR __type carry it.
func kerr(code, format string, args ...any) *awsapi.Error {
	return &awsapi.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// The Kinesis error shapes this package returns.
const (
	codeInvalidArgument = "InvalidArgumentException"
	codeNotFound        = "ResourceNotFoundException"
	codeInUse           = "ResourceInUseException"
	codeLimitExceeded   = "LimitExceededException"
	codeExpiredIterator = "ExpiredIteratorException"
	codeExpiredToken    = "ExpiredNextTokenException"
	codeValidation      = "ValidationException"
	codeDryRun          = "DryRunOperationException"
	codeUnknownOp       = "UnknownOperationException"
)

// invalid is an InvalidArgumentException.
func invalid(format string, args ...any) *awsapi.Error {
	return kerr(codeInvalidArgument, format, args...)
}

// validation is a ValidationException for a member that breaks a
// constraint of the Kinesis model, in AWS's wording.
func validation(member, value, constraint string) *awsapi.Error {
	return kerr(codeValidation, "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", awsapi.Truncate(value, 64), member, constraint)
}

// internal is an InternalFailureException (HTTP 500).
func internal(err error) *awsapi.Error {
	return &awsapi.Error{Code: "InternalFailure", Type: "InternalFailureException", Message: err.Error(), Server: true}
}

// errClosed is the cause of the InternalFailureException of a request
// that arrives after Close.
var errClosed = errors.New("the Kinesis service is shut down")

// streamNotFound is the ResourceNotFoundException of a missing stream.
func (s *Service) streamNotFound(name string) *awsapi.Error {
	return kerr(codeNotFound, "Stream %s under account %s not found.", name, s.env.AccountID)
}

// courierError translates an error of the courier API about stream name
// into a Kinesis error.
func (s *Service) courierError(name string, err error) error {
	var ae *awsapi.Error
	var ve *courier.ValidationError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, courier.ErrNotFound):
		return s.streamNotFound(name)
	case errors.Is(err, courier.ErrExists), errors.Is(err, courier.ErrConflict):
		return kerr(codeInUse, "Stream %s under account %s: %v", name, s.env.AccountID, err)
	case errors.As(err, &ve), errors.Is(err, courier.ErrInvalid), errors.Is(err, courier.ErrTooLarge), errors.Is(err, courier.ErrUnsupported):
		return invalid("%v", err)
	}
	return internal(err)
}

// unsupported is the error of an action courier does not implement:
// AWS's UnknownOperationException, with the reason.
func unsupported(action, reason string) *awsapi.Error {
	return &awsapi.Error{Code: codeUnknownOp, Message: fmt.Sprintf("courier's Kinesis endpoint does not support %s: %s", action, reason), Status: http.StatusBadRequest}
}
