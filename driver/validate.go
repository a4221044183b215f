package driver

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// ValidateQueueName checks a queue name: 1..80 characters from A-Z a-z 0-9
// '-', '_' and '.'.
func ValidateQueueName(field, name string) error {
	if name == "" {
		return Invalid(field, "queue name is empty")
	}
	if len(name) > MaxQueueNameLen {
		return Invalid(field, "queue name is %d characters long; the limit is %d", len(name), MaxQueueNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Invalid(field, "queue name %q has character %q at position %d; allowed are letters, digits, '-', '_' and '.'", name, c, i)
		}
	}
	return nil
}

func checkRange(field string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return Invalid(field, "%v is out of range; accepted is %v to %v", d, lo, hi)
	}
	return nil
}

// Validate checks every attribute against its range; the error names the
// first offending attribute with the JSON name used by the REST API.
func (a QueueAttributes) Validate() error {
	if err := checkRange("visibility_timeout", a.VisibilityTimeout, 0, MaxVisibilityTimeout); err != nil {
		return err
	}
	if err := checkRange("retention_period", a.RetentionPeriod, MinRetentionPeriod, MaxRetentionPeriod); err != nil {
		return err
	}
	if err := checkRange("delivery_delay", a.DeliveryDelay, 0, MaxDeliveryDelay); err != nil {
		return err
	}
	if err := checkRange("receive_wait", a.ReceiveWait, 0, MaxReceiveWait); err != nil {
		return err
	}
	if a.MaxMessageSize < MinMessageSizeLimit || a.MaxMessageSize > MaxMessageSizeLimit {
		return Invalid("max_message_size", "%d is out of range; accepted is %d to %d bytes", a.MaxMessageSize, MinMessageSizeLimit, MaxMessageSizeLimit)
	}
	if a.MaxReceives < 0 || a.MaxReceives > MaxMaxReceives {
		return Invalid("max_receives", "%d is out of range; accepted is 0 (no dead-letter queue) to %d", a.MaxReceives, MaxMaxReceives)
	}
	switch {
	case a.MaxReceives > 0 && a.DeadLetterQueue == "":
		return Invalid("dead_letter_queue", "required when max_receives is set")
	case a.MaxReceives == 0 && a.DeadLetterQueue != "":
		return Invalid("max_receives", "required when dead_letter_queue is set")
	case a.DeadLetterQueue != "":
		if err := ValidateQueueName("dead_letter_queue", a.DeadLetterQueue); err != nil {
			return err
		}
	}
	return nil
}

// MessageSize is the size a message counts against MaxMessageSize: body
// plus header keys and values.
func MessageSize(m *Message) int {
	n := len(m.Body)
	for k, v := range m.Headers {
		n += len(k) + len(v)
	}
	return n
}

// ValidateMessage checks a message against the limits that do not depend on
// the queue: size at most MaxMessageSizeLimit, header count and names,
// delay range, dedup ID and group length. field prefixes the error's field
// (e.g. "messages[3]").
func ValidateMessage(field string, m *Message) error {
	return validateMessage(m, func() string { return field })
}

// validateMessage is ValidateMessage with the field name built only when
// an error needs it (batches validate thousands of messages).
func validateMessage(m *Message, fieldOf func() string) error {
	headersOK := len(m.Headers) <= MaxHeaders
	if headersOK {
		for k, v := range m.Headers {
			if k == "" || len(k) > MaxHeaderKeyLen || !utf8.ValidString(k) || !utf8.ValidString(v) {
				headersOK = false
				break
			}
		}
	}
	if headersOK && MessageSize(m) <= MaxMessageSizeLimit && m.Delay >= 0 && m.Delay <= MaxDeliveryDelay &&
		validToken(m.DedupID, MaxDedupIDLen) && validToken(m.Group, MaxGroupLen) {
		return nil
	}
	// Something is wrong: find it and name it.
	field := fieldOf()
	if len(m.Headers) > MaxHeaders {
		return TooLarge(field+".headers", "%d headers; the limit is %d", len(m.Headers), MaxHeaders)
	}
	for k, v := range m.Headers {
		if k == "" {
			return Invalid(field+".headers", "header name is empty")
		}
		if len(k) > MaxHeaderKeyLen {
			return Invalid(field+".headers", "header name %.32q... is %d bytes; the limit is %d", k, len(k), MaxHeaderKeyLen)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return Invalid(field+".headers", "header %q is not valid UTF-8", k)
		}
	}
	if size := MessageSize(m); size > MaxMessageSizeLimit {
		return TooLarge(field, "message is %d bytes (body plus headers); the limit is %d", size, MaxMessageSizeLimit)
	}
	if err := checkRange(field+".delay", m.Delay, 0, MaxDeliveryDelay); err != nil {
		return err
	}
	if err := checkToken(field+".dedup_id", m.DedupID, MaxDedupIDLen); err != nil {
		return err
	}
	return checkToken(field+".group", m.Group, MaxGroupLen)
}

func validToken(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// checkToken accepts empty or up to max printable ASCII characters, as SQS
// does for dedup and group IDs.
func checkToken(field, s string, max int) error {
	if len(s) > max {
		return Invalid(field, "is %d characters; the limit is %d", len(s), max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return Invalid(field, "has character %q at position %d; allowed are printable ASCII characters without spaces", s[i], i)
		}
	}
	return nil
}

// ValidateBatch checks a batch of messages to send.
func ValidateBatch(msgs []Message) error {
	if len(msgs) == 0 {
		return Invalid("messages", "batch is empty")
	}
	if len(msgs) > MaxBatch {
		return TooLarge("messages", "batch has %d messages; the limit is %d", len(msgs), MaxBatch)
	}
	for i := range msgs {
		if err := validateMessage(&msgs[i], func() string { return fmt.Sprintf("messages[%d]", i) }); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks a receive request.
func (r ReceiveRequest) Validate() error {
	if r.Max < 0 || r.Max > MaxBatch {
		return Invalid("max", "%d is out of range; accepted is 1 to %d", r.Max, MaxBatch)
	}
	if r.Wait != NoWait {
		if err := checkRange("wait", r.Wait, 0, MaxReceiveWait); err != nil {
			return err
		}
	}
	return checkRange("visibility", r.Visibility, 0, MaxVisibilityTimeout)
}

// ValidateReceipts checks a list of receipts for Ack or ChangeVisibility.
func ValidateReceipts(receipts []string) error {
	if len(receipts) == 0 {
		return Invalid("receipts", "no receipts given")
	}
	if len(receipts) > MaxBatch {
		return TooLarge("receipts", "%d receipts; the limit is %d", len(receipts), MaxBatch)
	}
	for i, r := range receipts {
		if r == "" {
			return Invalid(fmt.Sprintf("receipts[%d]", i), "receipt is empty")
		}
	}
	return nil
}

// Validate checks a redrive request.
func (r RedriveRequest) Validate() error {
	if r.Max < 0 {
		return Invalid("max", "%d is negative", r.Max)
	}
	if r.Rate < 0 {
		return Invalid("rate", "%d is negative", r.Rate)
	}
	if r.Destination != "" {
		return ValidateQueueName("destination", r.Destination)
	}
	return nil
}
