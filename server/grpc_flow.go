package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	pb "github.com/courier-io/courier/internal/gen/courier/v1"
	"github.com/courier-io/courier/internal/pbconv"
)

// Flow control of the gRPC receive streams (QueueService.Receive,
// TopicService.ReceiveSubscription) and consumer sessions: the client
// grants credit, each delivery sent uses one unit, and settling a
// delivery (ack or nack, by any gRPC call) returns it. The server receives
// from the queue only as many messages as it may send, so it never holds
// messages for a client that is not ready for them, and messages it has
// not sent stay visible to other consumers.

// Credit limits.
const (
	// MaxCredit bounds the credit of one receive stream or consumer
	// session: its unsettled deliveries plus the units it may still use.
	MaxCredit = 10000
	// DefaultReceiveCredit is the credit of a receive stream that asks
	// for none.
	DefaultReceiveCredit = 10
	// deliveryFrameBytes is the size past which a receive stream starts
	// a new response, so that responses stay well under gRPC's default
	// 4 MiB message limit (one delivery is at most 1 MiB plus headers).
	deliveryFrameBytes = 1 << 20
	// cleanupTimeout bounds the nacks a stream sends when it ends.
	cleanupTimeout = 5 * time.Second
)

// window is the flow control of one receive stream or consumer session.
// Its fields are guarded by the mutex of its windows.
type window struct {
	// source names what it receives from ("queue:orders",
	// "subscription:events/eu"); receipts are only matched within it.
	source string
	// credit is how many more deliveries the stream may send.
	credit int
	// unsettled are the receipts it sent that no ack or nack settled.
	unsettled map[string]struct{}
	// wake has a value when credit grew since the stream last looked.
	wake chan struct{}
}

// receiptKey identifies a receipt within its source.
type receiptKey struct{ source, receipt string }

// windows is the server's registry of windows by receipt, so that
// settling a delivery with any gRPC call (a unary Ack, or an ack on a
// consumer session) returns its unit to the stream that sent it.
type windows struct {
	mu        sync.Mutex
	byReceipt map[receiptKey]*window
}

func newWindows() *windows { return &windows{byReceipt: map[receiptKey]*window{}} }

