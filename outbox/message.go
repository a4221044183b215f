package outbox

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/driver"
)

// Kind says what a message is published to.
type Kind string

// The kinds of destination.
const (
	Queue Kind = "queue" // Queue.SendBatch
	Topic Kind = "topic" // Topic.PublishBatch
	Bus   Kind = "bus"   // Bus.PutEvents
)

// Message is a message to publish once the transaction that writes it
// commits.
type Message struct {
	// Kind and Destination name where it goes: a queue, topic or bus name.
	// The destination must exist when the relay publishes (until then the
	// relay retries the message).
	Kind        Kind
	Destination string
	// Body is the message body; for a bus, the event's detail, which must
	// be a JSON object.
	Body []byte
	// Headers travel with the message (trace context goes here).
	Headers map[string]string
	// Group is the message group of a FIFO queue or topic (not for buses).
	Group string
	// DedupID is the broker's dedup ID. Empty means "outbox-<random UUID>",
	// unique per outbox row, which makes the relay's republishing after a
	// crash harmless within courier's dedup window (5 minutes). For a bus
	// it becomes the event ID: buses do not dedup, but consumers can key
	// idempotency on it.
	DedupID string
	// Delay postpones a queue message's first delivery (queues only).
	Delay time.Duration
	// Source and DetailType are the event's source and detail-type (buses
	// only; required there).
	Source     string
	DetailType string
}

// validate checks m as the broker would, so that a message the broker
// would refuse for its form never enters the outbox. Whether the
// destination exists, or accepts the size, is known only when publishing.
func (m *Message) validate() error {
	switch m.Kind {
	case Queue:
		if err := driver.ValidateQueueName("destination", m.Destination); err != nil {
			return err
		}
	case Topic:
		if err := driver.ValidateTopicName("destination", m.Destination); err != nil {
			return err
		}
		if m.Delay != 0 {
			return driver.Invalid("delay", "topics deliver at once; set a delivery delay on the subscribed queue instead")
		}
	case Bus:
		if err := driver.ValidateBusName("destination", m.Destination); err != nil {
			return err
		}
		if m.Group != "" || m.Delay != 0 {
			return driver.Invalid("group", "bus events have no group or delay")
		}
		ev := m.event("")
		if err := ev.Validate("message"); err != nil {
			return err
		}
		if len(m.DedupID) > driver.MaxEventIDLen {
			return driver.Invalid("dedup_id", "is %d characters; the limit for an event ID is %d", len(m.DedupID), driver.MaxEventIDLen)
		}
		headersOnly := courier.Message{Headers: m.Headers}
		return driver.ValidateMessage("message", &headersOnly)
	default:
		return driver.Invalid("kind", "%q; use %q, %q or %q", m.Kind, Queue, Topic, Bus)
	}
	msg := m.message(m.DedupID)
	return driver.ValidateMessage("message", &msg)
}

// dedupID is the dedup ID the relay publishes row id of table with: the
// row's, which Write sets to the caller's or to "outbox-<random UUID>", so
// that two services' outboxes (or a table whose identity restarted) never
// share one; rows written before that carry none and fall back to
// table and id.
func (m *Message) dedupID(table string, id int64) string {
	if m.DedupID != "" {
		return m.DedupID
	}
	return "outbox-" + table + "-" + strconv.FormatInt(id, 10)
}

func (m *Message) message(dedupID string) courier.Message {
	return courier.Message{Body: m.Body, Headers: m.Headers, Delay: m.Delay, DedupID: dedupID, Group: m.Group}
}

func (m *Message) event(id string) courier.Event {
	return courier.Event{ID: id, Source: m.Source, DetailType: m.DetailType, Detail: json.RawMessage(m.Body), Headers: m.Headers}
}
