package sns

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// Publish limits, as SNS documents them.
const (
	// MaxMessageBytes bounds a message and its attributes (256 KiB); it
	// also bounds the whole of a PublishBatch.
	MaxMessageBytes = 256 << 10
	// MaxBatchEntries is how many entries a PublishBatch holds.
	MaxBatchEntries = 10
	// maxSubjectLen bounds a Subject.
	maxSubjectLen = 100
	// maxIDLen bounds MessageGroupId and MessageDeduplicationId.
	maxIDLen = 128
	// maxBatchIDLen bounds a PublishBatch entry's Id.
	maxBatchIDLen = 80
)

// publishInput is one message to publish, as decoded from the request.
type publishInput struct {
	Message    string
	HasSubject bool
	Subject    string
	Structure  string
	GroupID    string
	DedupID    string
	Attrs      map[string]awsapi.MessageAttribute
}

// decodePublishInput reads the message parameters of form (a Publish
// request, or one PublishBatch entry's sub-form).
func decodePublishInput(form url.Values) (publishInput, error) {
	in := publishInput{
		Message:   form.Get("Message"),
		Structure: form.Get("MessageStructure"),
		GroupID:   form.Get("MessageGroupId"),
		DedupID:   form.Get("MessageDeduplicationId"),
	}
	in.Subject, in.HasSubject = form.Get("Subject"), form.Has("Subject")
	attrs, err := decodeMessageAttributes(form, "MessageAttributes.entry")
	if err != nil {
		return in, err
	}
	in.Attrs = attrs
	return in, nil
}

// decodeMessageAttributes reads the SNS query encoding of message
// attributes: prefix.N.Name, prefix.N.Value.DataType,
// prefix.N.Value.StringValue and prefix.N.Value.BinaryValue (base64).
func decodeMessageAttributes(form url.Values, prefix string) (map[string]awsapi.MessageAttribute, error) {
	idx, members, err := awsapi.Indexed(form, prefix)
	if err != nil {
		return nil, snsError(err)
	}
	if len(members) > awsapi.MaxMessageAttributes {
		return nil, invalidValue("MessageAttributes: %d message attributes; the limit is %d", len(members), awsapi.MaxMessageAttributes)
	}
	if len(members) == 0 {
		return nil, nil
	}
	attrs := make(map[string]awsapi.MessageAttribute, len(members))
	for i, m := range members {
		var a awsapi.MessageAttribute
		var name string
		for k, v := range m {
			val := v[0]
			switch k {
			case "Name":
				name = val
			case "Value.DataType":
				a.DataType = val
			case "Value.StringValue":
				a.StringValue = val
			case "Value.BinaryValue":
				b, err := base64.StdEncoding.DecodeString(val)
				if err != nil {
					return nil, invalidValue("%s.%d.Value.BinaryValue is not base64", prefix, idx[i])
				}
				a.BinaryValue = b
			default:
				return nil, invalidParameter("%s.%d.%.64s is not a message attribute field (Name, Value.DataType, Value.StringValue, Value.BinaryValue)", prefix, idx[i], k)
			}
		}
		if name == "" {
			return nil, invalidParameter("%s.%d.Name is missing", prefix, idx[i])
		}
		if a.DataType == "" {
			return nil, invalidValue("The message attribute '%.256s' must contain non-empty message attribute type.", name)
		}
		if _, dup := attrs[name]; dup {
			return nil, invalidValue("The message attribute '%.256s' is given twice.", name)
		}
		attrs[name] = a
	}
	if err := awsapi.ValidateAttributes("MessageAttributes", attrs); err != nil {
		return nil, snsError(err)
	}
	for name, a := range attrs {
		if strings.HasPrefix(a.DataType, "String.Array") {
			if err := checkStringArray(a.StringValue); err != nil {
				return nil, invalidValue("The message attribute '%s' with type 'String.Array' has an invalid value: %s", name, err.Error())
			}
		}
	}
	return attrs, nil
}

// checkStringArray checks a String.Array value: a JSON array of strings,
// numbers, true, false and null, as SNS accepts.
func checkStringArray(v string) error {
	var elems []json.RawMessage
	if err := json.Unmarshal([]byte(v), &elems); err != nil {
		return errors.New("not a JSON array")
	}
	for _, e := range elems {
		if len(e) > 0 && (e[0] == '[' || e[0] == '{') {
			return errors.New("an element is an array or object; allowed are strings, numbers, true, false and null")
		}
	}
	return nil
}

// checkSubject validates a Subject: 1 to 100 printable ASCII characters
// without line breaks, starting with a letter, digit or punctuation.
func checkSubject(s string) error {
	if s == "" || len(s) > maxSubjectLen {
		return invalidParameter("Subject Reason: a subject has 1 to %d characters", maxSubjectLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return invalidParameter("Subject Reason: character %d is not printable ASCII (line breaks and control characters are not allowed)", i)
		}
	}
	if s[0] == ' ' {
		return invalidParameter("Subject Reason: must start with a letter, number or punctuation mark")
	}
	return nil
}

