package driver

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Envelope is the body of a topic message delivered to a subscription
// without Raw (docs/topics.md): the published message with its topic, ID
// and time. Every backend renders it with EncodeEnvelope, so consumers
// read the same JSON whatever the driver.
type Envelope struct {
	Type       string            `json:"type"` // "Notification"
	MessageID  string            `json:"message_id"`
	Topic      string            `json:"topic"`
	Timestamp  time.Time         `json:"timestamp"`
	Sequence   uint64            `json:"sequence,omitempty"` // position in a FIFO topic
	Group      string            `json:"group,omitempty"`
	DedupID    string            `json:"dedup_id,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Body       *string           `json:"body,omitempty"`        // a UTF-8 body, as text
	BodyBase64 string            `json:"body_base64,omitempty"` // any other body
}

// EncodeEnvelope renders the envelope of a published message: env's
// fields (Type is set to "Notification", Timestamp to UTC) and body, as
// text when it is UTF-8 and in base64 otherwise.
func EncodeEnvelope(env Envelope, body []byte) []byte {
	env.Type = "Notification"
	env.Timestamp = env.Timestamp.UTC()
	env.Body, env.BodyBase64 = nil, ""
	if utf8.Valid(body) {
		s := string(body)
		env.Body = &s
	} else {
		env.BodyBase64 = base64.StdEncoding.EncodeToString(body)
	}
	b, _ := json.Marshal(env) // strings, a map of strings, a time and numbers
	return b
}
