package engine

import (
	"encoding/binary"
	"time"

	"github.com/courier-io/courier/driver"
)

// Record types of topics; numbers are on disk like those in records.go.
const (
	recCreateTopic byte = 12 // topicRecord
	recDeleteTopic byte = 13 // tidRecord
	recSubscribe   byte = 14 // subscribeRecord: create, update or confirm
	recUnsubscribe byte = 15 // unsubscribeRecord
	recPublish     byte = 16 // publishRecord; one per message, its body stored once for every target
)

// topicRecord creates a topic.
type topicRecord struct {
	TID   uint64
	Name  string
	Attrs driver.TopicAttributes
	At    int64
}

func (r *topicRecord) encode(e *encoder) {
	e.uint(r.TID)
	e.str(r.Name)
	e.bool(r.Attrs.FIFO)
	e.bool(r.Attrs.ContentBasedDedup)
	e.uint(uint64(r.Attrs.MaxMessageSize))
	e.int(r.At)
}

func (r *topicRecord) decode(d *decoder) {
	r.TID = d.uint()
	r.Name = d.str()
	r.Attrs.FIFO = d.bool()
	r.Attrs.ContentBasedDedup = d.bool()
	r.Attrs.MaxMessageSize = int(d.uint() & 0x7fffffff)
	r.At = d.int()
}

// tidRecord names one topic incarnation.
type tidRecord struct{ TID uint64 }

func (r *tidRecord) encode(e *encoder) { e.uint(r.TID) }
func (r *tidRecord) decode(d *decoder) { r.TID = d.uint() }

// subscribeRecord creates or replaces a subscription. QID is the queue a
// durable or HTTP subscription owns (created by a queueRecord logged just
// before), 0 for queue subscriptions.
type subscribeRecord struct {
	TID    uint64
	Name   string
	Spec   driver.Subscription
	Active bool
	Token  string // confirmation token of an HTTP subscription
	QID    uint64
	At     int64
}

func (r *subscribeRecord) encode(e *encoder) {
	e.uint(r.TID)
	e.str(r.Name)
	s := &r.Spec
	e.str(string(s.Kind))
	e.str(s.Queue)
	e.str(s.Endpoint)
	e.str(s.FilterPolicy)
	e.str(string(s.FilterScope))
	e.bool(s.Raw)
	e.bool(s.Attributes != nil)
	if s.Attributes != nil {
		encodeAttrs(e, s.Attributes)
	}
	p := &s.Push
	e.int(int64(p.MinDelay))
	e.int(int64(p.MaxDelay))
	e.uint(uint64(p.MaxAttempts))
	e.uint(uint64(p.MaxPerSecond))
	e.int(int64(p.Timeout))
	e.uint(uint64(p.Concurrency))
	e.str(p.DeadLetterQueue)
	e.bool(r.Active)
	e.str(r.Token)
	e.uint(r.QID)
	e.int(r.At)
}

func (r *subscribeRecord) decode(d *decoder) {
	r.TID = d.uint()
	r.Name = d.str()
	s := &r.Spec
	s.Kind = driver.SubscriptionKind(d.str())
	s.Queue = d.str()
	s.Endpoint = d.str()
	s.FilterPolicy = d.str()
	s.FilterScope = driver.FilterScope(d.str())
	s.Raw = d.bool()
	if d.bool() {
		s.Attributes = new(driver.QueueAttributes)
		decodeAttrs(d, s.Attributes)
	}
	p := &s.Push
	p.MinDelay = time.Duration(d.int())
	p.MaxDelay = time.Duration(d.int())
	p.MaxAttempts = int(d.uint() & 0xffff)
	p.MaxPerSecond = int(d.uint() & 0x7fffffff)
	p.Timeout = time.Duration(d.int())
	p.Concurrency = int(d.uint() & 0xffff)
	p.DeadLetterQueue = d.str()
	r.Active = d.bool()
	r.Token = d.str()
	r.QID = d.uint()
	r.At = d.int()
}

// unsubscribeRecord deletes a subscription (and the queue it owns).
type unsubscribeRecord struct {
	TID  uint64
	Name string
}

func (r *unsubscribeRecord) encode(e *encoder) { e.uint(r.TID); e.str(r.Name) }
func (r *unsubscribeRecord) decode(d *decoder) { r.TID = d.uint(); r.Name = d.str() }