// checkFifoID validates a MessageGroupId or MessageDeduplicationId: 1 to
// 128 letters, digits and punctuation.
func checkFifoID(field, v string) error {
	if v == "" || len(v) > maxIDLen {
		return invalidParameter("%s Reason: must have 1 to %d characters", field, maxIDLen)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= 0x20 || c > 0x7e {
			return invalidParameter("%s Reason: character %d is not a letter, digit or punctuation mark", field, i)
		}
	}
	return nil
}

// buildMessage checks in against topic t and returns the courier message
// to publish: the body (the message, or its "default" with
// MessageStructure=json), the attributes in headers
// (awsapi.AttributesToHeaders) and the reserved headers of the subject
// and per-protocol messages.
func buildMessage(t *topicState, in publishInput) (courier.Message, error) {
	var m courier.Message
	if in.Message == "" {
		return m, invalidParameter("Empty message")
	}
	if !utf8.ValidString(in.Message) {
		return m, invalidParameter("Message Reason: the message is not valid UTF-8")
	}
	if n := len(in.Message) + awsapi.AttributesSize(in.Attrs); n > MaxMessageBytes {
		return m, invalidParameter("Message too long: %d bytes with its attributes; the limit is %d", n, MaxMessageBytes)
	}
	if in.HasSubject {
		if err := checkSubject(in.Subject); err != nil {
			return m, err
		}
	}
	h := awsapi.AttributesToHeaders(in.Attrs, nil)
	body := in.Message
	switch in.Structure {
	case "":
	case "json":
		var per map[string]json.RawMessage
		if err := json.Unmarshal([]byte(in.Message), &per); err != nil {
			return m, invalidParameter("Message Structure - JSON message body failed to parse")
		}
		def, ok := per["default"]
		if !ok {
			return m, invalidParameter("Message Structure - No default entry in JSON message body")
		}
		if err := json.Unmarshal(def, &body); err != nil {
			return m, invalidParameter("Message Structure - the default entry is not a string")
		}
		for proto, raw := range per {
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return m, invalidParameter("Message Structure - the %.64q entry is not a string", proto)
			}
			if v != body && slices.Contains(structureProtocols, proto) {
				if h == nil {
					h = map[string]string{}
				}
				h[protoMsgHeader+proto] = v
			}
		}
		if body == "" {
			return m, invalidParameter("Empty message")
		}
	default:
		return m, invalidParameter("MessageStructure Reason: %.64q is not json", in.Structure)
	}
	if in.HasSubject {
		if h == nil {
			h = map[string]string{}
		}
		h[subjectHeader] = in.Subject
	}
	if t.FIFO {
		if in.GroupID == "" {
			return m, invalidParameter("The MessageGroupId parameter is required for FIFO topics")
		}
		if err := checkFifoID("MessageGroupId", in.GroupID); err != nil {
			return m, err
		}
		switch {
		case in.DedupID != "":
			if err := checkFifoID("MessageDeduplicationId", in.DedupID); err != nil {
				return m, err
			}
		case t.contentDedup():
			sum := sha256.Sum256([]byte(in.Message))
			in.DedupID = hex.EncodeToString(sum[:])
		default:
			return m, invalidParameter("The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
		}
	} else {
		if in.DedupID != "" {
			return m, invalidParameter("MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type")
		}
		if in.GroupID != "" {
			if err := checkFifoID("MessageGroupId", in.GroupID); err != nil {
				return m, err
			}
		}
	}
	m.Body, m.Headers, m.Group, m.DedupID = []byte(body), h, in.GroupID, in.DedupID
	return m, nil
}

// publishTarget resolves the topic of a Publish: TopicArn or TargetArn.
func (s *Service) publishTarget(form url.Values) (string, error) {
	if form.Get("PhoneNumber") != "" {
		return "", invalidParameter("PhoneNumber Reason: courier sends no SMS; publish to a topic")
	}
	topicArn, targetArn := form.Get("TopicArn"), form.Get("TargetArn")
	switch {
	case topicArn != "" && targetArn != "":
		return "", invalidParameter("TopicArn or TargetArn Reason: give only one of them")
	case topicArn != "":
		return s.parseTopicARN("TopicArn", topicArn)
	case targetArn != "":
		return s.parseTopicARN("TargetArn", targetArn)
	}
	return "", invalidParameter("TopicArn or TargetArn Reason: no value for required parameter")
}

// publishResult is Publish's result.
type publishResult struct {
	XMLName        xml.Name `xml:"PublishResult"`
	MessageID      string   `xml:"MessageId"`
	SequenceNumber string   `xml:"SequenceNumber,omitempty"`
}

