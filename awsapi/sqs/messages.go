package sqs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

// AWS limits of messages.
const (
	maxBatchEntries     = 10
	maxBatchPayload     = 1 << 20 // sum of a batch's message sizes
	maxBatchIDLen       = 80
	maxDedupLen         = 128
	maxReceive          = 10
	maxWaitSeconds      = 20
	maxVisibilitySecond = 43200
	maxDelaySeconds     = 900
	attemptWindow       = 5 * time.Minute
	maxAttempts         = 10000    // remembered ReceiveRequestAttemptIds
	maxAttemptBytes     = 64 << 20 // size of the messages they hold
)

// Reserved headers of SQS messages.
const (
	// traceHeader holds the AWSTraceHeader system attribute.
	traceHeader = awsapi.ReservedHeaderPrefix + "sqs-trace"
	// dedupHeader holds the MessageDeduplicationId as sent when the
	// courier dedup ID is derived from it (DeduplicationScope
	// messageGroup).
	dedupHeader = awsapi.ReservedHeaderPrefix + "sqs-dedup-id"
)

// System attribute names of ReceiveMessage.
var systemAttrs = map[string]bool{
	"All": true, "SenderId": true, "SentTimestamp": true, "ApproximateReceiveCount": true,
	"ApproximateFirstReceiveTimestamp": true, "SequenceNumber": true, "MessageDeduplicationId": true,
	"MessageGroupId": true, "AWSTraceHeader": true, "DeadLetterQueueSourceArn": true,
}

// Receipt handles wrap courier's receipt with the queue name and a MAC,
// so that a handle this endpoint did not issue (or of another queue) is
// ReceiptHandleIsInvalid, while a handle it issued whose message was
// received again since is recognised as stale.

const macLen = 12

func (s *Service) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write(payload)
	return h.Sum(nil)[:macLen]
}

// encodeReceipt returns the receipt handle of courier receipt r of queue.
func (s *Service) encodeReceipt(queue, r string) string {
	payload := make([]byte, 0, len(queue)+1+len(r)+macLen)
	payload = append(append(append(payload, queue...), 0), r...)
	return base64.RawURLEncoding.EncodeToString(append(payload, s.mac(payload)...))
}

// decodeReceipt returns the courier receipt of a handle of queue.
func (s *Service) decodeReceipt(queue, handle string) (string, error) {
	if len(handle) > 1024 {
		return "", errReceiptInvalid(handle)
	}
	b, err := base64.RawURLEncoding.DecodeString(handle)
	if err != nil || len(b) <= macLen {
		return "", errReceiptInvalid(handle)
	}
	payload, sum := b[:len(b)-macLen], b[len(b)-macLen:]
	if !hmac.Equal(sum, s.mac(payload)) {
		return "", errReceiptInvalid(handle)
	}
	q, r, ok := strings.Cut(string(payload), "\x00")
	if !ok || q != queue || r == "" {
		return "", errReceiptInvalid(handle)
	}
	return r, nil
}

// validBodyChar reports whether r is allowed in a message body (XML 1.0
// characters, as AWS documents).
func validBodyChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// checkChars refuses text with characters outside AWS's allowed set.
func checkChars(where, s string) error {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || !validBodyChar(r) {
			return &awsapi.Error{Code: "InvalidMessageContents", Type: "InvalidMessageContents",
				Message: fmt.Sprintf("Invalid binary character '#x%X' was found in %s at byte %d; the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", s[i], where, i)}
		}
		i += n
	}
	return nil
}

// checkToken checks a MessageGroupId, MessageDeduplicationId or
// ReceiveRequestAttemptId: 1..128 letters, digits and punctuation.
func checkToken(param, v string) error {
	if v == "" || len(v) > maxDedupLen {
		return errInvalidParam("Value %q for parameter %s is invalid. Reason: it must be 1 to %d characters long.", awsapi.Truncate(v, 140), param, maxDedupLen)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e {
			return errInvalidParam("Value %q for parameter %s is invalid. Reason: character %q at %d; allowed are alphanumeric characters and punctuation.", awsapi.Truncate(v, 140), param, c, i)
		}
	}
	return nil
}