// open returns a window of source with credit units.
func (ws *windows) open(source string, credit int) *window {
	return &window{source: source, credit: credit, unsettled: map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

// available returns how many deliveries w may send now.
func (ws *windows) available(w *window) int {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return w.credit
}

// sent records deliveries that w is about to send: each uses a unit.
func (ws *windows) sent(w *window, receipts []string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, r := range receipts {
		w.credit--
		w.unsettled[r] = struct{}{}
		ws.byReceipt[receiptKey{w.source, r}] = w
	}
}

// settle returns the units of the receipts of source that a stream sent
// and that an ack or nack has just settled.
func (ws *windows) settle(source string, receipts []string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for _, r := range receipts {
		k := receiptKey{source, r}
		w, ok := ws.byReceipt[k]
		if !ok {
			continue
		}
		delete(ws.byReceipt, k)
		delete(w.unsettled, r)
		w.credit++
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// grant adds n units to w; the total of its credit and unsettled
// deliveries stays at most MaxCredit.
func (ws *windows) grant(w *window, n int) error {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if n < 1 || n > MaxCredit {
		return driver.Invalid("credit", "%d is out of range; accepted is 1 to %d", n, MaxCredit)
	}
	if total := w.credit + len(w.unsettled) + n; total > MaxCredit {
		return driver.Invalid("credit", "granting %d would make the credit %d (unsettled deliveries included); the limit is %d", n, total, MaxCredit)
	}
	w.credit += n
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// close forgets w and returns the receipts it sent that are still
// unsettled.
func (ws *windows) close(w *window) []string {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	out := make([]string, 0, len(w.unsettled))
	for r := range w.unsettled {
		delete(ws.byReceipt, receiptKey{w.source, r})
		out = append(out, r)
	}
	clear(w.unsettled)
	return out
}

// receiveSource is what a receive stream reads and settles: a
// *courier.Queue or a durable *courier.Subscription.
type receiveSource interface {
	Receive(ctx context.Context, opts ...courier.ReceiveOption) ([]*courier.Delivery, error)
	Ack(ctx context.Context, receipts ...string) error
	Nack(ctx context.Context, delay time.Duration, receipts ...string) error
	Extend(ctx context.Context, visibility time.Duration, receipts ...string) error
}

// settleOp is an ack or a nack (delay) of receipts.
type settleOp func(ctx context.Context, receipts []string) error

// settleReceipts runs op and returns the units of the receipts to their
// windows when the call as a whole succeeded (per-receipt failures are
// stale receipts, whose deliveries are over as well).
func (g *grpcAPI) settleReceipts(ctx context.Context, source string, receipts []string, op settleOp) error {
	err := op(ctx, receipts)
	var be *courier.BatchError
	if err == nil || errors.As(err, &be) {
		g.windows.settle(source, receipts)
	}
	return err
}

// pump receives from src what w has credit for and sends it with send,
// until ctx ends or receiving or sending fails. Deliveries that send
// fails to send are nacked, so that they are visible again at once.
func (g *grpcAPI) pump(ctx context.Context, src receiveSource, w *window, visibility time.Duration, send func([]*courier.Delivery) error) error {
	for {
		n := g.windows.available(w)
		if n <= 0 {
			select {
			case <-w.wake:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		ds, err := src.Receive(ctx, courier.Max(min(n, driver.MaxBatch)), courier.Wait(driver.MaxReceiveWait), courier.Visibility(visibility))
		if err != nil {
			return err
		}
		if len(ds) == 0 {
			continue
		}
		receipts := make([]string, len(ds))
		for i, d := range ds {
			receipts[i] = d.Receipt
		}
		g.windows.sent(w, receipts)
		if err := send(ds); err != nil {
			g.windows.settle(w.source, receipts)
			nackAll(ctx, src, receipts)
			return err
		}
	}
}

// nackAll makes the deliveries of receipts visible again at once, in
// batches the API accepts. It runs after the stream's context may have
// ended, so it has its own deadline; failures leave the messages to their
// visibility timeout.
func nackAll(ctx context.Context, src receiveSource, receipts []string) {
	if len(receipts) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	for len(receipts) > 0 {
		n := min(len(receipts), driver.MaxBatch)
		_ = src.Nack(ctx, 0, receipts[:n]...) // best effort: the visibility timeout redelivers them anyway
		receipts = receipts[n:]
	}
}

// deliveryFrames splits deliveries into the responses of a stream: each
// at most about deliveryFrameBytes, and at least one delivery.
func deliveryFrames(ds []*courier.Delivery) [][]*pb.Delivery {
	var frames [][]*pb.Delivery
	var cur []*pb.Delivery
	size := 0
	for _, d := range ds {
		n := driver.MessageSize(&driver.Message{Body: d.Body, Headers: d.Headers}) + len(d.ID) + len(d.Receipt) + 64
		if len(cur) > 0 && size+n > deliveryFrameBytes {
			frames = append(frames, cur)
			cur, size = nil, 0
		}
		cur = append(cur, pbconv.DeliveryPB(&d.Delivery))
		size += n
	}
	if len(cur) > 0 {
		frames = append(frames, cur)
	}
	return frames
}

// creditOf returns a stream's requested credit: the default for 0, an
// error naming field outside 1..MaxCredit.
func creditOf(field string, n int32, def int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0 || n > MaxCredit:
		return 0, driver.Invalid(field, "%d is out of range; accepted is 1 to %d (0 for the default %d)", n, MaxCredit, def)
	}
	return int(n), nil
}

// receiveStream serves a receive stream of src: flow-controlled by
// credit, until the client cancels, receiving fails or the server drains.
// Deliveries still unsettled when it ends stay in flight: the client may
// settle them after the stream (or their visibility timeout redelivers
// them).
func (g *grpcAPI) receiveStream(ctx context.Context, source string, src receiveSource, credit int, visibility time.Duration, send func([]*pb.Delivery) error) error {
	if g.s.draining() {
		return shuttingDown
	}
	ctx, cancel := g.streamContext(ctx)
	defer cancel()
	w := g.windows.open(source, credit)
	defer g.windows.close(w)
	err := g.pump(ctx, src, w, visibility, func(ds []*courier.Delivery) error {
		for _, f := range deliveryFrames(ds) {
			if err := send(f); err != nil {
				return err
			}
		}
		return nil
	})
	return g.endErr(err)
}
