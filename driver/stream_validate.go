package driver

import (
	"fmt"
	"unicode/utf8"
)

// ValidateStreamName checks a stream name: the same rules as queue names.
func ValidateStreamName(field, name string) error { return validateName(field, "stream", name) }

// ValidateGroupName checks a consumer group name: the same rules as queue
// names.
func ValidateGroupName(field, name string) error { return validateName(field, "group", name) }

// ValidateMemberName checks a group member name: 1..MaxMemberNameLen
// printable ASCII characters without spaces.
func ValidateMemberName(field, name string) error {
	if name == "" {
		return Invalid(field, "member name is empty")
	}
	return checkToken(field, name, MaxMemberNameLen)
}

// validateName applies the queue name rules to a name of another kind.
func validateName(field, kind, name string) error {
	err := ValidateQueueName(field, name)
	if ve, ok := err.(*ValidationError); ok {
		ve.Reason = kind + ve.Reason[len("queue"):]
	}
	return err
}

// Validate checks stream attributes.
func (a StreamAttributes) Validate() error {
	if a.Partitions < 1 || a.Partitions > MaxPartitions {
		return Invalid("partitions", "%d is out of range; accepted is 1 to %d", a.Partitions, MaxPartitions)
	}
	if err := checkRange("retention", a.Retention, 0, MaxStreamRetention); err != nil {
		return err
	}
	if a.RetentionBytes < 0 {
		return Invalid("retention_bytes", "%d is negative; 0 means unlimited", a.RetentionBytes)
	}
	if err := checkRange("delete_retention", a.DeleteRetention, 0, MaxStreamRetention); err != nil {
		return err
	}
	if a.MaxRecordSize < MinMessageSizeLimit || a.MaxRecordSize > MaxMessageSizeLimit {
		return Invalid("max_record_size", "%d is out of range; accepted is %d to %d bytes", a.MaxRecordSize, MinMessageSizeLimit, MaxMessageSizeLimit)
	}
	return nil
}

// RecordSize is the size a record counts against MaxRecordSize: key,
// value and header keys and values.
func RecordSize(r *Record) int {
	n := len(r.Key) + len(r.Value)
	for k, v := range r.Headers {
		n += len(k) + len(v)
	}
	return n
}

// ValidateRecords checks a batch of records to append against the limits
// that do not depend on the stream.
func ValidateRecords(recs []Record) error {
	if len(recs) == 0 {
		return Invalid("records", "batch is empty")
	}
	if len(recs) > MaxBatch {
		return TooLarge("records", "batch has %d records; the limit is %d", len(recs), MaxBatch)
	}
	for i := range recs {
		r := &recs[i]
		field := func() string { return fmt.Sprintf("records[%d]", i) }
		if len(r.Key) > MaxKeyLen {
			return TooLarge(field()+".key", "key is %d bytes; the limit is %d", len(r.Key), MaxKeyLen)
		}
		if r.Partition < AnyPartition || r.Partition >= MaxPartitions {
			return Invalid(field()+".partition", "%d is out of range; accepted is 0 to %d, or %d to let the key choose", r.Partition, MaxPartitions-1, AnyPartition)
		}
		if len(r.Headers) > MaxHeaders {
			return TooLarge(field()+".headers", "%d headers; the limit is %d", len(r.Headers), MaxHeaders)
		}
		for k, v := range r.Headers {
			if k == "" || len(k) > MaxHeaderKeyLen || !utf8.ValidString(k) || !utf8.ValidString(v) {
				return Invalid(field()+".headers", "header %.32q: names are 1 to %d bytes and names and values valid UTF-8", k, MaxHeaderKeyLen)
			}
		}
		if size := RecordSize(r); size > MaxMessageSizeLimit {
			return TooLarge(field(), "record is %d bytes (key, value and headers); the limit is %d", size, MaxMessageSizeLimit)
		}
	}
	return nil
}

// Validate checks a read request.
func (r StreamReadRequest) Validate() error {
	if r.Partition < 0 || r.Partition >= MaxPartitions {
		return Invalid("partition", "%d is out of range; accepted is 0 to %d", r.Partition, MaxPartitions-1)
	}
	if err := r.From.Validate("from"); err != nil {
		return err
	}
	if r.Max < 0 || r.Max > MaxReadRecords {
		return Invalid("max", "%d is out of range; accepted is 1 to %d", r.Max, MaxReadRecords)
	}
	if r.MaxBytes < 0 || r.MaxBytes > MaxReadBytes {
		return Invalid("max_bytes", "%d is out of range; accepted is 1 to %d", r.MaxBytes, MaxReadBytes)
	}
	return checkRange("wait", r.Wait, 0, MaxReceiveWait)
}

// Validate checks a position; field names it in errors.
func (p Position) Validate(field string) error {
	switch p.Kind {
	case "", FromEarliest, FromLatest:
	case FromOffset:
		if p.Offset < 0 {
			return Invalid(field+".offset", "%d is negative", p.Offset)
		}
	case FromTime:
		if p.Time.IsZero() {
			return Invalid(field+".time", "required")
		}
	default:
		return Invalid(field, "%q is not a position; use %q, %q, %q or %q", p.Kind, FromEarliest, FromLatest, FromOffset, FromTime)
	}
	return nil
}

// Normalize checks a join request and fills in defaults.
func (r *JoinRequest) Normalize() error {
	if r.SessionTimeout == 0 {
		r.SessionTimeout = DefaultSessionTimeout
	}
	if err := checkRange("session_timeout", r.SessionTimeout, MinSessionTimeout, MaxSessionTimeout); err != nil {
		return err
	}
	switch r.StartFrom {
	case "":
		r.StartFrom = FromEarliest
	case FromEarliest, FromLatest:
	default:
		return Invalid("start_from", "%q: use %q or %q", r.StartFrom, FromEarliest, FromLatest)
	}
	return nil
}