// publish publishes one message: one courier publish, which stores it
// once and fans it out to every matching subscription.
func (s *Service) publish(ctx context.Context, r *awsapi.Request) (any, error) {
	name, err := s.publishTarget(r.Form)
	if err != nil {
		return nil, err
	}
	in, err := decodePublishInput(r.Form)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, awsapi.Publish, "topic", name); err != nil {
		return nil, err
	}
	t, err := s.topic(ctx, name)
	if err != nil {
		return nil, err
	}
	m, err := buildMessage(t, in)
	if err != nil {
		return nil, err
	}
	res, err := s.env.Broker.Topic(name).PublishBatch(ctx, []courier.Message{m})
	if err == nil && len(res) == 1 && res[0].Err != nil {
		err = res[0].Err
	}
	if err != nil {
		return nil, s.publishError(name, err)
	}
	out := publishResult{MessageID: res[0].ID}
	if t.FIFO {
		out.SequenceNumber = sequenceNumber(res[0].Sequence)
	}
	return out, nil
}

// publishError maps a courier publish error, forgetting a topic that
// another surface deleted.
func (s *Service) publishError(topic string, err error) error {
	if errors.Is(err, courier.ErrNotFound) {
		s.forgetTopic(topic)
		return notFound("Topic does not exist")
	}
	return snsError(err)
}

// batchSuccess and batchFailure are PublishBatch's result entries.
type batchSuccess struct {
	ID             string `xml:"Id"`
	MessageID      string `xml:"MessageId"`
	SequenceNumber string `xml:"SequenceNumber,omitempty"`
}

type batchFailure struct {
	ID          string `xml:"Id"`
	Code        string `xml:"Code"`
	Message     string `xml:"Message"`
	SenderFault bool   `xml:"SenderFault"`
}

// publishBatchResult is PublishBatch's result.
type publishBatchResult struct {
	XMLName    xml.Name       `xml:"PublishBatchResult"`
	Successful []batchSuccess `xml:"Successful>member"`
	Failed     []batchFailure `xml:"Failed>member"`
}

// checkBatchID validates a batch entry Id: 1 to 80 letters, digits, '-'
// and '_'.
func checkBatchID(id string) bool {
	if id == "" || len(id) > maxBatchIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// publishBatch publishes up to MaxBatchEntries messages with one courier
// publish; an entry that fails its checks is reported in Failed and the
// others are published.
func (s *Service) publishBatch(ctx context.Context, r *awsapi.Request) (any, error) {
	name, err := s.parseTopicARN("TopicArn", r.Form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	idx, members, err := awsapi.Indexed(r.Form, "PublishBatchRequestEntries.member")
	if err != nil {
		return nil, snsError(err)
	}
	switch {
	case len(members) == 0:
		return nil, awsapi.Errorf("EmptyBatchRequest", "The batch request doesn't contain any entries.")
	case len(members) > MaxBatchEntries:
		return nil, awsapi.Errorf("TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible: %d; the limit is %d.", len(members), MaxBatchEntries)
	}
	seen := make(map[string]bool, len(members))
	total := 0
	for i, m := range members {
		id := m.Get("Id")
		if !checkBatchID(id) {
			return nil, awsapi.Errorf("InvalidBatchEntryId", "The Id of batch entry %d (%.100q) doesn't abide by the specification: 1 to 80 letters, digits, hyphens and underscores.", idx[i], id)
		}
		if seen[id] {
			return nil, awsapi.Errorf("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id: %s.", id)
		}
		seen[id] = true
		total += len(m.Get("Message"))
		for k, v := range m {
			if strings.HasPrefix(k, "MessageAttributes.") {
				total += len(v[0])
			}
		}
	}
	if total > MaxMessageBytes {
		return nil, awsapi.Errorf("BatchRequestTooLong", "The length of all the messages put together is more than the limit: %d bytes; the limit is %d.", total, MaxMessageBytes)
	}
	if err := s.authorize(ctx, awsapi.Publish, "topic", name); err != nil {
		return nil, err
	}
	t, err := s.topic(ctx, name)
	if err != nil {
		return nil, err
	}
	res := publishBatchResult{Successful: []batchSuccess{}, Failed: []batchFailure{}}
	msgs := make([]courier.Message, 0, len(members))
	ids := make([]string, 0, len(members))
	for _, m := range members {
		in, err := decodePublishInput(m)
		var msg courier.Message
		if err == nil {
			msg, err = buildMessage(t, in)
		}
		if err != nil {
			e := snsError(err)
			res.Failed = append(res.Failed, batchFailure{ID: m.Get("Id"), Code: e.Code, Message: e.Message, SenderFault: !e.Server})
			continue
		}
		msgs = append(msgs, msg)
		ids = append(ids, m.Get("Id"))
	}
	if len(msgs) == 0 {
		return res, nil
	}
	results, err := s.env.Broker.Topic(name).PublishBatch(ctx, msgs)
	if err != nil {
		return nil, s.publishError(name, err)
	}
	for i, rr := range results {
		if rr.Err != nil {
			e := snsError(rr.Err)
			res.Failed = append(res.Failed, batchFailure{ID: ids[i], Code: e.Code, Message: e.Message, SenderFault: !e.Server})
			continue
		}
		ok := batchSuccess{ID: ids[i], MessageID: rr.ID}
		if t.FIFO {
			ok.SequenceNumber = sequenceNumber(rr.Sequence)
		}
		res.Successful = append(res.Successful, ok)
	}
	return res, nil
}
