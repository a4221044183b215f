package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// wsFrame is a frame from a client: an op, the client's request id and
// the op's arguments. One struct holds the arguments of every op; decoding
// refuses the fields an op does not take, naming them. docs/http-api.md
// (WebSocket) lists the fields of each op.
type wsFrame struct {
	Op  string `json:"op"`
	ID  string `json:"id,omitempty"`
	Sub string `json:"sub,omitempty"`

	Topic        string `json:"topic,omitempty"`
	Subscription string `json:"subscription,omitempty"`
	Queue        string `json:"queue,omitempty"`
	Stream       string `json:"stream,omitempty"`
	Bus          string `json:"bus,omitempty"`

	// publish and send: one message (its fields at the top level, as in a
	// REST send) or a batch in Messages. Delay is also nack's.
	httpapi.Message
	Messages []httpapi.Message `json:"messages,omitempty"`
	Records  []httpapi.Record  `json:"records,omitempty"`
	Entries  []httpapi.Event   `json:"entries,omitempty"`

	// subscribe and credit
	Credit       *int                  `json:"credit,omitempty"`
	FilterPolicy json.RawMessage       `json:"filter_policy,omitempty"`
	FilterScope  string                `json:"filter_scope,omitempty"`
	Raw          bool                  `json:"raw,omitempty"`
	Buffer       int                   `json:"buffer,omitempty"`
	Overflow     string                `json:"overflow,omitempty"`
	Visibility   *httpapi.Duration     `json:"visibility,omitempty"`
	Partition    *int                  `json:"partition,omitempty"`
	From         *httpapi.PositionJSON `json:"from,omitempty"`

	// ack, nack, extend
	Receipts []string `json:"receipts,omitempty"`
}

// The ops a client sends.
const (
	wsPublish     = "publish"
	wsSend        = "send"
	wsPutEvents   = "put_events"
	wsAppend      = "append"
	wsSubscribe   = "subscribe"
	wsUnsubscribe = "unsubscribe"
	wsCredit      = "credit"
	wsAck         = "ack"
	wsNack        = "nack"
	wsExtend      = "extend"
	wsPing        = "ping"
)

// wsOps lists the ops in the order the docs give them.
var wsOps = []string{wsPublish, wsSend, wsPutEvents, wsAppend, wsSubscribe, wsUnsubscribe, wsCredit, wsAck, wsNack, wsExtend, wsPing}

// wsFields lists, per op, the fields it takes besides "op" and "id".
var wsFields = map[string][]string{
	wsPublish:     {"topic", "body", "body_base64", "headers", "delay", "dedup_id", "group", "messages"},
	wsSend:        {"queue", "body", "body_base64", "headers", "delay", "dedup_id", "group", "messages"},
	wsPutEvents:   {"bus", "entries"},
	wsAppend:      {"stream", "records"},
	wsSubscribe:   {"sub", "credit", "topic", "subscription", "queue", "stream", "filter_policy", "filter_scope", "raw", "buffer", "overflow", "visibility", "partition", "from"},
	wsUnsubscribe: {"sub"},
	wsCredit:      {"sub", "credit"},
	wsAck:         {"sub", "queue", "topic", "subscription", "receipts"},
	wsNack:        {"sub", "queue", "topic", "subscription", "receipts", "delay"},
	wsExtend:      {"sub", "queue", "topic", "subscription", "receipts", "visibility"},
	wsPing:        {},
}

