package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

// TestUnavailableIsNeverNotFound: a request JetStream left unanswered or
// refused for now is retried, and never reported as a missing resource.
func TestUnavailableIsNeverNotFound(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		unavailable bool
		notFound    bool
	}{
		{"no responders", fmt.Errorf("get: %w", nats.ErrNoResponders), true, false},
		{"no stream response", jetstream.ErrNoStreamResponse, true, false},
		{"meta leader election", &jetstream.APIError{Code: 503, ErrorCode: codeClusterNotAvailable}, true, false},
		{"stream offline", &jetstream.APIError{Code: 500, ErrorCode: codeStreamOffline}, true, false},
		{"stream not found", jetstream.ErrStreamNotFound, false, true},
		{"consumer not found", jetstream.ErrConsumerNotFound, false, true},
		{"key not found", jetstream.ErrKeyNotFound, false, true},
		{"wrong last sequence", &jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamWrongLastSequence}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unavailable(tt.err); got != tt.unavailable {
				t.Errorf("unavailable = %v; want %v", got, tt.unavailable)
			}
			if got := errors.Is(mapErr(tt.err), driver.ErrNotFound); got != tt.notFound {
				t.Errorf("mapErr(%v) is ErrNotFound = %v; want %v", tt.err, got, tt.notFound)
			}
		})
	}
}

// TestRetryStopsWithContext: retry repeats an unavailable call until it
// succeeds, and gives up when the call's context ends.
func TestRetryStopsWithContext(t *testing.T) {
	c := &conn{log: slog.New(slog.DiscardHandler), done: make(chan struct{})}
	calls := 0
	v, err := retry(context.Background(), c, "test", func() (int, error) {
		calls++
		if calls < 3 {
			return 0, nats.ErrNoResponders
		}
		return 7, nil
	})
	if v != 7 || err != nil || calls != 3 {
		t.Fatalf("retry = %d, %v after %d calls; want 7, nil after 3", v, err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	_, err = retry(ctx, c, "test", func() (int, error) {
		calls++
		if calls == 2 {
			cancel()
		}
		return 0, nats.ErrNoResponders
	})
	if !errors.Is(err, nats.ErrNoResponders) || calls != 2 {
		t.Fatalf("retry after cancel = %v after %d calls; want no responders after 2", err, calls)
	}

	calls = 0
	_, err = retry(context.Background(), c, "test", func() (int, error) {
		calls++
		return 0, jetstream.ErrStreamNotFound
	})
	if !errors.Is(err, jetstream.ErrStreamNotFound) || calls != 1 {
		t.Fatalf("retry of a final error = %v after %d calls; want it at once", err, calls)
	}
}
