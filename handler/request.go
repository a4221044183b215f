package handler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/courier-io/courier"
)

// Headers of requests and replies.
const (
	// HeaderReplyTo names the queue a request's reply goes to.
	HeaderReplyTo = "courier-reply-to"
	// HeaderCorrelationID ties a reply to its request.
	HeaderCorrelationID = "courier-correlation-id"
	// HeaderReplyBy is when the requester stops waiting (RFC 3339, UTC):
	// a replier may skip requests whose reply would come too late.
	HeaderReplyBy = "courier-reply-by"
)

// ErrNoReplyTo is the error of Reply for a message that is no request.
var ErrNoReplyTo = errors.New("handler: the message has no " + HeaderReplyTo + " header: it is no request")

// Requester sends requests to queues and waits for their replies, which
// come to a reply queue of its own (an inbox, deleted by Close). It works
// on every backend that has queues. It is safe for concurrent use: many
// requests may wait at once.
type Requester struct {
	b     *courier.Broker
	inbox *courier.Queue

	mu      sync.Mutex
	waiting map[string]chan *courier.Delivery

	late    atomic.Int64
	stop    context.CancelFunc
	stopped chan struct{}
}

// NewRequester creates the requester's inbox (a queue named
// "inbox-<random>") and starts reading it.
func NewRequester(ctx context.Context, b *courier.Broker) (*Requester, error) {
	var id [8]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	inbox, err := b.CreateQueue(ctx, inboxPrefix+hex.EncodeToString(id[:]),
		courier.Retention(time.Hour), courier.VisibilityTimeout(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("handler: creating the reply queue: %w", err)
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r := &Requester{b: b, inbox: inbox, waiting: map[string]chan *courier.Delivery{}, stop: stop, stopped: make(chan struct{})}
	go r.read(rctx)
	return r, nil
}

// Inbox returns the name of the requester's reply queue.
func (r *Requester) Inbox() string { return r.inbox.Name() }

// LateReplies counts replies that came after their request had stopped
// waiting (or for no request of this requester): they are discarded.
func (r *Requester) LateReplies() int64 { return r.late.Load() }

// read hands replies to the requests waiting for them.
func (r *Requester) read(ctx context.Context) {
	defer close(r.stopped)
	for ctx.Err() == nil {
		ds, err := r.inbox.Receive(ctx, courier.Max(100), courier.Wait(20*time.Second))
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, courier.ErrClosed) || errors.Is(err, courier.ErrNotFound) {
				return
			}
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		if len(ds) == 0 {
			continue
		}
		receipts := make([]string, len(ds))
		r.mu.Lock()
		for i, d := range ds {
			receipts[i] = d.Receipt
			if ch, ok := r.waiting[d.Headers[HeaderCorrelationID]]; ok {
				ch <- d // buffered: one reply per request
				delete(r.waiting, d.Headers[HeaderCorrelationID])
			} else {
				r.late.Add(1)
			}
		}
		r.mu.Unlock()
		_ = r.inbox.Ack(context.WithoutCancel(ctx), receipts...)
	}
}

// Request sends msg to the queue named queue as a request and waits for
// its reply until ctx ends (then it fails with ctx's error, and a reply
// that comes later is counted in LateReplies and discarded).
func (r *Requester) Request(ctx context.Context, queue string, msg courier.Message) (*courier.Delivery, error) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	corr := hex.EncodeToString(id[:])
	h := maps.Clone(msg.Headers)
	if h == nil {
		h = make(map[string]string, 3)
	}
	h[HeaderReplyTo] = r.inbox.Name()
	h[HeaderCorrelationID] = corr
	if dl, ok := ctx.Deadline(); ok {
		h[HeaderReplyBy] = dl.UTC().Format(time.RFC3339Nano)
	}
	msg.Headers = h
	select {
	case <-r.stopped:
		return nil, fmt.Errorf("handler: request to %q: the requester is closed: %w", queue, courier.ErrClosed)
	default:
	}
	ch := make(chan *courier.Delivery, 1)
	r.mu.Lock()
	r.waiting[corr] = ch
	r.mu.Unlock()
	forget := func() {
		r.mu.Lock()
		delete(r.waiting, corr)
		r.mu.Unlock()
	}
	if _, err := r.b.Queue(queue).Send(ctx, msg); err != nil {
		forget()
		return nil, fmt.Errorf("handler: request to %q: %w", queue, err)
	}
	select {
	case d := <-ch:
		return d, nil
	case <-ctx.Done():
		forget()
		select {
		case d := <-ch: // arrived as the wait ended
			return d, nil
		default:
		}
		return nil, fmt.Errorf("handler: request to %q: no reply: %w", queue, context.Cause(ctx))
	case <-r.stopped:
		forget()
		return nil, fmt.Errorf("handler: request to %q: the requester is closed: %w", queue, courier.ErrClosed)
	}
}

// Close stops reading replies (waiting requests fail) and deletes the
// inbox.
func (r *Requester) Close(ctx context.Context) error {
	r.stop()
	<-r.stopped
	return r.inbox.Delete(ctx)
}

// Reply sends reply to the requester of req: to its reply queue, with its
// correlation ID. A request whose requester stopped waiting (HeaderReplyBy
// has passed, or its inbox is gone) is not answered: Reply returns nil.
// Replies go only to inboxes (queues named inbox-...), so a request cannot
// make a service write to any other queue.
func Reply(ctx context.Context, b *courier.Broker, req *Message, reply courier.Message) error {
	to := req.Headers[HeaderReplyTo]
	if to == "" {
		return ErrNoReplyTo
	}
	if !strings.HasPrefix(to, inboxPrefix) {
		return Permanent(fmt.Errorf("handler: %s %q is not a requester's inbox (%s...)", HeaderReplyTo, to, inboxPrefix))
	}
	if by, err := time.Parse(time.RFC3339Nano, req.Headers[HeaderReplyBy]); err == nil && time.Now().After(by) {
		return nil
	}
	h := maps.Clone(reply.Headers)
	if h == nil {
		h = make(map[string]string, 1)
	}
	h[HeaderCorrelationID] = req.Headers[HeaderCorrelationID]
	reply.Headers = h
	if _, err := b.Queue(to).Send(ctx, reply); err != nil {
		if errors.Is(err, courier.ErrNotFound) {
			return nil // the requester closed: nobody is waiting
		}
		return fmt.Errorf("handler: reply to %q: %w", to, err)
	}
	return nil
}

// inboxPrefix starts the names of requesters' reply queues.
const inboxPrefix = "inbox-"

// Replier is a handler that answers requests: fn's reply is sent to the
// requester; fn's error fails the request message as any handler error
// (it is retried, then dead-lettered).
func Replier(b *courier.Broker, fn func(ctx context.Context, req *Message) (courier.Message, error)) Handler {
	return HandlerFunc(func(ctx context.Context, m *Message) error {
		reply, err := fn(ctx, m)
		if err != nil {
			return err
		}
		if err := Reply(ctx, b, m, reply); err != nil && !errors.Is(err, ErrNoReplyTo) {
			return err
		}
		return nil
	})
}