// present returns the names of the fields that are set, in a fixed order.
func (f *wsFrame) present() []string {
	var out []string
	add := func(name string, set bool) {
		if set {
			out = append(out, name)
		}
	}
	add("sub", f.Sub != "")
	add("topic", f.Topic != "")
	add("subscription", f.Subscription != "")
	add("queue", f.Queue != "")
	add("stream", f.Stream != "")
	add("bus", f.Bus != "")
	add("body", f.Body != nil)
	add("body_base64", f.BodyBase64 != nil)
	add("headers", f.Headers != nil)
	add("delay", f.Delay != 0)
	add("dedup_id", f.DedupID != "")
	add("group", f.Group != "")
	add("messages", f.Messages != nil)
	add("records", f.Records != nil)
	add("entries", f.Entries != nil)
	add("credit", f.Credit != nil)
	add("filter_policy", f.FilterPolicy != nil)
	add("filter_scope", f.FilterScope != "")
	add("raw", f.Raw)
	add("buffer", f.Buffer != 0)
	add("overflow", f.Overflow != "")
	add("visibility", f.Visibility != nil)
	add("partition", f.Partition != nil)
	add("from", f.From != nil)
	add("receipts", f.Receipts != nil)
	return out
}

// wsRequest is a decoded, validated frame with its arguments converted for
// the courier API.
type wsRequest struct {
	frame wsFrame

	msgs      []courier.Message // publish, send
	batch     bool              // the "messages" form
	records   []courier.Record  // append
	events    []driver.Event    // put_events
	eventErrs []error           // per event: the error that refuses it already
	tail      driver.TailOptions
}

// Limits of frame fields.
const (
	wsMaxID  = 256 // request ids, in bytes
	wsMaxSub = 128 // subscription ids, in bytes
)

// decodeWSFrame decodes and validates one frame. Errors are
// *driver.ValidationErrors naming the field ("frame" for the frame as a
// whole); the request's id is returned with them when it could be read,
// so that the error answer carries it.
func decodeWSFrame(data []byte) (*wsRequest, error) {
	req := &wsRequest{}
	f := &req.frame
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(f); err != nil {
		return req, frameJSONError(err, data)
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, driver.Invalid("frame", "unexpected data after the JSON object")
	}
	if f.Op == "" {
		if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
			return req, driver.Invalid("frame", "a frame is a JSON object, not null")
		}
		return req, driver.Invalid("op", "required: one of %s", strings.Join(wsOps, ", "))
	}
	allowed, ok := wsFields[f.Op]
	if !ok {
		return req, driver.Invalid("op", "%q is not an op; use one of %s", truncateText(f.Op), strings.Join(wsOps, ", "))
	}
	if len(f.ID) > wsMaxID {
		return req, driver.Invalid("id", "%d bytes; the limit is %d", len(f.ID), wsMaxID)
	}
	for _, name := range f.present() {
		if !slices.Contains(allowed, name) {
			return req, driver.Invalid(name, "not a field of op %q (it takes %s)", f.Op, fieldList(allowed))
		}
	}
	normalizeFrame(f)
	return req, req.validate()
}

// fieldList names the fields of an op for an error message.
func fieldList(fields []string) string {
	if len(fields) == 0 {
		return "only op and id"
	}
	return "op, id, " + strings.Join(fields, ", ")
}

// frameJSONError turns a JSON error into a ValidationError naming the
// field, as jsonError does for REST bodies; a frame that is not valid
// JSON is field "frame".
func frameJSONError(err error, data []byte) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return driver.Invalid("frame", "malformed JSON at byte %d: %v", se.Offset, err)
	case errors.Is(err, io.EOF):
		return driver.Invalid("frame", "empty frame; expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return driver.Invalid("frame", "JSON ends early")
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return driver.Invalid("frame", "a frame is a JSON object, not %s", te.Value)
	}
	return jsonError(err)
}

// normalizeFrame makes equal frames decode to equal values: filter
// policies and event details compacted, empty maps and lists absent, and
// times in UTC.
func normalizeFrame(f *wsFrame) {
	f.FilterPolicy = compactJSON(f.FilterPolicy)
	f.Message.Headers = nilIfEmpty(f.Message.Headers)
	for i := range f.Messages {
		f.Messages[i].Headers = nilIfEmpty(f.Messages[i].Headers)
	}
	for i := range f.Records {
		f.Records[i].Headers = nilIfEmpty(f.Records[i].Headers)
	}
	for i := range f.Entries {
		e := &f.Entries[i]
		e.Headers = nilIfEmpty(e.Headers)
		if e.Detail = compactJSON(e.Detail); bytes.Equal(e.Detail, []byte("null")) {
			e.Detail = nil // null is absent, as for REST
		}
		if len(e.Resources) == 0 {
			e.Resources = nil
		}
	}
	if f.From != nil && f.From.Kind == driver.FromTime {
		f.From.Time = f.From.Time.UTC()
	}
}

