// Package httpapi is the REST/JSON wire format shared by the server and the
// http:// client driver: request and response bodies, durations as strings,
// and the one table that maps courier errors to HTTP statuses and error
// codes and back.
package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/courier-io/courier/driver"
)

// Duration is a time.Duration written as a Go duration string ("30s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string such as "1m30s"; null leaves d
// unchanged (absent). Other input is a *json.UnmarshalTypeError, so that
// the decoder names the field.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: truncate(b) + durationHint, Type: durationType}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: truncate([]byte(strconv.Quote(s))) + durationHint, Type: durationType}
	}
	*d = Duration(v)
	return nil
}

const durationHint = ` (use a duration string such as "500ms", "30s" or "1m30s")`

// durationType is the type of Duration, for recognising its decoding
// errors.
var durationType = reflect.TypeFor[Duration]()

// IsDurationType reports whether t is Duration.
func IsDurationType(t reflect.Type) bool { return t == durationType }

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// QueueAttributes is the JSON form of driver.QueueAttributes. In requests
// every field is optional: absent fields keep their defaults (create) or
// current values (update).
type QueueAttributes struct {
	VisibilityTimeout *Duration `json:"visibility_timeout,omitempty"`
	RetentionPeriod   *Duration `json:"retention_period,omitempty"`
	DeliveryDelay     *Duration `json:"delivery_delay,omitempty"`
	ReceiveWait       *Duration `json:"receive_wait,omitempty"`
	MaxMessageSize    *int      `json:"max_message_size,omitempty"`
	MaxReceives       *int      `json:"max_receives,omitempty"`
	DeadLetterQueue   *string   `json:"dead_letter_queue,omitempty"`
	FIFO              *bool     `json:"fifo,omitempty"`
	ContentBasedDedup *bool     `json:"content_based_dedup,omitempty"`
}

// ApplyTo overwrites the fields of a that are set.
func (j *QueueAttributes) ApplyTo(a *driver.QueueAttributes) {
	if j.VisibilityTimeout != nil {
		a.VisibilityTimeout = time.Duration(*j.VisibilityTimeout)
	}
	if j.RetentionPeriod != nil {
		a.RetentionPeriod = time.Duration(*j.RetentionPeriod)
	}
	if j.DeliveryDelay != nil {
		a.DeliveryDelay = time.Duration(*j.DeliveryDelay)
	}
	if j.ReceiveWait != nil {
		a.ReceiveWait = time.Duration(*j.ReceiveWait)
	}
	if j.MaxMessageSize != nil {
		a.MaxMessageSize = *j.MaxMessageSize
	}
	if j.MaxReceives != nil {
		a.MaxReceives = *j.MaxReceives
	}
	if j.DeadLetterQueue != nil {
		a.DeadLetterQueue = *j.DeadLetterQueue
	}
	if j.FIFO != nil {
		a.FIFO = *j.FIFO
	}
	if j.ContentBasedDedup != nil {
		a.ContentBasedDedup = *j.ContentBasedDedup
	}
}

// AttributesJSON returns the complete JSON form of a.
func AttributesJSON(a driver.QueueAttributes) QueueAttributes {
	vis, ret, delay, wait := Duration(a.VisibilityTimeout), Duration(a.RetentionPeriod), Duration(a.DeliveryDelay), Duration(a.ReceiveWait)
	size, receives, dlq, fifo, cbd := a.MaxMessageSize, a.MaxReceives, a.DeadLetterQueue, a.FIFO, a.ContentBasedDedup
	return QueueAttributes{&vis, &ret, &delay, &wait, &size, &receives, &dlq, &fifo, &cbd}
}

// QueueStats is the JSON form of driver.QueueStats.
type QueueStats struct {
	Visible   int64    `json:"visible"`
	InFlight  int64    `json:"in_flight"`
	Delayed   int64    `json:"delayed"`
	OldestAge Duration `json:"oldest_age"`
}

// QueueInfo is the answer of GET /v1/queues/{name} and PUT.
type QueueInfo struct {
	Name       string          `json:"name"`
	Attributes QueueAttributes `json:"attributes"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	Stats      QueueStats      `json:"stats"`
}

// InfoJSON converts a driver.QueueInfo.
func InfoJSON(i driver.QueueInfo) QueueInfo {
	return QueueInfo{
		Name: i.Name, Attributes: AttributesJSON(i.Attributes), CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt,
		Stats: QueueStats{Visible: i.Stats.Visible, InFlight: i.Stats.InFlight, Delayed: i.Stats.Delayed, OldestAge: Duration(i.Stats.OldestAge)},
	}
}

// Info converts back to a driver.QueueInfo.
func (i QueueInfo) Info() driver.QueueInfo {
	var a driver.QueueAttributes
	i.Attributes.ApplyTo(&a)
	return driver.QueueInfo{
		Name: i.Name, Attributes: a, CreatedAt: i.CreatedAt, UpdatedAt: i.UpdatedAt,
		Stats: driver.QueueStats{Visible: i.Stats.Visible, InFlight: i.Stats.InFlight, Delayed: i.Stats.Delayed, OldestAge: time.Duration(i.Stats.OldestAge)},
	}
}

// QueueList is the answer of GET /v1/queues.
type QueueList struct {
	Queues []string `json:"queues"`
}

// Message is one message to send. Body is text; binary bodies travel in
// BodyBase64 instead (standard encoding). Setting both is an error.
type Message struct {
	Body       *string           `json:"body,omitempty"`
	BodyBase64 *string           `json:"body_base64,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Delay      Duration          `json:"delay,omitempty"`
	DedupID    string            `json:"dedup_id,omitempty"`
	Group      string            `json:"group,omitempty"`
}

