package nats

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// apiPatience is how long a call retries JetStream being unavailable for a
// moment (see unavailable) before it reports the failure. A leader
// election in a busy cluster takes seconds.
const apiPatience = 15 * time.Second

// JetStream API error codes that mean "not now" rather than "no".
const (
	codeClusterNotAvailable   = 10008 // JetStream system temporarily unavailable (meta leader election)
	codeClusterNotLeader      = 10009 // JetStream cluster can not handle request
	codeStreamCreateFailed    = 10049 // a server failed to set up the stream's storage for now
	codeStreamOffline         = 10118
	codeConsumerOffline       = 10119
	codeLastSeqNotReady       = 10163 // expected last sequence per subject temporarily unavailable
	codeStreamOfflineReason   = 10194
	codeConsumerOfflineReason = 10195
)

// unavailable reports whether err means that JetStream could not handle a
// request for a moment: nobody answered it (a stream or consumer electing
// a leader, or a replica that has not subscribed yet; a publish that no
// stream answered), or the cluster said it cannot now. Nothing was done
// by such a request, so repeating it is safe. A resource that is gone
// also leaves requests unanswered: callers that can meet one check its
// existence (see probeConsumer, and publish) before they retry.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) {
		return true
	}
	switch apiCode(err) {
	case codeClusterNotAvailable, codeClusterNotLeader, codeStreamCreateFailed, codeStreamOffline, codeConsumerOffline,
		codeLastSeqNotReady, codeStreamOfflineReason, codeConsumerOfflineReason:
		return true
	}
	return false
}

// retry runs call until it returns something other than an unavailable
// error, for at most apiPatience, backing off from 25ms to half a second.
// It returns early when ctx ends (with call's last error) or the
// connection closes.
func retry[T any](ctx context.Context, c *conn, what string, call func() (T, error)) (T, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		v, err := call()
		if !unavailable(err) || time.Since(start) > apiPatience || ctx.Err() != nil || c.closed.Load() {
			return v, err
		}
		if attempt == 1 || attempt%10 == 0 {
			c.log.Debug("JetStream unavailable for now; retrying", "call", what, "attempt", attempt, "error", err)
		}
		t := time.NewTimer(min(time.Duration(attempt)*25*time.Millisecond, 500*time.Millisecond))
		select {
		case <-t.C:
		case <-ctx.Done():
		case <-c.done:
		}
		t.Stop()
	}
}

// retryErr is retry for calls that return only an error.
func retryErr(ctx context.Context, c *conn, what string, call func() error) error {
	_, err := retry(ctx, c, what, func() (struct{}, error) { return struct{}{}, call() })
	return err
}

// probeConsumer turns an unanswered request to a consumer (such as a
// pull or an ack) into the consumer's not-found error when it is gone
// (the server's answer to a consumer info is authoritative), and otherwise
// returns err: the caller retries it.
func (c *conn) probeConsumer(ctx context.Context, cons jetstream.Consumer, err error) error {
	if !errors.Is(err, nats.ErrNoResponders) {
		return err
	}
	if _, cerr := cons.Info(ctx); errors.Is(cerr, jetstream.ErrConsumerNotFound) || errors.Is(cerr, jetstream.ErrStreamNotFound) {
		return cerr
	}
	return err
}
