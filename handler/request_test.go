package handler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/handler"
)

func TestRequestReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		q := must(b.CreateQueue(ctx, "upper"))(t)
		slow := false
		r := handler.NewRouter()
		_ = r.Handle(handler.Queue(q), handler.Replier(b, func(ctx context.Context, req *handler.Message) (courier.Message, error) {
			if slow {
				time.Sleep(2 * time.Second)
			}
			return courier.Message{Body: []byte(strings.ToUpper(string(req.Body)))}, nil
		}), handler.Concurrency(4))
		stop := running(t, r)
		defer stop()
		req := must(handler.NewRequester(ctx, b))(t)
		for i := range 20 {
			reply := must(req.Request(ctx, "upper", courier.Message{Body: []byte(fmt.Sprint("hello ", i))}))(t)
			if string(reply.Body) != fmt.Sprint("HELLO ", i) {
				t.Fatalf("reply %q to request %d", reply.Body, i)
			}
		}
		// A reply after the requester gave up is discarded and counted.
		slow = true
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := req.Request(tctx, "upper", courier.Message{Body: []byte("late")})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("request past its deadline = %v", err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := req.LateReplies(); n != 0 {
			// The replier saw the request's deadline had passed and did not answer.
			t.Fatalf("late replies %d; the replier skips requests past their deadline", n)
		}
		if _, err := req.Request(ctx, "missing", courier.Message{Body: []byte("x")}); !errors.Is(err, courier.ErrNotFound) {
			t.Fatalf("request to a missing queue = %v", err)
		}
		inbox := req.Inbox()
		check(t, req.Close(ctx))
		if _, err := b.Queue(inbox).Info(ctx); !errors.Is(err, courier.ErrNotFound) {
			t.Fatalf("inbox after Close: %v", err)
		}
	})
}

func TestLateRepliesAreCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		q := must(b.CreateQueue(ctx, "svc"))(t)
		req := must(handler.NewRequester(ctx, b))(t)
		defer req.Close(ctx)
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := req.Request(tctx, "svc", courier.Message{Body: []byte("q")})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		// Answered late, without the deadline check (a replier that ignores it).
		ds := must(q.Receive(ctx, courier.Wait(0)))(t)
		m := &handler.Message{Headers: ds[0].Headers}
		delete(m.Headers, handler.HeaderReplyBy)
		check(t, handler.Reply(ctx, b, m, courier.Message{Body: []byte("a")}))
		synctest.Wait()
		if n := req.LateReplies(); n != 1 {
			t.Fatalf("late replies %d; want 1", n)
		}
		if err := handler.Reply(ctx, b, &handler.Message{}, courier.Message{}); !errors.Is(err, handler.ErrNoReplyTo) {
			t.Fatalf("reply to a non-request = %v", err)
		}
	})
}
