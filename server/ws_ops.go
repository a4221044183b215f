package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// handle runs one frame and answers it. Ops run one at a time in the order
// they arrive, so answers come in request order; every op is answered
// once, with "ok" (or "pong") or "error". An invalid frame is answered
// with an error naming the field and the connection stays open.
func (c *wsConn) handle(data []byte) {
	req, err := decodeWSFrame(data)
	// Each frame is a request, a malformed one too: it takes one token of
	// the identity's rate.
	if id := identityFrom(c.ctx); id != nil {
		if rl := id.allow(); rl != nil {
			_, e := httpapi.ErrorOf(rl.err)
			c.answer(wsAnswer{Op: "error", ID: req.frame.ID, Error: &e, RetryAfterMs: max(rl.retryAfter.Milliseconds(), 1)})
			return
		}
	}
	if err != nil {
		c.answerError(req.frame.ID, err)
		return
	}
	f := &req.frame
	if err := c.authorizeOp(f); err != nil {
		c.answerError(f.ID, err)
		return
	}
	switch f.Op {
	case wsPing:
		c.answer(wsAnswer{Op: "pong", ID: f.ID})
	case wsPublish:
		c.answerREST(f.ID, func(w http.ResponseWriter) {
			if !c.s.messagesAllowed(w, req.msgs, req.batch) {
				return
			}
			res, err := c.s.b.Topic(f.Topic).PublishBatch(c.ctx, req.msgs)
			writeSendResults(w, res, req.batch, err)
		})
	case wsSend:
		c.answerREST(f.ID, func(w http.ResponseWriter) {
			if !c.s.messagesAllowed(w, req.msgs, req.batch) {
				return
			}
			res, err := c.s.b.Queue(f.Queue).SendBatch(c.ctx, req.msgs)
			writeSendResults(w, res, req.batch, err)
		})
	case wsPutEvents:
		bus := f.Bus
		if bus == "" {
			bus = courier.DefaultBus
		}
		c.answerREST(f.ID, func(w http.ResponseWriter) {
			if err := c.s.checkEvents(req.events); err != nil {
				writeAPIError(w, err)
				return
			}
			putBatch(c.ctx, w, c.s.b.Bus(bus), req.events, req.eventErrs)
		})
	case wsAppend:
		c.answerREST(f.ID, func(w http.ResponseWriter) {
			recs := req.records
			if err := c.s.checkBatch("records", len(recs), func(i int) int { return driver.RecordSize(&recs[i]) }); err != nil {
				writeAPIError(w, err)
				return
			}
			res, err := c.s.b.Stream(f.Stream).AppendBatch(c.ctx, recs)
			if err != nil {
				writeAPIError(w, err)
				return
			}
			writeJSON(w, http.StatusOK, httpapi.AppendResultsJSON(res))
		})
	case wsAck, wsNack, wsExtend:
		c.settle(f)
	case wsSubscribe:
		c.subscribe(req)
	case wsUnsubscribe:
		c.unsubscribe(f)
	case wsCredit:
		c.addCredit(f)
	}
}

// answerOK answers an op with its result (nil for none).
func (c *wsConn) answerOK(id string, result any) {
	a := wsAnswer{Op: "ok", ID: id}
	if result != nil {
		raw, err := httpapi.Marshal(result)
		if err != nil {
			c.answerError(id, err)
			return
		}
		a.Result = raw
	}
	c.answer(a)
}

// answerError answers an op with the error object of the error table.
func (c *wsConn) answerError(id string, err error) {
	_, e := httpapi.ErrorOf(err)
	c.answer(wsAnswer{Op: "error", ID: id, Error: &e})
}

// answerAPIError answers an error of the courier API, dropping the
// context the API added ("topic \"t\": tail: "), as REST does.
func (c *wsConn) answerAPIError(id string, err error) {
	if inner := errors.Unwrap(err); inner != nil {
		err = inner
	}
	c.answerError(id, err)
}

// authorizeOp checks that the connection's identity may do the op on the
// resource it names (Server.authorize: nil when authentication is off).
// Ops on a subscription of the connection were checked at subscribe.
func (c *wsConn) authorizeOp(f *wsFrame) error {
	var action Action
	switch f.Op {
	case wsPublish, wsSend, wsPutEvents, wsAppend:
		action = ActionPublish
	case wsSubscribe, wsAck, wsNack, wsExtend:
		action = ActionConsume
	default:
		return nil
	}
	switch {
	case f.Op == wsPutEvents:
		bus := f.Bus
		if bus == "" {
			bus = courier.DefaultBus
		}
		return c.s.authorize(c.ctx, action, "bus", bus)
	case f.Stream != "":
		return c.s.authorize(c.ctx, action, "stream", f.Stream)
	case f.Queue != "":
		return c.s.authorize(c.ctx, action, "queue", f.Queue)
	case f.Topic != "":
		return c.s.authorize(c.ctx, action, "topic", f.Topic)
	}
	return nil // a subscription of this connection
}

// answerREST runs an op through the REST endpoint's answer function and
// answers with what it wrote: the REST answer body as the result, or its
// error object. The answers of the two surfaces are thus the same.
func (c *wsConn) answerREST(id string, op func(w http.ResponseWriter)) {
	var w restCapture
	op(&w)
	body := bytes.TrimSpace(w.body.Bytes())
	if w.status >= 400 {
		var e httpapi.ErrorResponse
		if err := json.Unmarshal(body, &e); err != nil {
			e.Error = httpapi.Error{Code: "internal", Message: "unreadable error answer: " + string(body)}
		}
		c.answer(wsAnswer{Op: "error", ID: id, Error: &e.Error})
		return
	}
	c.answer(wsAnswer{Op: "ok", ID: id, Result: body})
}

// restCapture is an http.ResponseWriter that keeps the answer.
type restCapture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *restCapture) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *restCapture) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *restCapture) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// settler is what ack, nack and extend act on: a queue or a durable
// subscription.
type settler interface {
	Ack(ctx context.Context, receipts ...string) error
	Nack(ctx context.Context, delay time.Duration, receipts ...string) error
	Extend(ctx context.Context, visibility time.Duration, receipts ...string) error
}

// settle acks, nacks or extends receipts of a subscription of this
// connection, a queue, or a durable subscription; it answers as REST does
// ({"failed": [...]}).
func (c *wsConn) settle(f *wsFrame) {
	var target settler
	switch {
	case f.Sub != "":
		sub := c.lookupSub(f.Sub)
		if sub == nil {
			c.answerError(f.ID, errNoSub(f.Sub))
			return
		}
		if sub.settle == nil {
			c.answerError(f.ID, driver.Invalid("sub", "subscription %q is a %s subscription: only queue and durable subscriptions take receipts", f.Sub, sub.kind))
			return
		}
		target = sub.settle
	case f.Queue != "":
		target = c.s.b.Queue(f.Queue)
	default:
		target = c.s.b.Topic(f.Topic).Subscription(f.Subscription)
	}
	c.answerREST(f.ID, func(w http.ResponseWriter) {
		var err error
		switch f.Op {
		case wsAck:
			err = target.Ack(c.ctx, f.Receipts...)
		case wsNack:
			err = target.Nack(c.ctx, time.Duration(f.Delay), f.Receipts...)
		case wsExtend:
			err = target.Extend(c.ctx, time.Duration(*f.Visibility), f.Receipts...)
		}
		writeSettled(w, err)
	})
}
