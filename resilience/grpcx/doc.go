// Package grpcx applies resilience policies to gRPC: client and server
// interceptors for grpc-go (unary and streaming) and a connect.Interceptor
// for connect-go that works on both sides.
//
// On the client, an interceptor runs each unary call under the policy and
// retries only the codes Unavailable, ResourceExhausted and Aborted. The codes
// DeadlineExceeded, Internal, Unknown and DataLoss count as failures for the
// circuit breaker but are not retried; every other code is the application's
// answer and counts as a success. Policy errors become status errors:
// ErrCircuitOpen and ErrBulkheadFull → Unavailable, ErrRateLimited and
// ErrBudgetExhausted → ResourceExhausted, ErrTimeout → DeadlineExceeded; they
// still match the resilience sentinels with errors.Is. For streams the policy
// guards opening the stream (retries, but no hedges: a stream cannot be
// duplicated), not the messages sent on it.
//
// gRPC and connect propagate deadlines natively (grpc-timeout,
// Connect-Timeout-Ms). The interceptors also send the remaining time in the
// courier-deadline metadata key (resilience.DeadlineMetadataKey), minus
// resilience.DeadlineMargin at each hop, for proxies and non-Go hops that drop
// the native header; the server interceptors read it, keep the earlier of the
// two deadlines, and refuse a malformed value with InvalidArgument.
//
// On the server, the policy runs each call once (never retried or hedged):
// its rate limiter, bulkhead and breaker shed load with Unavailable or
// ResourceExhausted before the handler runs, and its timeout bounds the
// handler's context.
package grpcx