// MessageJSON converts a driver.Message, choosing body or body_base64.
func MessageJSON(m driver.Message) Message {
	out := Message{Headers: m.Headers, Delay: Duration(m.Delay), DedupID: m.DedupID, Group: m.Group}
	if utf8.Valid(m.Body) {
		s := string(m.Body)
		out.Body = &s
	} else {
		s := base64.StdEncoding.EncodeToString(m.Body)
		out.BodyBase64 = &s
	}
	return out
}

// Driver converts to a driver.Message; field prefixes error fields ("" for
// none).
func (m *Message) Driver(field string) (driver.Message, error) {
	out := driver.Message{Headers: m.Headers, Delay: time.Duration(m.Delay), DedupID: m.DedupID, Group: m.Group}
	switch {
	case m.Body != nil && m.BodyBase64 != nil:
		return out, driver.Invalid(FieldPath(field, "body_base64"), "set body or body_base64, not both")
	case m.BodyBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*m.BodyBase64)
		if err != nil {
			return out, driver.Invalid(FieldPath(field, "body_base64"), "not standard base64: %v", err)
		}
		out.Body = b
	case m.Body != nil:
		out.Body = []byte(*m.Body)
	default:
		out.Body = []byte{}
	}
	return out, nil
}

// FieldPath joins a field prefix and a name ("messages[2]" + "group").
func FieldPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// SendRequest is the body of POST /v1/queues/{name}/messages: one message,
// or a batch in Messages.
type SendRequest struct {
	Message
	Messages []Message `json:"messages,omitempty"`
}

// SendResult is one entry of a batch answer.
type SendResult struct {
	ID        string `json:"id,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Sequence  uint64 `json:"sequence,omitempty"`
	Error     *Error `json:"error,omitempty"`
}

// SendResponse answers a send: ID (and Duplicate, Sequence) for one
// message; IDs and Results for a batch (a failed entry has an empty ID and
// its Error in Results).
type SendResponse struct {
	ID        string       `json:"id,omitempty"`
	Duplicate bool         `json:"duplicate,omitempty"`
	Sequence  uint64       `json:"sequence,omitempty"`
	IDs       []string     `json:"ids,omitempty"`
	Results   []SendResult `json:"results,omitempty"`
}

// ReceiveRequest is the body of POST /v1/queues/{name}/receive. Wait
// absent means the queue's receive wait; "0s" returns at once.
type ReceiveRequest struct {
	Max        *int      `json:"max,omitempty"`
	Wait       *Duration `json:"wait,omitempty"`
	Visibility Duration  `json:"visibility,omitempty"`
}

// Driver converts to a driver.ReceiveRequest; an explicit max of 0 or less
// is an error (absent means 1).
func (r ReceiveRequest) Driver() (driver.ReceiveRequest, error) {
	out := driver.ReceiveRequest{Visibility: time.Duration(r.Visibility)}
	if r.Max != nil {
		if *r.Max < 1 || *r.Max > driver.MaxBatch {
			return out, driver.Invalid("max", "%d is out of range; accepted is 1 to %d", *r.Max, driver.MaxBatch)
		}
		out.Max = *r.Max
	}
	if r.Wait != nil {
		out.Wait = time.Duration(*r.Wait)
		if out.Wait == 0 {
			out.Wait = driver.NoWait
		}
	}
	return out, out.Validate()
}

// Delivery is one received message.
type Delivery struct {
	ID              string            `json:"id"`
	Body            *string           `json:"body,omitempty"`
	BodyBase64      *string           `json:"body_base64,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Receipt         string            `json:"receipt"`
	ReceiveCount    int               `json:"receive_count"`
	SentAt          time.Time         `json:"sent_at"`
	FirstReceivedAt time.Time         `json:"first_received_at"`
	Group           string            `json:"group,omitempty"`
	DedupID         string            `json:"dedup_id,omitempty"`
	Sequence        uint64            `json:"sequence,omitempty"`
	SourceQueue     string            `json:"source_queue,omitempty"`
}

