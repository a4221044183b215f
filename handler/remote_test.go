package handler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
	"github.com/courier-io/courier/internal/servertest"
)

// TestOverHTTP runs a route and request-reply against a courier server:
// the runtime uses only the courier API, so it works on every backend.
func TestOverHTTP(t *testing.T) {
	srv := servertest.Start(t, "mem://")
	defer srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := courier.Open(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	q := must(b.CreateQueue(ctx, "echo"))(t)
	dlq := must(b.CreateQueue(ctx, "echo-dlq"))(t)
	r := handler.NewRouter(handler.Use(handler.DefaultMiddleware()...))
	if err := r.Handle(handler.Queue(q), handler.Replier(b, func(ctx context.Context, req *handler.Message) (courier.Message, error) {
		if string(req.Body) == "poison" {
			return courier.Message{}, handler.Permanent(errors.New("cannot echo poison"))
		}
		return courier.Message{Body: append([]byte("echo: "), req.Body...)}, nil
	}), handler.Concurrency(2), handler.PollWait(time.Second), handler.DeadLetter(dlq)); err != nil {
		t.Fatal(err)
	}
	stop := running(t, r)
	req := must(handler.NewRequester(ctx, b))(t)
	for _, body := range []string{"a", "b", "c"} {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		reply, err := req.Request(rctx, "echo", courier.Message{Body: []byte(body)})
		rcancel()
		if err != nil || string(reply.Body) != "echo: "+body {
			t.Fatalf("reply to %q: %v %v", body, reply, err)
		}
	}
	// A poison request gets no reply: it is dead-lettered with the error.
	must(q.Send(ctx, courier.Message{Body: []byte("poison")}))(t)
	ds := must(dlq.Receive(ctx, courier.Wait(10*time.Second)))(t)
	if len(ds) != 1 || ds[0].Headers[handler.HeaderError] != "cannot echo poison" {
		t.Fatalf("dead-lettered %v", ds)
	}
	check(t, req.Close(ctx))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
