package rabbitmq

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier/driver"
)

// Headers the driver sets on every message. They share the reserved prefix
// "courier-"; user headers with that prefix, or with RabbitMQ's "x-", or
// longer than an AMQP field name allows, travel in hOverflow.
const (
	hSent     = "courier-sent"  // int64: when the message was stored, Unix ns
	hGroup    = "courier-group" // string: message group
	hDedup    = "courier-dedup" // string: dedup ID
	hBase     = "courier-rc"    // int64: receives before this copy was made
	hFirst    = "courier-frt"   // int64: first receive, Unix ns (on copies)
	hSource   = "courier-src"   // string: queue a dead-lettered message came from
	hTopic    = "courier-topic" // string: topic a message was published to
	hOverflow = "courier-hx"    // bytes: user headers that cannot be AMQP fields
	hTail     = "courier-tail"  // routing flag: deliver to tails of the topic
	hSubFlag  = "courier-s."    // routing flag prefix: deliver to subscription
	xDelivery = "x-delivery-count"

	// maxFieldName is the longest AMQP field-table key (a shortstr).
	maxFieldName = 255
)

// newID returns a random 128-bit message ID in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// reservedHeader reports whether a user header name cannot be an AMQP
// header of its own.
func reservedHeader(k string) bool {
	return len(k) > maxFieldName || strings.HasPrefix(k, "courier-") || strings.HasPrefix(k, "x-")
}

// encodeHeaders stores user headers in t: each as a field of its own when
// it can be one, the rest packed into hOverflow.
func encodeHeaders(t amqp.Table, h map[string]string) {
	var over []byte
	for k, v := range h {
		if reservedHeader(k) {
			over = appendPair(over, k, v)
			continue
		}
		t[k] = v
	}
	if over != nil {
		t[hOverflow] = over
	}
}

func appendPair(b []byte, k, v string) []byte {
	b = binary.AppendUvarint(b, uint64(len(k)))
	b = append(b, k...)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

var errOverflow = errors.New("malformed courier-hx header")

// decodeOverflow adds the headers packed by encodeHeaders to h.
func decodeOverflow(b []byte, h map[string]string) error {
	for len(b) > 0 {
		var kv [2]string
		for i := range kv {
			n, w := binary.Uvarint(b)
			if w <= 0 || n > uint64(len(b)-w) {
				return errOverflow
			}
			kv[i] = string(b[w : w+int(n)])
			b = b[w+int(n):]
		}
		h[kv[0]] = kv[1]
	}
	return nil
}

// decodeHeaders returns the user headers of t: every field outside the
// reserved prefixes whose value reads as text, and the packed ones. A
// message from another client may carry numbers or booleans; they are
// rendered as text. Nested tables and arrays are not user headers.
func decodeHeaders(t amqp.Table) (map[string]string, error) {
	var h map[string]string
	put := func(k, v string) {
		if h == nil {
			h = make(map[string]string, len(t))
		}
		h[k] = v
	}
	for k, v := range t {
		if strings.HasPrefix(k, "courier-") || strings.HasPrefix(k, "x-") {
			continue
		}
		switch v := v.(type) {
		case string:
			put(k, v)
		case []byte:
			put(k, string(v))
		case bool:
			put(k, strconv.FormatBool(v))
		case int8:
			put(k, strconv.FormatInt(int64(v), 10))
		case int16:
			put(k, strconv.FormatInt(int64(v), 10))
		case int32:
			put(k, strconv.FormatInt(int64(v), 10))
		case int64:
			put(k, strconv.FormatInt(v, 10))
		case uint8:
			put(k, strconv.FormatUint(uint64(v), 10))
		case uint16:
			put(k, strconv.FormatUint(uint64(v), 10))
		case float32:
			put(k, strconv.FormatFloat(float64(v), 'g', -1, 32))
		case float64:
			put(k, strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	if over, ok := t[hOverflow].([]byte); ok {
		if h == nil {
			h = make(map[string]string)
		}
		if err := decodeOverflow(over, h); err != nil {
			return h, err
		}
	}
	return h, nil
}

// intHeader reads an integer header of any AMQP integer type.
func intHeader(t amqp.Table, k string) int64 {
	switch v := t[k].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case int16:
		return int64(v)
	case int8:
		return int64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	}
	return 0
}

func strHeader(t amqp.Table, k string) string {
	switch v := t[k].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// newPublishing renders a message to send. sentAt is its store time.
func newPublishing(id string, m *driver.Message, sentAt time.Time) amqp.Publishing {
	t := make(amqp.Table, len(m.Headers)+3)
	t[hSent] = sentAt.UnixNano()
	if m.Group != "" {
		t[hGroup] = m.Group
	}
	if m.DedupID != "" {
		t[hDedup] = m.DedupID
	}
	encodeHeaders(t, m.Headers)
	return amqp.Publishing{
		MessageId:    id,
		DeliveryMode: amqp.Persistent,
		Timestamp:    sentAt,
		Headers:      t,
		Body:         m.Body,
	}
}

// copyPublishing makes a new message from a delivered one, keeping its ID,
// body, headers and store time (for dead-letter moves, redrives and parked
// deliveries). The broker's own headers (x-...) are dropped.
func copyPublishing(d *amqp.Delivery) amqp.Publishing {
	t := make(amqp.Table, len(d.Headers))
	for k, v := range d.Headers {
		if !strings.HasPrefix(k, "x-") {
			t[k] = v
		}
	}
	return amqp.Publishing{
		MessageId:    d.MessageId,
		DeliveryMode: amqp.Persistent,
		Timestamp:    d.Timestamp,
		Headers:      t,
		Body:         d.Body,
		ContentType:  d.ContentType,
	}
}

// receiveCount is how many times the message of d has been delivered, this
// delivery included: the receives recorded on its copy (hBase), the
// broker's count of returns of this copy, and this one.
func receiveCount(d *amqp.Delivery) int {
	return int(intHeader(d.Headers, hBase)+intHeader(d.Headers, xDelivery)) + 1
}

// sentAt is when the message of d was stored.
func sentAt(d *amqp.Delivery) time.Time {
	if ns := intHeader(d.Headers, hSent); ns != 0 {
		return time.Unix(0, ns)
	}
	return d.Timestamp
}

// toDelivery renders d as a courier delivery, without receipt and receive
// times (the caller sets them).
func toDelivery(d *amqp.Delivery) (driver.Delivery, error) {
	h, err := decodeHeaders(d.Headers)
	out := driver.Delivery{
		ID:           d.MessageId,
		Body:         d.Body,
		Headers:      h,
		ReceiveCount: receiveCount(d),
		SentAt:       sentAt(d),
		Group:        strHeader(d.Headers, hGroup),
		DedupID:      strHeader(d.Headers, hDedup),
		SourceQueue:  strHeader(d.Headers, hSource),
	}
	if out.Body == nil {
		out.Body = []byte{}
	}
	if out.ID == "" {
		out.ID = "amqp-" + strconv.FormatUint(d.DeliveryTag, 10)
	}
	return out, err
}