// DeliveryJSON converts a driver.Delivery.
func DeliveryJSON(d driver.Delivery) Delivery {
	m := MessageJSON(driver.Message{Body: d.Body})
	return Delivery{
		ID: d.ID, Body: m.Body, BodyBase64: m.BodyBase64, Headers: d.Headers, Receipt: d.Receipt,
		ReceiveCount: d.ReceiveCount, SentAt: d.SentAt, FirstReceivedAt: d.FirstReceivedAt,
		Group: d.Group, DedupID: d.DedupID, Sequence: d.Sequence, SourceQueue: d.SourceQueue,
	}
}

// Driver converts back to a driver.Delivery.
func (d Delivery) Driver() (driver.Delivery, error) {
	m := Message{Body: d.Body, BodyBase64: d.BodyBase64}
	dm, err := m.Driver("body")
	if err != nil {
		return driver.Delivery{}, err
	}
	return driver.Delivery{
		ID: d.ID, Body: dm.Body, Headers: d.Headers, Receipt: d.Receipt, ReceiveCount: d.ReceiveCount,
		SentAt: d.SentAt, FirstReceivedAt: d.FirstReceivedAt, Group: d.Group, DedupID: d.DedupID,
		Sequence: d.Sequence, SourceQueue: d.SourceQueue,
	}, nil
}

// ReceiveResponse answers a receive.
type ReceiveResponse struct {
	Messages []Delivery `json:"messages"`
}

// SettleRequest is the body of ack, nack and extend. Delay is nack's
// (default 0s: visible at once); Visibility is extend's (required).
type SettleRequest struct {
	Receipts   []string  `json:"receipts"`
	Delay      *Duration `json:"delay,omitempty"`
	Visibility *Duration `json:"visibility,omitempty"`
}

// SettleFailure is one receipt that could not be settled.
type SettleFailure struct {
	Index int `json:"index"`
	Error
}

// SettleResponse answers ack, nack and extend: the receipts that failed
// (empty when all succeeded).
type SettleResponse struct {
	Failed []SettleFailure `json:"failed"`
}

// RedriveRequest is the body of POST /v1/queues/{dlq}/redrive (optional).
type RedriveRequest struct {
	Max         int    `json:"max,omitempty"`
	Rate        int    `json:"rate,omitempty"`
	Destination string `json:"destination,omitempty"`
}

// RedriveResponse answers a redrive.
type RedriveResponse struct {
	Moved int `json:"moved"`
}

// Capabilities answers GET /v1/capabilities: the server backend's
// capabilities.
type Capabilities struct {
	Queues     bool `json:"queues"`
	FIFO       bool `json:"fifo"`
	Dedup      bool `json:"dedup"`
	Delay      bool `json:"delay"`
	DeadLetter bool `json:"dead_letter"`
	Redrive    bool `json:"redrive"`
	LongPoll   bool `json:"long_poll"`
	Persistent bool `json:"persistent"`
	Topics     bool `json:"topics"`
	Push       bool `json:"push"`
	Streams    bool `json:"streams"`
	Buses      bool `json:"buses"`
}

// Marshal encodes v as JSON without escaping <, > and &, so that text such
// as a filter policy's {"numeric": [">", 1]} travels byte for byte.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// PeekedMessage is one message of the answer of GET
// /v1/queues/{name}/peek: a delivery without a receipt, its state and,
// for a delayed or in-flight message, when it becomes visible.
type PeekedMessage struct {
	Delivery
	State     string     `json:"state"`
	VisibleAt *time.Time `json:"visible_at,omitempty"`
}

// PeekResponse is the answer of GET /v1/queues/{name}/peek.
type PeekResponse struct {
	Messages []PeekedMessage `json:"messages"`
}

// PeekedJSON converts peeked messages.
func PeekedJSON(ms []driver.PeekedMessage) PeekResponse {
	out := PeekResponse{Messages: make([]PeekedMessage, len(ms))}
	for i, m := range ms {
		out.Messages[i] = PeekedMessage{Delivery: DeliveryJSON(m.Delivery), State: m.State}
		if !m.VisibleAt.IsZero() {
			at := m.VisibleAt
			out.Messages[i].VisibleAt = &at
		}
	}
	return out
}

// Driver converts peeked messages back.
func (r PeekResponse) Driver() ([]driver.PeekedMessage, error) {
	out := make([]driver.PeekedMessage, len(r.Messages))
	for i, m := range r.Messages {
		d, err := m.Delivery.Driver()
		if err != nil {
			return nil, err
		}
		out[i] = driver.PeekedMessage{Delivery: d, State: m.State}
		if m.VisibleAt != nil {
			out[i].VisibleAt = *m.VisibleAt
		}
	}
	return out, nil
}

// TestFilterRequest is the body of POST /v1/topics/{name}/test-filter: a
// filter policy (a JSON object), its scope, and a message to test.
type TestFilterRequest struct {
	FilterPolicy json.RawMessage `json:"filter_policy"`
	FilterScope  string          `json:"filter_scope,omitempty"`
	Message      Message         `json:"message"`
}

// TestFilterResponse answers a filter test.
type TestFilterResponse struct {
	Match bool `json:"match"`
}