func compactJSON(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw // the decoder checked it; keep it as it came
	}
	return b.Bytes()
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// validate checks the op's fields and converts its arguments.
func (r *wsRequest) validate() error {
	f := &r.frame
	var err error
	switch f.Op {
	case wsPublish, wsSend:
		if f.Op == wsPublish {
			err = required("topic", f.Topic, driver.ValidateTopicName)
		} else {
			err = required("queue", f.Queue, driver.ValidateQueueName)
		}
		if err == nil {
			r.msgs, r.batch, err = frameMessages(f)
		}
	case wsPutEvents:
		if f.Bus != "" {
			err = driver.ValidateBusName("bus", f.Bus)
		}
		if err == nil {
			err = checkBatch(len(f.Entries))
		}
		if err == nil {
			r.events = make([]driver.Event, len(f.Entries))
			r.eventErrs = make([]error, len(f.Entries))
			for i := range f.Entries {
				r.events[i], r.eventErrs[i] = f.Entries[i].Driver(fmt.Sprintf("entries[%d]", i))
			}
		}
	case wsAppend:
		err = required("stream", f.Stream, driver.ValidateStreamName)
		if err == nil {
			r.records, err = frameRecords(f.Records)
		}
	case wsSubscribe:
		err = r.validateSubscribe()
	case wsUnsubscribe:
		err = requiredSub(f.Sub)
	case wsCredit:
		err = requiredSub(f.Sub)
		if err == nil {
			switch {
			case f.Credit == nil:
				err = driver.Invalid("credit", "required: how many more messages the subscription may send")
			case *f.Credit < 1:
				err = driver.Invalid("credit", "%d is out of range; add at least 1", *f.Credit)
			}
		}
	case wsAck, wsNack, wsExtend:
		err = validateSettleTarget(f)
		if err == nil {
			err = driver.ValidateReceipts(f.Receipts)
		}
		if err == nil && f.Op == wsExtend && f.Visibility == nil {
			err = driver.Invalid("visibility", "required: how long the messages stay invisible from now")
		}
	}
	return err
}

// required checks a required name.
func required(field, name string, validate func(field, name string) error) error {
	if name == "" {
		return driver.Invalid(field, "required")
	}
	return validate(field, name)
}

// requiredSub checks the subscription id of unsubscribe and credit.
func requiredSub(sub string) error {
	if sub == "" {
		return driver.Invalid("sub", "required: the id of a subscription of this connection")
	}
	return validateSubID(sub)
}

// validateSubID checks a subscription id: 1 to 128 characters from
// A-Z a-z 0-9 . _ : -.
func validateSubID(sub string) error {
	if len(sub) > wsMaxSub {
		return driver.Invalid("sub", "%d bytes; the limit is %d", len(sub), wsMaxSub)
	}
	for _, c := range []byte(sub) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return driver.Invalid("sub", "%q: use 1 to %d characters from A-Z, a-z, 0-9, '.', '_', ':' and '-'", truncateText(sub), wsMaxSub)
		}
	}
	return nil
}

