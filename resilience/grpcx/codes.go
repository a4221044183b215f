package grpcx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/courier-io/courier/resilience"
)

// verdict is how the policies should treat a call's error.
type verdict int

const (
	answer    verdict = iota // the application's answer: a success for the policies
	retry                    // a failure worth retrying
	permanent                // a failure not worth retrying
)

func judge(c codes.Code) verdict {
	switch c {
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
		return retry
	case codes.DeadlineExceeded, codes.Internal, codes.Unknown, codes.DataLoss:
		return permanent
	}
	return answer
}

// classify turns an attempt's error into what the policy should see: err for
// a retryable failure, resilience.Permanent(err) for other failures, and nil
// (with the error kept aside as the answer) for everything else.
//
// An attempt cut short by the policy's own timeout, while the caller still
// waits, is retryable. That includes a DeadlineExceeded that arrives just
// before the attempt's deadline: the server got the deadline minus
// resilience.DeadlineMargin and gave up first, as it should; it is reported
// as resilience.ErrTimeout.
func classify(parent, attempt context.Context, err error, code codes.Code) (policyErr, answerErr error) {
	if err == nil {
		return nil, nil
	}
	if cause := parent.Err(); cause != nil {
		// The caller gave up: neither the downstream's success nor its
		// failure, and not worth retrying.
		return fmt.Errorf("%w: %w", cause, err), nil
	}
	switch judge(code) {
	case retry:
		return err, nil
	case permanent:
		if attempt.Err() != nil {
			return err, nil // resilience reports its own timeout
		}
		if code == codes.DeadlineExceeded && ownDeadline(parent, attempt) {
			return fmt.Errorf("%w: %w", resilience.ErrTimeout, err), nil
		}
		return resilience.Permanent(err), nil
	}
	return nil, err
}

// ownDeadline reports whether attempt has a deadline of its own, earlier
// than the caller's, that is about to pass.
func ownDeadline(parent, attempt context.Context) bool {
	d, ok := attempt.Deadline()
	if !ok {
		return false
	}
	if pd, ok := parent.Deadline(); ok && !d.Before(pd) {
		return false
	}
	return time.Until(d) <= 2*resilience.DeadlineMargin
}

// policyCode maps the resilience sentinels and context errors to codes.
func policyCode(err error) (codes.Code, bool) {
	switch {
	case errors.Is(err, resilience.ErrBudgetExhausted), errors.Is(err, resilience.ErrRateLimited):
		return codes.ResourceExhausted, true
	case errors.Is(err, resilience.ErrCircuitOpen), errors.Is(err, resilience.ErrBulkheadFull):
		return codes.Unavailable, true
	case errors.Is(err, resilience.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded, true
	case errors.Is(err, context.Canceled):
		return codes.Canceled, true
	}
	return 0, false
}
