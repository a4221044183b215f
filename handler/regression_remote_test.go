package handler_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
	"github.com/courier-io/courier/internal/servertest"
)

// Messages that succeeded before the ShutdownTimeout fired are still acked
// (over a remote broker, where a cancelled context fails the call).
func TestAcksSurviveTheShutdownTimeout(t *testing.T) {
	srv := servertest.Start(t, "mem://")
	defer srv.Stop()
	ctx := context.Background()
	b, err := courier.Open(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	q := must(b.CreateQueue(ctx, "work"))(t)
	sendN(t, q, 2)
	var n atomic.Int32
	started := make(chan struct{}, 2)
	h := handler.HandlerFunc(func(ctx context.Context, m *handler.Message) error {
		if n.Add(1) == 1 {
			return nil // fast, succeeds
		}
		started <- struct{}{}
		time.Sleep(500 * time.Millisecond) // ignores ctx, succeeds
		return nil
	})
	r := handler.NewRouter(handler.ShutdownTimeout(100 * time.Millisecond))
	_ = r.Handle(handler.Queue(q), h, handler.Prefetch(2), handler.PollWait(time.Second), handler.Visibility(time.Second))
	stop := running(t, r)
	<-started
	_ = stop()
	st := r.Stats()[0]
	time.Sleep(1500 * time.Millisecond)
	info := must(q.Info(ctx))(t)
	t.Logf("stats %+v queue %+v", st, info.Stats)
	if info.Stats.Visible != 0 {
		t.Errorf("%d successfully handled messages are back in the queue", info.Stats.Visible)
	}
}