// frameMessages converts the message of a publish or send: the single form
// (fields at the top level) or the "messages" batch, not both.
func frameMessages(f *wsFrame) ([]courier.Message, bool, error) {
	single := f.Body != nil || f.BodyBase64 != nil || f.Headers != nil || f.Delay != 0 || f.DedupID != "" || f.Group != ""
	if f.Messages == nil {
		m, err := f.Message.Driver("")
		if err != nil {
			return nil, false, err
		}
		return []courier.Message{m}, false, nil
	}
	if single {
		return nil, false, driver.Invalid("messages", "send one message or a \"messages\" batch, not both")
	}
	if len(f.Messages) == 0 {
		return nil, false, driver.Invalid("messages", "must be a non-empty array of messages")
	}
	if len(f.Messages) > driver.MaxBatch {
		return nil, false, driver.TooLarge("messages", "batch has %d messages; the limit is %d", len(f.Messages), driver.MaxBatch)
	}
	msgs := make([]courier.Message, len(f.Messages))
	for i := range f.Messages {
		var err error
		if msgs[i], err = f.Messages[i].Driver(fmt.Sprintf("messages[%d]", i)); err != nil {
			return nil, false, err
		}
	}
	return msgs, true, nil
}

// frameRecords converts the records of an append.
func frameRecords(in []httpapi.Record) ([]courier.Record, error) {
	if len(in) == 0 {
		return nil, driver.Invalid("records", "required: a non-empty array of records")
	}
	if len(in) > driver.MaxBatch {
		return nil, driver.TooLarge("records", "batch has %d records; the limit is %d", len(in), driver.MaxBatch)
	}
	recs := make([]courier.Record, len(in))
	for i := range in {
		var err error
		if recs[i], err = in[i].Driver(fmt.Sprintf("records[%d]", i)); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// validateSettleTarget checks the target of ack, nack and extend: a
// subscription of this connection (sub), a queue, or a durable
// subscription (topic and subscription).
func validateSettleTarget(f *wsFrame) error {
	n := 0
	for _, set := range []bool{f.Sub != "", f.Queue != "", f.Topic != "" || f.Subscription != ""} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return driver.Invalid("sub", "required: the subscription the receipts came from (or \"queue\", or \"topic\" and \"subscription\")")
	case n > 1:
		return driver.Invalid("sub", "name one of \"sub\", \"queue\" or \"topic\" and \"subscription\"")
	case f.Sub != "":
		return validateSubID(f.Sub)
	case f.Queue != "":
		return driver.ValidateQueueName("queue", f.Queue)
	}
	if err := required("topic", f.Topic, driver.ValidateTopicName); err != nil {
		return err
	}
	return required("subscription", f.Subscription, driver.ValidateSubscriptionName)
}

// The kinds of subscription.
const (
	wsSubTail    = "topic"        // an ephemeral subscription of a topic
	wsSubQueue   = "queue"        // a queue, received on the client's behalf
	wsSubDurable = "subscription" // a durable subscription of a topic
	wsSubStream  = "stream"       // a stream partition from a position
)

// kind returns the kind of a subscribe frame's target.
func (f *wsFrame) kind() string {
	switch {
	case f.Stream != "":
		return wsSubStream
	case f.Queue != "":
		return wsSubQueue
	case f.Subscription != "":
		return wsSubDurable
	}
	return wsSubTail
}

// wsSubFields lists the options each kind of subscription takes, besides
// the fields every subscribe takes (wsSubCommon).
var wsSubFields = map[string][]string{
	wsSubTail:    {"filter_policy", "filter_scope", "raw", "buffer", "overflow"},
	wsSubQueue:   {"visibility"},
	wsSubDurable: {"visibility"},
	wsSubStream:  {"partition", "from"},
}

var wsSubCommon = []string{"sub", "credit", "topic", "subscription", "queue", "stream"}

func (r *wsRequest) validateSubscribe() error {
	f := &r.frame
	if f.Sub != "" {
		if err := validateSubID(f.Sub); err != nil {
			return err
		}
	}
	if f.Credit != nil && *f.Credit < 0 {
		return driver.Invalid("credit", "%d is negative; give 0 to start without credit", *f.Credit)
	}
	targets := 0
	for _, set := range []bool{f.Topic != "", f.Queue != "", f.Stream != ""} {
		if set {
			targets++
		}
	}
	switch {
	case targets == 0:
		return driver.Invalid("topic", "required: the target, one of \"topic\" (with \"subscription\" for a durable one), \"queue\" or \"stream\"")
	case targets > 1:
		name := "queue"
		if f.Stream != "" {
			name = "stream"
		}
		return driver.Invalid(name, "subscribe to one of \"topic\", \"queue\" or \"stream\"")
	case f.Subscription != "" && f.Topic == "":
		return driver.Invalid("subscription", "a durable subscription also needs its \"topic\"")
	}
	kind := f.kind()
	for _, name := range f.present() {
		if !slices.Contains(wsSubCommon, name) && !slices.Contains(wsSubFields[kind], name) {
			return driver.Invalid(name, "not an option of a %s subscription (it takes %s)", kind, strings.Join(wsSubFields[kind], ", "))
		}
	}
	switch kind {
	case wsSubTail:
		if err := driver.ValidateTopicName("topic", f.Topic); err != nil {
			return err
		}
		if f.Buffer < 0 || f.Buffer > driver.MaxTailBuffer {
			return driver.Invalid("buffer", "%d is out of range; accepted is 1 to %d", f.Buffer, driver.MaxTailBuffer)
		}
		r.tail = driver.TailOptions{FilterScope: driver.FilterScope(f.FilterScope), Raw: f.Raw, Buffer: f.Buffer, Overflow: driver.Overflow(f.Overflow)}
		if p := f.FilterPolicy; len(p) > 0 && !bytes.Equal(p, []byte("null")) {
			if p[0] != '{' {
				return driver.Invalid("filter_policy", "must be a JSON object")
			}
			r.tail.FilterPolicy = string(p)
		}
		check := r.tail
		if check.Buffer == 0 {
			check.Buffer = 1 // 0 means the connection's default, applied when subscribing
		}
		return check.Normalize()
	case wsSubQueue:
		if err := driver.ValidateQueueName("queue", f.Queue); err != nil {
			return err
		}
	case wsSubDurable:
		if err := driver.ValidateTopicName("topic", f.Topic); err != nil {
			return err
		}
		if err := driver.ValidateSubscriptionName("subscription", f.Subscription); err != nil {
			return err
		}
	case wsSubStream:
		if err := driver.ValidateStreamName("stream", f.Stream); err != nil {
			return err
		}
		if f.Partition != nil && (*f.Partition < 0 || *f.Partition >= driver.MaxPartitions) {
			return driver.Invalid("partition", "%d is out of range; accepted is 0 to %d", *f.Partition, driver.MaxPartitions-1)
		}
		if f.From != nil && f.From.Kind == driver.FromOffset && f.From.Offset < 0 {
			return driver.Invalid("from", "offset %d is negative", f.From.Offset)
		}
	}
	if f.Visibility != nil && (*f.Visibility < 0 || *f.Visibility > httpapi.Duration(driver.MaxVisibilityTimeout)) {
		return driver.Invalid("visibility", "%v is out of range; accepted is 0 (the queue's) to %v", *f.Visibility, driver.MaxVisibilityTimeout)
	}
	return nil
}

// truncateText shortens client text quoted in an error message.
func truncateText(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Frames from the server.

// wsAnswer answers one op: "ok" with the op's result, "error" with the
// error object of the error table (as in a REST error body), "pong"; or,
// with Sub and no ID, "end": the server ended a subscription, and Error
// says why.
type wsAnswer struct {
	Op     string          `json:"op"`
	ID     string          `json:"id,omitempty"`
	Sub    string          `json:"sub,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *httpapi.Error  `json:"error,omitempty"`
	// RetryAfterMs tells a rate-limited client when to send again.
	RetryAfterMs int64 `json:"retry_after_ms,omitempty"`
}

// marshalFrame encodes a server frame without escaping <, > and &.
func marshalFrame(v any) []byte {
	b, err := httpapi.Marshal(v)
	if err != nil {
		// Only a detail or filter that is not JSON could fail, and those
		// were checked; answer something rather than nothing.
		b, _ = httpapi.Marshal(wsAnswer{Op: "error", Error: &httpapi.Error{Code: "internal", Message: "encoding the answer: " + err.Error()}})
	}
	return b
}