// publishRecord stores one published message and the queue messages it
// became: one target per matching queue, durable or HTTP subscription. The
// body is stored once; each target's queue index points here, and receive
// renders the delivery (raw or envelope) from this record.
//
// Layout: TID, Seq and TopicSeq as fixed 8-byte numbers (patched under the
// lock like a sendRecord's), then the message, then the targets, appended
// under the lock once the matching subscriptions are known.
type publishRecord struct {
	TID         uint64
	Seq         uint64 // engine sequence; the topic message ID derives from it
	TopicSeq    uint64 // FIFO topics: position in the topic; 0 on standard topics
	PublishedAt int64
	Topic       string
	Group       string
	DedupID     string
	Headers     map[string]string
	Body        []byte
	Targets     []publishTarget
}

// publishTarget is one queue message made from a published message.
type publishTarget struct {
	QID     uint64
	Seq     uint64
	FIFOSeq uint64
	Raw     bool
	// Body, when not nil, is delivered instead of the published body (an
	// event bus target's transformed input).
	Body []byte
	// Headers are added to the published headers for this target only.
	Headers map[string]string
}

// Flags of an encoded publishTarget; records written before Body and
// Headers existed hold 0 or 1 here, which decode the same.
const (
	targetRaw     = 1 << 0
	targetBody    = 1 << 1
	targetHeaders = 1 << 2
)

// publishHeaderSize is the fixed-width start of a publishRecord.
const publishHeaderSize = 24

func (r *publishRecord) encode(e *encoder) {
	r.encodeMessage(e)
	r.encodeTargets(e)
}

// encodeMessage writes everything but the targets.
func (r *publishRecord) encodeMessage(e *encoder) {
	e.b = binary.LittleEndian.AppendUint64(e.b, r.TID)
	e.b = binary.LittleEndian.AppendUint64(e.b, r.Seq)
	e.b = binary.LittleEndian.AppendUint64(e.b, r.TopicSeq)
	e.int(r.PublishedAt)
	e.str(r.Topic)
	e.str(r.Group)
	e.str(r.DedupID)
	e.headers(r.Headers)
	e.bytes(r.Body)
}

func (r *publishRecord) encodeTargets(e *encoder) {
	e.uint(uint64(len(r.Targets)))
	for _, t := range r.Targets {
		e.uint(t.QID)
		e.uint(t.Seq)
		e.uint(t.FIFOSeq)
		var flags byte
		if t.Raw {
			flags |= targetRaw
		}
		if t.Body != nil {
			flags |= targetBody
		}
		if len(t.Headers) > 0 {
			flags |= targetHeaders
		}
		e.byte(flags)
		if t.Body != nil {
			e.bytes(t.Body)
		}
		if len(t.Headers) > 0 {
			e.headers(t.Headers)
		}
	}
}

func (r *publishRecord) decode(d *decoder) {
	r.TID = d.fixed64()
	r.Seq = d.fixed64()
	r.TopicSeq = d.fixed64()
	r.PublishedAt = d.int()
	r.Topic = d.str()
	r.Group = d.str()
	r.DedupID = d.str()
	r.Headers = d.headers()
	r.Body = d.raw()
	r.Targets = make([]publishTarget, d.count(4))
	for i := range r.Targets {
		t := publishTarget{QID: d.uint(), Seq: d.uint(), FIFOSeq: d.uint()}
		flags := d.byte()
		t.Raw = flags&targetRaw != 0
		if flags&targetBody != 0 {
			t.Body = d.raw()
			if t.Body == nil {
				t.Body = []byte{}
			}
		}
		if flags&targetHeaders != 0 {
			t.Headers = d.headers()
		}
		if flags&^(targetRaw|targetBody|targetHeaders) != 0 {
			d.fail("publish target flags")
		}
		r.Targets[i] = t
	}
}

// rendered returns the body and headers that target tg of the message
// delivers: its own body if it has one, else the published body (raw) or
// the envelope; the published headers with the target's added.
func (r *publishRecord) rendered(tg publishTarget, id string) ([]byte, map[string]string) {
	body := tg.Body
	switch {
	case body != nil:
	case tg.Raw:
		body = r.Body
	default:
		body = envelope(r, id)
	}
	headers := r.Headers
	if len(tg.Headers) > 0 {
		headers = make(map[string]string, len(r.Headers)+len(tg.Headers))
		for k, v := range r.Headers {
			headers[k] = v
		}
		for k, v := range tg.Headers {
			headers[k] = v
		}
	}
	return body, headers
}

// sizeHint is an upper bound of the encoded size without targets.
func (r *publishRecord) sizeHint() int {
	n := publishHeaderSize + 5*binary.MaxVarintLen64 + len(r.Topic) + len(r.Group) + len(r.DedupID) + len(r.Body)
	n += headersSize(r.Headers)
	return n
}

// target returns the target that became message seq.
func (r *publishRecord) target(seq uint64) (publishTarget, bool) {
	for _, t := range r.Targets {
		if t.Seq == seq {
			return t, true
		}
	}
	return publishTarget{}, false
}
