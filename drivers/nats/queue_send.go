package nats

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

// Send stores msgs in the queue: each is one JetStream publish, acked by
// the server once stored (and replicated, with replicas > 1). A batch is
// published pipelined and waits for every acknowledgement.
func (c *conn) Send(ctx context.Context, name string, msgs []driver.Message) ([]driver.SendResult, error) {
	return c.send(ctx, c.lay.queue(name), msgs)
}

func (c *conn) send(ctx context.Context, ref qref, msgs []driver.Message) ([]driver.SendResult, error) {
	if err := driver.ValidateBatch(msgs); err != nil {
		return nil, err
	}
	m, err := c.queueMeta(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := make([]*nats.Msg, len(msgs))
	res := make([]driver.SendResult, len(msgs))
	for i := range msgs {
		out[i], res[i].Err = c.queueMessage(m, &msgs[i], i)
	}
	acks, err := c.publishAll(ctx, out)
	if err != nil {
		return nil, c.queueErr(ref, err)
	}
	for i, a := range acks {
		if out[i] == nil {
			continue
		}
		if a.err != nil {
			res[i].Err = mapErr(a.err)
			continue
		}
		if out[i].Subject == m.ref.subj {
			res[i].ID = m.messageID(mainRoot(a.seq))
		} else {
			res[i].ID = m.messageID(auxRoot(a.seq))
		}
		res[i].Duplicate = a.duplicate
	}
	return res, nil
}

// queueMessage builds the JetStream message of one courier message, or
// the error that rejects it alone.
func (c *conn) queueMessage(m *queueMeta, msg *driver.Message, i int) (*nats.Msg, error) {
	attrs := m.attrs()
	if size := driver.MessageSize(msg); size > attrs.MaxMessageSize {
		return nil, driver.TooLarge(fmt.Sprintf("messages[%d]", i), "message is %d bytes (body plus headers); queue %q accepts up to %d", size, m.ref.name, attrs.MaxMessageSize)
	}
	delay := msg.Delay
	if delay == 0 {
		delay = attrs.DeliveryDelay
	}
	nm := &nats.Msg{Subject: m.ref.subj, Data: msg.Body}
	if len(msg.Headers) > 0 || msg.Group != "" || msg.DedupID != "" || delay > 0 || attrs.ContentBasedDedup {
		nm.Header = make(nats.Header, len(msg.Headers)+4)
		putUserHeaders(nm.Header, msg.Headers)
		if msg.Group != "" {
			nm.Header[hGroup] = []string{msg.Group}
		}
		if msg.DedupID != "" {
			nm.Header[hDedup] = []string{msg.DedupID}
		}
		if id := dedupID(msg, attrs.ContentBasedDedup); id != "" {
			nm.Header[hMsgID] = []string{"d:" + id}
		}
		if delay > 0 {
			nm.Subject = m.ref.delayed(firstToken)
			setInt(nm.Header, hVisibleAt, time.Now().Add(delay).UnixNano())
		}
	}
	if err := c.checkPayload(nm, fmt.Sprintf("messages[%d]", i)); err != nil {
		return nil, err
	}
	return nm, nil
}

// dedupID is the message's dedup ID, or with content-based dedup the
// SHA-256 of its body; "" for none.
func dedupID(msg *driver.Message, contentBased bool) string {
	if msg.DedupID != "" {
		return msg.DedupID
	}
	if contentBased {
		sum := sha256.Sum256(msg.Body)
		return hex.EncodeToString(sum[:])
	}
	return ""
}

// checkPayload rejects a message the server would refuse for its size
// (max_payload counts the body and the header block, the driver's headers
// included).
func (c *conn) checkPayload(m *nats.Msg, field string) error {
	limit := c.maxPayload.Load()
	if limit <= 0 {
		return nil
	}
	n := int64(len(m.Data))
	for k, vs := range m.Header {
		for _, v := range vs {
			n += int64(len(k) + len(v) + 4)
		}
	}
	if len(m.Header) > 0 {
		n += 12
	}
	if n > limit {
		return driver.TooLarge(field, "with the driver's headers the message is %d bytes; the NATS server's max_payload is %d", n, limit)
	}
	return nil
}

// pubAck is the outcome of one publish.
type pubAck struct {
	seq       uint64
	duplicate bool
	err       error
}

// publishAll publishes msgs (nil entries are skipped) and waits for their
// acknowledgements: one message synchronously, more pipelined. The error
// return means the destination is gone or the connection failed; other
// failures are per message.
func (c *conn) publishAll(ctx context.Context, msgs []*nats.Msg) ([]pubAck, error) {
	acks := make([]pubAck, len(msgs))
	n := 0
	for _, m := range msgs {
		if m != nil {
			n++
		}
	}
	if n == 0 {
		return acks, nil
	}
	if n == 1 {
		for i, m := range msgs {
			if m == nil {
				continue
			}
			a, err := c.publish(ctx, m)
			if err != nil {
				if batchFailure(err) {
					return nil, err
				}
				acks[i].err = err
				continue
			}
			acks[i] = pubAck{seq: a.Sequence, duplicate: a.Duplicate}
		}
		return acks, nil
	}
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		if m == nil {
			continue
		}
		f, err := c.js.PublishMsgAsync(m)
		if err != nil {
			if batchFailure(err) {
				return nil, err
			}
			acks[i].err = err
			continue
		}
		futures[i] = f
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case a := <-f.Ok():
			acks[i] = pubAck{seq: a.Sequence, duplicate: a.Duplicate}
		case err := <-f.Err():
			if unavailable(err) {
				// Nobody stored it (a stream electing a leader): publish
				// it again, waiting for the stream.
				var a *jetstream.PubAck
				if a, err = c.publish(ctx, msgs[i]); err == nil {
					acks[i] = pubAck{seq: a.Sequence, duplicate: a.Duplicate}
					continue
				}
			}
			if batchFailure(err) {
				return nil, err
			}
			acks[i].err = err
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.done:
			return nil, driver.ErrClosed
		}
	}
	return acks, nil
}

// batchFailure reports whether a publish error concerns the whole batch:
// the stream is gone or the connection is.
func batchFailure(err error) bool {
	return errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrStreamNotFound)
}

// publish publishes one message and waits for its acknowledgement. A
// publish that no stream answered is repeated while JetStream is
// unavailable (nothing stored it), and fails with ErrStreamNotFound when
// no stream takes its subject.
func (c *conn) publish(ctx context.Context, m *nats.Msg) (*jetstream.PubAck, error) {
	return retry(ctx, c, "publish", func() (*jetstream.PubAck, error) {
		a, err := c.js.PublishMsg(ctx, m)
		if err == nil {
			return a, nil
		}
		if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
			if _, serr := c.js.StreamNameBySubject(ctx, m.Subject); errors.Is(serr, jetstream.ErrStreamNotFound) {
				return nil, serr
			}
		}
		return nil, err
	})
}

func formatSeq(s uint64) string { return strconv.FormatUint(s, 10) }
