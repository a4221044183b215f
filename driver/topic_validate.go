package driver

import (
	"bytes"
	"encoding/json"
	"iter"
	"net/url"
	"strings"
	"time"

	"github.com/courier-io/courier/pattern"
)

// ValidateTopicName checks a topic name: the same rules as queue names.
func ValidateTopicName(field, name string) error { return validateName(field, "topic", name) }

// ValidateSubscriptionName checks a subscription name: the same rules as
// queue names.
func ValidateSubscriptionName(field, name string) error {
	return validateName(field, "subscription", name)
}

// Validate checks topic attributes.
func (a TopicAttributes) Validate() error {
	if a.MaxMessageSize < MinMessageSizeLimit || a.MaxMessageSize > MaxMessageSizeLimit {
		return Invalid("max_message_size", "%d is out of range; accepted is %d to %d bytes", a.MaxMessageSize, MinMessageSizeLimit, MaxMessageSizeLimit)
	}
	return nil
}

// CompileFilter compiles a filter policy in its scope; an empty policy
// returns nil (match everything). field names the policy in errors.
func CompileFilter(field, policy string, scope FilterScope) (*pattern.Pattern, error) {
	var s pattern.Scope
	switch scope {
	case "", ScopeAttributes:
		s = pattern.ScopeMessageAttributes
	case ScopeBody:
		s = pattern.ScopeMessageBody
	default:
		return nil, Invalid("filter_scope", "%q is not a scope; use %q or %q", scope, ScopeAttributes, ScopeBody)
	}
	if policy == "" {
		return nil, nil
	}
	p, err := pattern.CompileFilterPolicy([]byte(policy), s)
	if err != nil {
		return nil, Invalid(field, "%v", err)
	}
	return p, nil
}

// Normalize checks a subscription request and fills in defaults: the
// filter scope, the push policy of HTTP subscriptions. It does not check
// what depends on state (the queue exists, the topic is FIFO).
func (s *Subscription) Normalize() error {
	if _, err := CompileFilter("filter_policy", s.FilterPolicy, s.FilterScope); err != nil {
		return err
	}
	s.FilterPolicy = compactJSON(s.FilterPolicy)
	if s.FilterScope == "" {
		s.FilterScope = ScopeAttributes
	}
	switch s.Kind {
	case KindQueue:
		if err := ValidateQueueName("queue", s.Queue); err != nil {
			return err
		}
		if s.Endpoint != "" || s.Attributes != nil || s.Push != (PushPolicy{}) {
			return Invalid("kind", "a queue subscription takes queue, filter_policy, filter_scope and raw only")
		}
	case KindDurable:
		if s.Queue != "" || s.Endpoint != "" || s.Push != (PushPolicy{}) {
			return Invalid("kind", "a durable subscription takes attributes, filter_policy, filter_scope and raw only")
		}
		if s.Attributes != nil {
			if err := s.Attributes.Validate(); err != nil {
				if ve, ok := err.(*ValidationError); ok {
					ve.Field = "attributes." + ve.Field
				}
				return err
			}
		}
	case KindHTTP:
		if s.Queue != "" || s.Attributes != nil {
			return Invalid("kind", "an http subscription takes endpoint, push, filter_policy, filter_scope and raw only")
		}
		if err := validateEndpoint(s.Endpoint); err != nil {
			return err
		}
		return s.Push.normalize()
	case "":
		return Invalid("kind", "required; use %q, %q or %q", KindQueue, KindDurable, KindHTTP)
	default:
		return Invalid("kind", "%q is not a subscription kind; use %q, %q or %q", s.Kind, KindQueue, KindDurable, KindHTTP)
	}
	return nil
}

// MaxEndpointLen limits the URL of an HTTP subscription.
const MaxEndpointLen = 2048

