package sns

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"unicode/utf8"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/driver"
)

// Reserved headers (awsapi.ReservedHeaderPrefix) that Publish adds to a
// message: its Subject, and with MessageStructure=json the messages for
// the protocols that have their own (the body holds "default").
const (
	subjectHeader  = awsapi.ReservedHeaderPrefix + "sns-subject"
	protoMsgHeader = awsapi.ReservedHeaderPrefix + "sns-message-" // + protocol
)

// structureProtocols are the MessageStructure=json keys courier delivers
// by; the others ("email", "lambda", "APNS", ...) are accepted and unused.
var structureProtocols = []string{"sqs", "http", "https"}

// message is an SNS message as subscribers receive it: a Notification or
// a SubscriptionConfirmation, with its fields in SNS's order.
type message struct {
	Type              string                   `json:"Type"`
	MessageID         string                   `json:"MessageId"`
	SequenceNumber    string                   `json:"SequenceNumber,omitempty"`
	Token             string                   `json:"Token,omitempty"`
	TopicArn          string                   `json:"TopicArn"`
	Subject           *string                  `json:"Subject,omitempty"`
	Message           string                   `json:"Message"`
	SubscribeURL      string                   `json:"SubscribeURL,omitempty"`
	Timestamp         string                   `json:"Timestamp"`
	SignatureVersion  string                   `json:"SignatureVersion"`
	Signature         string                   `json:"Signature"`
	SigningCertURL    string                   `json:"SigningCertURL"`
	UnsubscribeURL    string                   `json:"UnsubscribeURL,omitempty"`
	MessageAttributes map[string]jsonAttribute `json:"MessageAttributes,omitempty"`
}

// jsonAttribute is a message attribute in a notification.
type jsonAttribute struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// signAndEncode signs m with SignatureVersion version and returns its
// JSON, with '<', '>' and '&' unescaped as SNS sends them.
func (s *Service) signAndEncode(m *message, version string) []byte {
	if version == "" {
		version = "1"
	}
	m.SignatureVersion = version
	fields := map[string]string{"Type": m.Type, "MessageId": m.MessageID, "TopicArn": m.TopicArn, "Message": m.Message,
		"Timestamp": m.Timestamp}
	if m.Subject != nil {
		fields["Subject"] = *m.Subject
	}
	if m.Type != "Notification" {
		fields["Token"], fields["SubscribeURL"] = m.Token, m.SubscribeURL
	}
	sig, err := s.sign(version, canonicalString(fields))
	if err != nil {
		s.log.Error("sns: signing a message", "topic_arn", m.TopicArn, "msg_id", m.MessageID, "err", err)
	}
	m.Signature = sig
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(m) // strings and a map of strings
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// decodeEnvelope parses courier's envelope of a topic message, returning
// false for a body that is not one.
func decodeEnvelope(body []byte) (driver.Envelope, []byte, bool) {
	var env driver.Envelope
	if !bytes.HasPrefix(body, []byte(`{"type":"Notification"`)) || json.Unmarshal(body, &env) != nil || env.Topic == "" {
		return env, nil, false
	}
	var msg []byte
	switch {
	case env.Body != nil:
		msg = []byte(*env.Body)
	case env.BodyBase64 != "":
		b, err := base64.StdEncoding.DecodeString(env.BodyBase64)
		if err != nil {
			return env, nil, false
		}
		msg = b
	}
	return env, msg, true
}

// notification renders the SNS Notification of a topic message (its
// courier envelope and body) for sub, delivered over protocol.
func (s *Service) notification(sub *subState, env *driver.Envelope, body []byte, protocol, baseURL string) []byte {
	m := message{
		Type:           "Notification",
		MessageID:      env.MessageID,
		TopicArn:       s.topicARN(env.Topic),
		Message:        messageFor(env.Headers, body, protocol),
		Timestamp:      formatTime(env.Timestamp),
		SigningCertURL: baseURL + SigningCertPath,
		UnsubscribeURL: baseURL + "/?Action=Unsubscribe&SubscriptionArn=" + url.QueryEscape(s.subARN(sub)),
	}
	if env.Sequence != 0 {
		m.SequenceNumber = sequenceNumber(env.Sequence)
	}
	if subj, ok := env.Headers[subjectHeader]; ok {
		m.Subject = &subj
	}
	if attrs := awsapi.HeadersToAttributes(env.Headers); len(attrs) > 0 {
		m.MessageAttributes = make(map[string]jsonAttribute, len(attrs))
		for name, a := range attrs {
			v := a.StringValue
			if a.BinaryValue != nil {
				v = base64.StdEncoding.EncodeToString(a.BinaryValue)
			}
			m.MessageAttributes[name] = jsonAttribute{Type: a.DataType, Value: v}
		}
	}
	return s.signAndEncode(&m, s.signatureVersion(env.Topic))
}

// messageFor returns the message of a delivery over protocol: the
// protocol's own message of a MessageStructure=json publish, else the
// body.
func messageFor(h map[string]string, body []byte, protocol string) string {
	if v, ok := h[protoMsgHeader+protocol]; ok {
		return v
	}
	if utf8.Valid(body) {
		return string(body)
	}
	return base64.StdEncoding.EncodeToString(body)
}

// rawBody returns the body of a raw delivery over protocol.
func rawBody(h map[string]string, body []byte, protocol string) []byte {
	if v, ok := h[protoMsgHeader+protocol]; ok {
		return []byte(v)
	}
	return body
}

// sequenceNumber formats a FIFO topic's sequence as SNS does: a decimal
// of 20 digits.
func sequenceNumber(seq uint64) string { return fmt.Sprintf("%020d", seq) }

// signatureVersion returns the SignatureVersion of topic ("1" unless set).
func (s *Service) signatureVersion(topic string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.topics[topic]; t != nil && t.Attrs["SignatureVersion"] != "" {
		return t.Attrs["SignatureVersion"]
	}
	return "1"
}

// RenderNotification implements awsapi.NotificationRenderer: for a
// message that a topic delivered without raw delivery into queue through
// an SNS "sqs" subscription, it returns the SNS notification JSON
// (Type, MessageId, [SequenceNumber], TopicArn, [Subject], Message,
// Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL,
// [MessageAttributes]), signed with the service's key. Other deliveries
// (raw, courier-native subscriptions, plain queue messages) return false.
func (s *Service) RenderNotification(baseURL, queue string, d *courier.Delivery) ([]byte, bool) {
	env, body, ok := decodeEnvelope(d.Body)
	if !ok {
		return nil, false
	}
	s.mu.RLock()
	sub := s.subs[s.byQueue[queueKey(env.Topic, queue)]]
	s.mu.RUnlock()
	if sub == nil || sub.Protocol != "sqs" || sub.raw() {
		return nil, false
	}
	return s.notification(sub, &env, body, "sqs", baseURL), true
}