// prepared is a validated message to send, with the digests of its
// response.
type prepared struct {
	msg               courier.Message
	md5Body, md5Attrs string
	md5Sys            string
}

// prepareSend validates one message for queue st and builds the courier
// message.
func (c *call) prepareSend(st *queueState, f *sendFields) (prepared, error) {
	var p prepared
	if f.MessageBody == nil || *f.MessageBody == "" {
		return p, errMissing("MessageBody")
	}
	body := *f.MessageBody
	if err := checkChars("the message body", body); err != nil {
		return p, err
	}
	attrs, err := attributes("MessageAttributes", f.MessageAttributes)
	if err != nil {
		return p, err
	}
	if err := awsapi.ValidateAttributes("MessageAttributes", attrs); err != nil {
		return p, err
	}
	for name, a := range attrs {
		if err := checkChars("message attribute "+name, a.StringValue); err != nil {
			return p, err
		}
	}
	sys, err := attributes("MessageSystemAttributes", f.MessageSystemAttributes)
	if err != nil {
		return p, err
	}
	for name, a := range sys {
		if name != "AWSTraceHeader" {
			return p, errInvalidParam("Message system attribute name %q is invalid; the only one a sender sets is AWSTraceHeader.", awsapi.Truncate(name, 256))
		}
		if a.DataType != "String" || a.StringValue == "" || len(a.BinaryValue) > 0 {
			return p, errInvalidParam("Message system attribute AWSTraceHeader must be a non-empty String.")
		}
	}
	size := len(body) + awsapi.AttributesSize(attrs) + awsapi.AttributesSize(sys)
	if limit := st.info.Attributes.MaxMessageSize; size > limit {
		return p, errInvalidParam("One or more parameters are invalid. Reason: Message must be shorter than %d bytes (this one is %d: body plus attributes).", limit, size)
	}
	fifo := st.fifo()
	if f.DelaySeconds != nil {
		d := *f.DelaySeconds
		switch {
		case d < 0 || d > maxDelaySeconds:
			return p, errInvalidParam("Value %d for parameter DelaySeconds is invalid. Reason: must be between 0 and %d, if provided.", d, maxDelaySeconds)
		case fifo && d > 0:
			return p, errInvalidParam("Value %d for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type (FIFO queues take no per-message delay; set the queue's DelaySeconds).", d)
		}
		p.msg.Delay = time.Duration(d) * time.Second
	}
	if f.MessageGroupId != nil {
		if err := checkToken("MessageGroupId", *f.MessageGroupId); err != nil {
			return p, err
		}
		p.msg.Group = *f.MessageGroupId
	}
	var dedupID string
	if f.MessageDeduplicationId != nil {
		if !fifo {
			return p, errInvalidParam("The request include parameter MessageDeduplicationId that is not valid for this queue type (only FIFO queues deduplicate).")
		}
		if err := checkToken("MessageDeduplicationId", *f.MessageDeduplicationId); err != nil {
			return p, err
		}
		dedupID = *f.MessageDeduplicationId
	}
	h := awsapi.AttributesToHeaders(attrs, nil)
	if fifo {
		if p.msg.Group == "" {
			return p, errMissing("MessageGroupId")
		}
		if dedupID == "" {
			if !st.info.Attributes.ContentBasedDedup {
				return p, errInvalidParam("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			sum := sha256.Sum256([]byte(body))
			dedupID = hex.EncodeToString(sum[:])
		}
		p.msg.DedupID = dedupID
		if st.dedupScope() == "messageGroup" {
			sum := sha256.Sum256([]byte(p.msg.Group + "\x00" + dedupID))
			p.msg.DedupID = "mg-" + hex.EncodeToString(sum[:])
			h = setHeader(h, dedupHeader, dedupID)
		}
	}
	if t, ok := sys["AWSTraceHeader"]; ok {
		h = setHeader(h, traceHeader, t.StringValue)
	}
	p.msg.Body = []byte(body)
	p.msg.Headers = h
	p.md5Body = awsapi.MD5Hex(p.msg.Body)
	p.md5Attrs = awsapi.MD5OfAttributes(attrs)
	p.md5Sys = awsapi.MD5OfAttributes(sys)
	return p, nil
}

func setHeader(h map[string]string, k, v string) map[string]string {
	if h == nil {
		h = map[string]string{}
	}
	h[k] = v
	return h
}

// sequenceNumber formats a FIFO sequence number as SQS does (a decimal
// string; zero-padded so that they sort).
func sequenceNumber(seq uint64) string {
	if seq == 0 {
		return ""
	}
	return fmt.Sprintf("%020d", seq)
}

// sendError translates the error of one message of a send.
func (s *Service) sendError(err error) error {
	if errors.Is(err, courier.ErrTooLarge) {
		return errInvalidParam("One or more parameters are invalid. Reason: %v (courier counts the message's attributes as stored headers, with Binary values in base64).", err)
	}
	return s.translate(err)
}

func (c *call) sendMessage() (any, error) {
	var in sendMessageInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	st, err := c.authorizedSendQueue(name)
	if err != nil {
		return nil, err
	}
	p, err := c.prepareSend(st, &in.sendFields)
	if err != nil {
		return nil, err
	}
	res, err := c.s.b.Queue(name).SendBatch(c.ctx(), []courier.Message{p.msg})
	if err != nil {
		return nil, c.s.sendError(err)
	}
	if res[0].Err != nil {
		return nil, c.s.sendError(res[0].Err)
	}
	return sendMessageResult{sentMessage: p.sent(res[0])}, nil
}

// sent is what the response says of p, sent as r.
func (p *prepared) sent(r courier.SendResult) sentMessage {
	return sentMessage{MessageId: r.ID, MD5OfMessageBody: p.md5Body, MD5OfMessageAttributes: p.md5Attrs,
		MD5OfMessageSystemAttributes: p.md5Sys, SequenceNumber: sequenceNumber(r.Sequence)}
}

func tooManyEntries(n int) error {
	return errBatch("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "TooManyEntriesInBatchRequest", "Maximum number of entries per request are %d. You have sent %d.", maxBatchEntries, n)
}

// checkBatchIDs checks a batch's entry IDs: 1..10 entries, each ID valid
// and distinct.
func checkBatchIDs(ids []string) error {
	switch {
	case len(ids) == 0:
		return errBatch("AWS.SimpleQueueService.EmptyBatchRequest", "EmptyBatchRequest", "There should be at least one entry in the request.")
	case len(ids) > maxBatchEntries:
		return tooManyEntries(len(ids))
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		ok := id != "" && len(id) <= maxBatchIDLen
		for i := 0; i < len(id) && ok; i++ {
			c := id[i]
			ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		}
		if !ok {
			return errBatch("AWS.SimpleQueueService.InvalidBatchEntryId", "InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most %d letters long; %q is not such an id.", maxBatchIDLen, awsapi.Truncate(id, 100))
		}
		if seen[id] {
			return errBatch("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "BatchEntryIdsNotDistinct", "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

// failure is the batch result of an entry that failed with err.
func (s *Service) failure(id string, err error) batchResultError {
	e := awsapi.AsError(s.translate(err))
	return batchResultError{Id: id, SenderFault: !e.Server, Code: e.Code, Message: e.Message}
}

func (c *call) sendMessageBatch() (any, error) {
	var in sendMessageBatchInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := checkBatchIDs(ids); err != nil {
		return nil, err
	}
	st, err := c.authorizedSendQueue(name)
	if err != nil {
		return nil, err
	}
	out := sendMessageBatchResult{Successful: []sendBatchResultEntry{}, Failed: []batchResultError{}}
	var msgs []courier.Message
	var preps []prepared
	var sentIDs []string
	total := 0
	for i := range in.Entries {
		e := &in.Entries[i]
		if e.MessageBody != nil {
			total += len(*e.MessageBody)
		}
		for n, a := range e.MessageAttributes {
			total += len(n) + len(a.DataType) + len(a.BinaryValue)
			if a.StringValue != nil {
				total += len(*a.StringValue)
			}
		}
	}
	if total > maxBatchPayload {
		return nil, errBatch("AWS.SimpleQueueService.BatchRequestTooLong", "BatchRequestTooLong", "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", maxBatchPayload, total)
	}
	for i := range in.Entries {
		e := &in.Entries[i]
		p, err := c.prepareSend(st, &e.sendFields)
		if err != nil {
			out.Failed = append(out.Failed, c.s.failure(e.Id, err))
			continue
		}
		msgs = append(msgs, p.msg)
		preps = append(preps, p)
		sentIDs = append(sentIDs, e.Id)
	}
	if len(msgs) == 0 {
		return out, nil
	}
	res, err := c.s.b.Queue(name).SendBatch(c.ctx(), msgs)
	if err != nil {
		return nil, c.s.sendError(err)
	}
	for i, r := range res {
		if r.Err != nil {
			out.Failed = append(out.Failed, c.s.failure(sentIDs[i], c.s.sendError(r.Err)))
			continue
		}
		out.Successful = append(out.Successful, sendBatchResultEntry{Id: sentIDs[i], sentMessage: preps[i].sent(r)})
	}
	return out, nil
}

// selection is what a ReceiveMessage asks to see of each message.
type selection struct {
	allSystem bool
	system    map[string]bool
	allAttrs  bool
	attrs     map[string]bool
	prefixes  []string
}

// newSelection checks and compiles the attribute names of a receive.
func newSelection(in *receiveMessageInput) (selection, error) {
	sel := selection{system: map[string]bool{}, attrs: map[string]bool{}}
	for _, list := range [][]string{in.AttributeNames, in.MessageSystemAttributeNames} {
		for _, n := range list {
			if !systemAttrs[n] {
				return sel, errAttrName("Unknown Attribute %s.", awsapi.Truncate(n, 128))
			}
			if n == "All" {
				sel.allSystem = true
			}
			sel.system[n] = true
		}
	}
	for _, n := range in.MessageAttributeNames {
		switch {
		case n == "All" || n == ".*":
			sel.allAttrs = true
		case strings.HasSuffix(n, ".*"):
			prefix := strings.TrimSuffix(n, "*")
			if err := awsapi.ValidateAttributeName("MessageAttributeNames", strings.TrimSuffix(prefix, ".")); err != nil {
				return sel, err
			}
			sel.prefixes = append(sel.prefixes, prefix)
		default:
			if err := awsapi.ValidateAttributeName("MessageAttributeNames", n); err != nil {
				return sel, err
			}
			sel.attrs[n] = true
		}
	}
	return sel, nil
}

func (sel *selection) wantSystem(n string) bool { return sel.allSystem || sel.system[n] }

// anyAttrs reports whether the receive asked for any message attribute.
func (sel *selection) anyAttrs() bool {
	return sel.allAttrs || len(sel.attrs) > 0 || len(sel.prefixes) > 0
}

func (sel *selection) wantAttr(n string) bool {
	if sel.allAttrs || sel.attrs[n] {
		return true
	}
	for _, p := range sel.prefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// render turns a delivery into a received message.
func (c *call) render(st *queueState, d *courier.Delivery, sel *selection) message {
	body := d.Body
	var attrs map[string]awsapi.MessageAttribute
	rendered := false
	if n := c.s.env.Notifications; n != nil {
		if b, ok := n.RenderNotification(c.r.BaseURL, st.name, d); ok {
			body, rendered = b, true
		}
	}
	if !rendered && sel.anyAttrs() {
		for k, a := range awsapi.HeadersToAttributes(d.Headers) {
			if sel.wantAttr(k) {
				if attrs == nil {
					attrs = map[string]awsapi.MessageAttribute{}
				}
				attrs[k] = a
			}
		}
	}
	if !utf8.Valid(body) {
		body = bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	text := string(body)
	m := message{
		MessageId:              d.ID,
		ReceiptHandle:          c.s.encodeReceipt(st.name, d.Receipt),
		MD5OfBody:              awsapi.MD5Hex(body),
		Body:                   text,
		MD5OfMessageAttributes: awsapi.MD5OfAttributes(attrs),
		MessageAttributes:      attrs,
	}
	sys := attrMap{}
	add := func(name, v string) {
		if v != "" && sel.wantSystem(name) {
			sys[name] = v
		}
	}
	ms := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	add("SenderId", c.s.env.AccountID)
	add("SentTimestamp", ms(d.SentAt))
	add("ApproximateReceiveCount", strconv.Itoa(d.ReceiveCount))
	add("ApproximateFirstReceiveTimestamp", ms(d.FirstReceivedAt))
	add("MessageGroupId", d.Group)
	if st.fifo() {
		add("SequenceNumber", sequenceNumber(d.Sequence))
		dedup := d.DedupID
		if v, ok := d.Headers[dedupHeader]; ok {
			dedup = v
		}
		add("MessageDeduplicationId", dedup)
	}
	add("AWSTraceHeader", d.Headers[traceHeader])
	if d.SourceQueue != "" {
		add("DeadLetterQueueSourceArn", c.s.queueARN(d.SourceQueue))
	}
	if len(sys) > 0 {
		m.Attributes = sys
	}
	return m
}

// attemptEntry remembers the answer of a FIFO receive with a
// ReceiveRequestAttemptId, for its retries.
type attemptEntry struct {
	msgs     []message
	receipts []string
	expires  time.Time
	size     int // bytes of msgs and receipts, toward maxAttemptBytes
}

func (c *call) receiveMessage() (any, error) {
	var in receiveMessageInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	max := 1
	if v := in.MaxNumberOfMessages; v != nil {
		if *v < 1 || *v > maxReceive {
			return nil, errInvalidParam("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and %d, if provided.", *v, maxReceive)
		}
		max = int(*v)
	}
	opts := []courier.ReceiveOption{courier.Max(max)}
	if v := in.WaitTimeSeconds; v != nil {
		if *v < 0 || *v > maxWaitSeconds {
			return nil, errInvalidParam("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= %d, if provided.", *v, maxWaitSeconds)
		}
		opts = append(opts, courier.Wait(time.Duration(*v)*time.Second))
	}
	var visibility time.Duration = -1
	if v := in.VisibilityTimeout; v != nil {
		if *v < 0 || *v > maxVisibilitySecond {
			return nil, errInvalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and %d, if provided.", *v, maxVisibilitySecond)
		}
		visibility = time.Duration(*v) * time.Second
		if visibility == 0 {
			// courier's 0 means "the queue's"; AWS's 0 is visible at once.
			opts = append(opts, courier.Visibility(time.Nanosecond))
		} else {
			opts = append(opts, courier.Visibility(visibility))
		}
	}
	sel, err := newSelection(&in)
	if err != nil {
		return nil, err
	}
	if in.ReceiveRequestAttemptId != nil {
		if err := checkToken("ReceiveRequestAttemptId", *in.ReceiveRequestAttemptId); err != nil {
			return nil, err
		}
	}
	st, err := c.authorizedInfo(awsapi.Consume, name)
	if err != nil {
		return nil, err
	}
	ctx := c.ctx()
	attemptKey := ""
	if in.ReceiveRequestAttemptId != nil && st.fifo() {
		attemptKey = name + "\x00" + *in.ReceiveRequestAttemptId
		if visibility < 0 {
			visibility = st.info.Attributes.VisibilityTimeout
		}
		if msgs, ok := c.s.retryAttempt(ctx, name, attemptKey, visibility); ok {
			return receiveMessageResult{Messages: msgs}, nil
		}
	}
	ds, err := c.s.b.Queue(name).Receive(ctx, opts...)
	if err != nil {
		return nil, err
	}
	out := receiveMessageResult{Messages: make([]message, len(ds))}
	receipts := make([]string, len(ds))
	for i, d := range ds {
		out.Messages[i] = c.render(st, d, &sel)
		receipts[i] = d.Receipt
	}
	if attemptKey != "" && len(ds) > 0 {
		c.s.rememberAttempt(attemptKey, out.Messages, receipts)
	}
	return out, nil
}

// retryAttempt answers a retried FIFO receive: the messages of the first
// attempt when each is still in flight under the receipt it got then
// (their visibility timeout starts again, as in AWS).
func (s *Service) retryAttempt(ctx context.Context, queue, key string, visibility time.Duration) ([]message, bool) {
	s.mu.Lock()
	e, ok := s.attempts[key]
	if ok && !s.now().Before(e.expires) {
		s.dropAttemptLocked(key)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	if err := s.b.Queue(queue).Extend(ctx, visibility, e.receipts...); err != nil {
		s.mu.Lock()
		if s.attempts[key] == e {
			s.dropAttemptLocked(key)
		}
		s.mu.Unlock()
		return nil, false
	}
	return e.msgs, true
}

// rememberAttempt keeps a FIFO receive's answer for its retries within
// the 5-minute window, forgetting expired ones (at most once a minute,
// and whenever a limit is reached) and, past maxAttempts entries or
// maxAttemptBytes of messages, the oldest.
func (s *Service) rememberAttempt(key string, msgs []message, receipts []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	size := 0
	for i, m := range msgs {
		size += len(m.MessageId) + len(m.ReceiptHandle) + len(m.Body) + len(m.MD5OfBody) + len(m.MD5OfMessageAttributes) + len(receipts[i])
		for k, v := range m.Attributes {
			size += len(k) + len(v)
		}
		size += awsapi.AttributesSize(m.MessageAttributes)
	}
	if size > maxAttemptBytes {
		return // retries of this attempt receive anew
	}
	if _, ok := s.attempts[key]; ok {
		s.dropAttemptLocked(key)
	}
	full := func() bool { return len(s.attempts) >= maxAttempts || s.attemptBytes+size > maxAttemptBytes }
	if full() || !now.Before(s.attemptSweep) {
		for k, e := range s.attempts {
			if !now.Before(e.expires) {
				s.dropAttemptLocked(k)
			}
		}
		s.attemptSweep = now.Add(time.Minute)
	}
	for full() && len(s.attempts) > 0 {
		var oldest string
		var oldestAt time.Time
		for k, e := range s.attempts {
			if oldest == "" || e.expires.Before(oldestAt) {
				oldest, oldestAt = k, e.expires
			}
		}
		s.dropAttemptLocked(oldest)
	}
	s.attempts[key] = &attemptEntry{msgs: msgs, receipts: receipts, expires: now.Add(attemptWindow), size: size}
	s.attemptBytes += size
}

// dropAttemptLocked forgets the attempt key; s.mu is held.
func (s *Service) dropAttemptLocked(key string) {
	if e, ok := s.attempts[key]; ok {
		s.attemptBytes -= e.size
		delete(s.attempts, key)
	}
}

func (c *call) deleteMessage() (any, error) {
	var in deleteMessageInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == nil || *in.ReceiptHandle == "" {
		return nil, errMissing("ReceiptHandle")
	}
	r, err := c.s.decodeReceipt(name, *in.ReceiptHandle)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(awsapi.Consume, name); err != nil {
		return nil, err
	}
	return nil, c.s.ack(c.ctx(), name, []string{r})[0]
}

// ack deletes the messages of receipts and returns one error per receipt.
// A stale receipt (its message was received again since) succeeds
// without deleting, as AWS documents for DeleteMessage.
func (s *Service) ack(ctx context.Context, queue string, receipts []string) []error {
	errs := make([]error, len(receipts))
	err := s.b.Queue(queue).Ack(ctx, receipts...)
	var be *courier.BatchError
	switch {
	case err == nil:
	case errors.As(err, &be) && len(be.Errors) == len(receipts):
		for i, e := range be.Errors {
			if e != nil && !errors.Is(e, courier.ErrReceiptInvalid) {
				errs[i] = e
			}
		}
	default:
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}

func (c *call) deleteMessageBatch() (any, error) {
	in := receiptBatchInput{entryName: "DeleteMessageBatchRequestEntry"}
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	if err := checkReceiptBatch(in.Entries); err != nil {
		return nil, err
	}
	if _, err := c.authorizedInfo(awsapi.Consume, name); err != nil {
		return nil, err
	}
	out := deleteMessageBatchResult{Successful: []idEntry{}, Failed: []batchResultError{}}
	var receipts, ids []string
	for _, e := range in.Entries {
		if e.ReceiptHandle == nil || *e.ReceiptHandle == "" {
			out.Failed = append(out.Failed, c.s.failure(e.Id, errMissing("ReceiptHandle")))
			continue
		}
		r, err := c.s.decodeReceipt(name, *e.ReceiptHandle)
		if err != nil {
			out.Failed = append(out.Failed, c.s.failure(e.Id, err))
			continue
		}
		receipts, ids = append(receipts, r), append(ids, e.Id)
	}
	if len(receipts) > 0 {
		for i, err := range c.s.ack(c.ctx(), name, receipts) {
			if err != nil {
				out.Failed = append(out.Failed, c.s.failure(ids[i], err))
			} else {
				out.Successful = append(out.Successful, idEntry{Id: ids[i]})
			}
		}
	}
	return out, nil
}

// checkReceiptBatch checks the entries of a receipt batch.
func checkReceiptBatch(entries []receiptEntry) error {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Id
	}
	return checkBatchIDs(ids)
}

// visibilityTimeout checks a ChangeMessageVisibility timeout.
func visibilityTimeout(v *int64) (time.Duration, error) {
	if v == nil {
		return 0, errMissing("VisibilityTimeout")
	}
	if *v < 0 || *v > maxVisibilitySecond {
		return 0, errInvalidParam("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and %d.", *v, maxVisibilitySecond)
	}
	return time.Duration(*v) * time.Second, nil
}

// changeVisibility changes the visibility of one message: 0 makes it
// visible at once (and counts the next delivery as another receive).
func (s *Service) changeVisibility(ctx context.Context, queue, handle, receipt string, d time.Duration) error {
	q := s.b.Queue(queue)
	var err error
	if d == 0 {
		err = q.Nack(ctx, 0, receipt)
	} else {
		err = q.Extend(ctx, d, receipt)
	}
	if errors.Is(err, courier.ErrReceiptInvalid) {
		return errInvalidParam("Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.", awsapi.Truncate(handle, 80))
	}
	return err
}

func (c *call) changeMessageVisibility() (any, error) {
	var in changeVisibilityInput
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == nil || *in.ReceiptHandle == "" {
		return nil, errMissing("ReceiptHandle")
	}
	d, err := visibilityTimeout(in.VisibilityTimeout)
	if err != nil {
		return nil, err
	}
	r, err := c.s.decodeReceipt(name, *in.ReceiptHandle)
	if err != nil {
		return nil, err
	}
	if err := c.authorize(awsapi.Consume, name); err != nil {
		return nil, err
	}
	return nil, c.s.changeVisibility(c.ctx(), name, *in.ReceiptHandle, r, d)
}

func (c *call) changeMessageVisibilityBatch() (any, error) {
	in := receiptBatchInput{entryName: "ChangeMessageVisibilityBatchRequestEntry"}
	name, err := c.decodeQueue(&in)
	if err != nil {
		return nil, err
	}
	if err := checkReceiptBatch(in.Entries); err != nil {
		return nil, err
	}
	if _, err := c.authorizedInfo(awsapi.Consume, name); err != nil {
		return nil, err
	}
	out := changeVisibilityBatchResult{Successful: []idEntry{}, Failed: []batchResultError{}}
	for _, e := range in.Entries {
		err := func() error {
			if e.ReceiptHandle == nil || *e.ReceiptHandle == "" {
				return errMissing("ReceiptHandle")
			}
			d, err := visibilityTimeout(e.VisibilityTimeout)
			if err != nil {
				return err
			}
			r, err := c.s.decodeReceipt(name, *e.ReceiptHandle)
			if err != nil {
				return err
			}
			return c.s.changeVisibility(c.ctx(), name, *e.ReceiptHandle, r, d)
		}()
		if err != nil {
			out.Failed = append(out.Failed, c.s.failure(e.Id, err))
		} else {
			out.Successful = append(out.Successful, idEntry{Id: e.Id})
		}
	}
	return out, nil
}
