package redis

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// waker wakes long polls. Every script that makes messages receivable
// publishes to the queue's channel (P:w:NAME); a Receive with nothing to
// return subscribes to it, on one Pub/Sub connection per Conn, and waits
// for a message there, for the next message's visibility time or for its
// deadline, whichever comes first. Channels stay subscribed for a minute
// after their last waiter leaves, so that polling loops do not subscribe
// on every call.
//
// A notification lost while the connection is down is made up for: when
// the connection fails, and when go-redis subscribes again after
// reconnecting, every waiter wakes and looks at its queue again.
type waker struct {
	rdb *redis.Client
	log *slog.Logger

	mu    sync.Mutex
	ps    *redis.PubSub
	chans map[string]*watch

	done chan struct{}
	wg   sync.WaitGroup
}

// watch is the state of one subscribed channel.
type watch struct {
	refs      int
	idleSince time.Time
	confirmed bool
	ready     chan struct{} // closed when the server confirmed the subscription
	notify    chan struct{} // closed at the next notification, then replaced
}

// Timings of the Pub/Sub connection.
const (
	pubsubPing     = 15 * time.Second // an idle connection is pinged this often
	watchIdleLimit = time.Minute      // a channel without waiters is unsubscribed after this
)

func newWaker(rdb *redis.Client, log *slog.Logger) *waker {
	w := &waker{rdb: rdb, log: log, chans: make(map[string]*watch), done: make(chan struct{})}
	w.ps = rdb.Subscribe(context.Background())
	w.wg.Add(1)
	go w.run()
	return w
}

// close stops the waker and waits for its goroutine.
func (w *waker) close() {
	close(w.done)
	w.mu.Lock()
	_ = w.ps.Close()
	for _, wt := range w.chans {
		signal(wt)
	}
	w.mu.Unlock()
	w.wg.Wait()
}

func (w *waker) closed() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// run reads the Pub/Sub connection until close.
func (w *waker) run() {
	defer w.wg.Done()
	pinged := false
	backoff := 10 * time.Millisecond
	for {
		w.mu.Lock()
		ps := w.ps
		w.mu.Unlock()
		msg, err := ps.ReceiveTimeout(context.Background(), pubsubPing)
		if w.closed() {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if pinged {
					// The ping went unanswered: the connection is dead
					// without having said so. Start over on a new one.
					w.reset()
					pinged = false
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = ps.Ping(ctx)
				cancel()
				pinged = true
				w.collect()
				continue
			}
			// go-redis reconnects and subscribes again on the next call;
			// the waiters look at their queues meanwhile.
			w.log.Debug("redis: pub/sub connection failed", "err", err)
			w.wakeAll()
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-w.done:
				t.Stop()
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		pinged = false
		backoff = 10 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				w.confirm(m.Channel)
			}
		case *redis.Message:
			w.mu.Lock()
			if wt := w.chans[m.Channel]; wt != nil {
				signal(wt)
			}
			w.mu.Unlock()
		}
	}
}

// signal wakes the waiters of wt; the caller holds w.mu.
func signal(wt *watch) {
	close(wt.notify)
	wt.notify = make(chan struct{})
}

// confirm marks a channel subscribed. A confirmation of a channel already
// subscribed comes after a reconnect: its waiters may have missed
// notifications, so they wake.
func (w *waker) confirm(ch string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	wt := w.chans[ch]
	if wt == nil {
		return
	}
	if !wt.confirmed {
		wt.confirmed = true
		close(wt.ready)
		return
	}
	signal(wt)
}

func (w *waker) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, wt := range w.chans {
		signal(wt)
	}
}

// reset replaces the Pub/Sub connection with a new one subscribed to the
// same channels.
func (w *waker) reset() {
	w.mu.Lock()
	old := w.ps
	chans := make([]string, 0, len(w.chans))
	for ch := range w.chans {
		chans = append(chans, ch)
	}
	w.ps = w.rdb.Subscribe(context.Background())
	ps := w.ps
	for _, wt := range w.chans {
		signal(wt)
	}
	w.mu.Unlock()
	_ = old.Close()
	if len(chans) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = ps.Subscribe(ctx, chans...) // on failure go-redis subscribes when it reconnects
		cancel()
	}
}

// collect unsubscribes channels that have had no waiter for a while.
func (w *waker) collect() {
	w.mu.Lock()
	var idle []string
	for ch, wt := range w.chans {
		if wt.refs == 0 && time.Since(wt.idleSince) > watchIdleLimit {
			idle = append(idle, ch)
			delete(w.chans, ch)
		}
	}
	if len(idle) > 0 {
		// Under w.mu, so that a new watch of the same channel subscribes
		// after this unsubscribe reaches the server.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = w.ps.Unsubscribe(ctx, idle...)
		cancel()
	}
	w.mu.Unlock()
}

// waitHandle is one waiter's hold on a channel.
type waitHandle struct {
	w  *waker
	ch string
	wt *watch
}

// watch subscribes to channel ch, if not yet, and waits until the server
// confirmed it (or ctx ends), so that a notification published after
// watch returns is not missed.
func (w *waker) watch(ctx context.Context, ch string) (*waitHandle, error) {
	w.mu.Lock()
	wt := w.chans[ch]
	fresh := wt == nil
	if fresh {
		wt = &watch{ready: make(chan struct{}), notify: make(chan struct{})}
		w.chans[ch] = wt
	}
	wt.refs++
	if fresh {
		// An error here (the connection is down) is repaired by go-redis,
		// which subscribes again when it reconnects; the wait below ends
		// then, or with ctx.
		_ = w.ps.Subscribe(ctx, ch)
	}
	w.mu.Unlock()
	h := &waitHandle{w: w, ch: ch, wt: wt}
	select {
	case <-wt.ready:
		return h, nil
	case <-ctx.Done():
		h.release()
		return nil, ctx.Err()
	case <-w.done:
		h.release()
		return nil, errConnClosed
	}
}

// signal returns the channel the next notification closes.
func (h *waitHandle) signal() <-chan struct{} {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	return h.wt.notify
}

// release ends the wait.
func (h *waitHandle) release() {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.wt.refs--
	if h.wt.refs == 0 {
		h.wt.idleSince = time.Now()
	}
}