func validateEndpoint(raw string) error {
	if raw == "" {
		return Invalid("endpoint", "required for an http subscription")
	}
	if len(raw) > MaxEndpointLen {
		return Invalid("endpoint", "is %d characters; the limit is %d", len(raw), MaxEndpointLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Invalid("endpoint", "%v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Invalid("endpoint", "scheme %q; use http or https", u.Scheme)
	}
	if u.Host == "" {
		return Invalid("endpoint", "%q has no host", raw)
	}
	return nil
}

func (p *PushPolicy) normalize() error {
	d := DefaultPushPolicy()
	if p.MinDelay == 0 {
		p.MinDelay = d.MinDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = max(d.MaxDelay, p.MinDelay)
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.Timeout == 0 {
		p.Timeout = d.Timeout
	}
	if p.Concurrency == 0 {
		p.Concurrency = d.Concurrency
	}
	if err := checkRange("push.min_delay", p.MinDelay, time.Millisecond, time.Hour); err != nil {
		return err
	}
	if err := checkRange("push.max_delay", p.MaxDelay, p.MinDelay, time.Hour); err != nil {
		return err
	}
	if err := checkRange("push.timeout", p.Timeout, time.Millisecond, time.Minute); err != nil {
		return err
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > 100 {
		return Invalid("push.max_attempts", "%d is out of range; accepted is 1 to 100", p.MaxAttempts)
	}
	if p.MaxPerSecond < 0 || p.MaxPerSecond > 100000 {
		return Invalid("push.max_per_second", "%d is out of range; accepted is 0 (unlimited) to 100000", p.MaxPerSecond)
	}
	if p.Concurrency < 1 || p.Concurrency > 64 {
		return Invalid("push.concurrency", "%d is out of range; accepted is 1 to 64", p.Concurrency)
	}
	if p.DeadLetterQueue != "" {
		return ValidateQueueName("push.dead_letter_queue", p.DeadLetterQueue)
	}
	return nil
}

// compactJSON removes insignificant space from valid JSON text, so that
// a policy reads the same on every surface.
func compactJSON(s string) string {
	var b bytes.Buffer
	if s == "" || json.Compact(&b, []byte(s)) != nil {
		return s
	}
	return b.String()
}

// Normalize checks tail options and fills in defaults.
func (o *TailOptions) Normalize() error {
	if _, err := CompileFilter("filter_policy", o.FilterPolicy, o.FilterScope); err != nil {
		return err
	}
	if o.FilterScope == "" {
		o.FilterScope = ScopeAttributes
	}
	if o.Buffer == 0 {
		o.Buffer = DefaultTailBuffer
	}
	if o.Buffer < 1 || o.Buffer > MaxTailBuffer {
		return Invalid("buffer", "%d is out of range; accepted is 1 to %d", o.Buffer, MaxTailBuffer)
	}
	switch o.Overflow {
	case "":
		o.Overflow = DropOldest
	case DropOldest, Block:
	default:
		return Invalid("overflow", "%q is not a policy; use %q or %q", o.Overflow, DropOldest, Block)
	}
	return nil
}

// ValidateConfirmToken checks the shape of a confirmation token.
func ValidateConfirmToken(token string) error {
	if token == "" {
		return Invalid("token", "required")
	}
	if len(token) > 128 {
		return Invalid("token", "is %d characters; the limit is 128", len(token))
	}
	return nil
}

// HeaderAttribute types a header value for filter policies: a value that
// is a JSON number is a Number (numeric conditions apply), anything else a
// String.
func HeaderAttribute(v string) pattern.Attribute {
	if isJSONNumber(v) {
		return pattern.Attribute{Type: "Number", Value: v}
	}
	return pattern.Attribute{Type: "String", Value: v}
}

// isJSONNumber reports whether s is a number in JSON syntax.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	if n := digits(); n == 0 || n > 1 && s[start] == '0' {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// AttributeTypesHeader is the header that gives the types of headers that
// carry typed message attributes: "count=Number,id=String,tags=String.Array"
// (the AWS endpoints write it for SQS and SNS message attributes). A header
// it names has that type for filter policies, whatever its value looks
// like; the header itself is not an attribute.
const AttributeTypesHeader = "courier-aws-types"

// HeaderAttributes is the message attributes an attribute-scope filter
// policy sees for headers (FillHeaderAttributes).
func HeaderAttributes(h map[string]string) map[string]pattern.Attribute {
	out := make(map[string]pattern.Attribute, len(h))
	FillHeaderAttributes(out, h)
	return out
}

// FillHeaderAttributes adds to dst the message attributes of headers h:
// a header that AttributeTypesHeader names has the type given there,
// every other header is typed by HeaderAttribute.
func FillHeaderAttributes(dst map[string]pattern.Attribute, h map[string]string) {
	types, typed := h[AttributeTypesHeader]
	for k, v := range h {
		dst[k] = HeaderAttribute(v)
	}
	if !typed {
		return
	}
	delete(dst, AttributeTypesHeader)
	for name, typ := range AttributeTypes(types) {
		if v, present := h[name]; present && name != AttributeTypesHeader {
			dst[name] = pattern.Attribute{Type: typ, Value: v}
		}
	}
}

// AttributeTypes yields the header names and types that a value of
// AttributeTypesHeader lists ("count=Number,tags=String.Array").
func AttributeTypes(value string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for entry := range strings.SplitSeq(value, ",") {
			if name, typ, ok := strings.Cut(entry, "="); ok && !yield(name, typ) {
				return
			}
		}
	}
}

// FilterMatches reports whether a message passes the filter policy p,
// compiled by CompileFilter for scope (nil passes every message): with
// ScopeAttributes the policy sees the message's headers as message
// attributes (HeaderAttribute), with ScopeBody its body, which must be a
// JSON object to match.
func FilterMatches(p *pattern.Pattern, scope FilterScope, m *Message) bool {
	if p == nil {
		return true
	}
	if scope == ScopeBody {
		ok, err := p.Match(m.Body)
		return err == nil && ok
	}
	ok, err := p.MatchAttributes(HeaderAttributes(m.Headers))
	return err == nil && ok
}
