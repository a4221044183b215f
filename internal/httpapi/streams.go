package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/courier-io/courier/driver"
)

// StreamAttributes is the JSON form of driver.StreamAttributes; in requests
// unset fields keep their defaults (create) or current values (PATCH).
type StreamAttributes struct {
	Partitions      *int      `json:"partitions,omitempty"`
	Retention       *Duration `json:"retention,omitempty"`
	RetentionBytes  *int64    `json:"retention_bytes,omitempty"`
	Compact         *bool     `json:"compact,omitempty"`
	DeleteRetention *Duration `json:"delete_retention,omitempty"`
	MaxRecordSize   *int      `json:"max_record_size,omitempty"`
}

// ApplyTo overwrites the fields of a that are set.
func (j *StreamAttributes) ApplyTo(a *driver.StreamAttributes) {
	if j.Partitions != nil {
		a.Partitions = *j.Partitions
	}
	if j.Retention != nil {
		a.Retention = time.Duration(*j.Retention)
	}
	if j.RetentionBytes != nil {
		a.RetentionBytes = *j.RetentionBytes
	}
	if j.Compact != nil {
		a.Compact = *j.Compact
	}
	if j.DeleteRetention != nil {
		a.DeleteRetention = time.Duration(*j.DeleteRetention)
	}
	if j.MaxRecordSize != nil {
		a.MaxRecordSize = *j.MaxRecordSize
	}
}

// StreamAttributesJSON returns the complete JSON form of a.
func StreamAttributesJSON(a driver.StreamAttributes) StreamAttributes {
	r, dr := Duration(a.Retention), Duration(a.DeleteRetention)
	return StreamAttributes{Partitions: &a.Partitions, Retention: &r, RetentionBytes: &a.RetentionBytes, Compact: &a.Compact, DeleteRetention: &dr, MaxRecordSize: &a.MaxRecordSize}
}

// StreamInfo is the answer of GET /v1/streams/{name} and PUT.
type StreamInfo struct {
	Name       string                 `json:"name"`
	Attributes StreamAttributes       `json:"attributes"`
	CreatedAt  time.Time              `json:"created_at"`
	Partitions []driver.PartitionInfo `json:"partitions"`
	Groups     []driver.GroupInfo     `json:"groups"`
}

// StreamInfoJSON converts a driver.StreamInfo.
func StreamInfoJSON(i driver.StreamInfo) StreamInfo {
	out := StreamInfo{Name: i.Name, Attributes: StreamAttributesJSON(i.Attributes), CreatedAt: i.CreatedAt, Partitions: i.Partitions, Groups: i.Groups}
	if out.Partitions == nil {
		out.Partitions = []driver.PartitionInfo{}
	}
	if out.Groups == nil {
		out.Groups = []driver.GroupInfo{}
	}
	return out
}

// Info converts back to a driver.StreamInfo.
func (i StreamInfo) Info() driver.StreamInfo {
	var a driver.StreamAttributes
	i.Attributes.ApplyTo(&a)
	return driver.StreamInfo{Name: i.Name, Attributes: a, CreatedAt: i.CreatedAt, Partitions: i.Partitions, Groups: i.Groups}
}

// StreamList is the answer of GET /v1/streams.
type StreamList struct {
	Streams []string `json:"streams"`
}

// textOrBase64 returns b as text when it is valid UTF-8 and as base64
// otherwise: the pairs "key"/"key_base64" and "value"/"value_base64".
func textOrBase64(b []byte) (text, b64 *string) {
	if utf8.Valid(b) {
		s := string(b)
		return &s, nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return nil, &s
}

func fromTextOrBase64(field string, text, b64 *string) ([]byte, error) {
	switch {
	case text != nil && b64 != nil:
		return nil, driver.Invalid(field+"_base64", "set %s or %s_base64, not both", field, field)
	case b64 != nil:
		b, err := base64.StdEncoding.DecodeString(*b64)
		if err != nil {
			return nil, driver.Invalid(field+"_base64", "not standard base64: %v", err)
		}
		return b, nil
	case text != nil:
		return []byte(*text), nil
	}
	return nil, nil
}

// Record is one record to append. Key and value are text; binary ones
// travel in KeyBase64 and ValueBase64. Partition is optional: without it
// the key chooses.
type Record struct {
	Key         *string           `json:"key,omitempty"`
	KeyBase64   *string           `json:"key_base64,omitempty"`
	Value       *string           `json:"value,omitempty"`
	ValueBase64 *string           `json:"value_base64,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Partition   *int              `json:"partition,omitempty"`
}

// RecordJSON converts a driver.Record.
func RecordJSON(r driver.Record) Record {
	out := Record{Headers: r.Headers}
	if r.Key != nil {
		out.Key, out.KeyBase64 = textOrBase64(r.Key)
	}
	out.Value, out.ValueBase64 = textOrBase64(r.Value)
	if r.Partition != driver.AnyPartition {
		p := r.Partition
		out.Partition = &p
	}
	return out
}

// Driver converts to a driver.Record; field prefixes error fields.
func (r *Record) Driver(field string) (driver.Record, error) {
	out := driver.Record{Headers: r.Headers, Partition: driver.AnyPartition}
	var err error
	if out.Key, err = fromTextOrBase64(FieldPath(field, "key"), r.Key, r.KeyBase64); err != nil {
		return out, err
	}
	if out.Value, err = fromTextOrBase64(FieldPath(field, "value"), r.Value, r.ValueBase64); err != nil {
		return out, err
	}
	if out.Value == nil {
		out.Value = []byte{}
	}
	if r.Partition != nil {
		if *r.Partition < 0 {
			return out, driver.Invalid(FieldPath(field, "partition"), "%d is negative; leave it out to let the key choose", *r.Partition)
		}
		out.Partition = *r.Partition
	}
	return out, nil
}

// AppendRequest is the body of POST /v1/streams/{name}/records.
type AppendRequest struct {
	Records []Record `json:"records"`
}

// AppendResult is one entry of an append answer: where the record went, or
// why it was rejected.
type AppendResult struct {
	Partition int    `json:"partition"`
	Offset    int64  `json:"offset"`
	Error     *Error `json:"error,omitempty"`
}

// AppendResponse answers an append, one entry per record in order.
type AppendResponse struct {
	Offsets []AppendResult `json:"offsets"`
}

// PositionJSON is a read position: the string "earliest" or "latest", or
// an object {"offset": N} or {"time": RFC 3339}.
type PositionJSON struct{ driver.Position }

// MarshalJSON writes the position in its JSON form.
func (p PositionJSON) MarshalJSON() ([]byte, error) {
	switch p.Kind {
	case driver.FromOffset:
		return json.Marshal(map[string]int64{"offset": p.Offset})
	case driver.FromTime:
		return json.Marshal(map[string]time.Time{"time": p.Time})
	case "":
		return json.Marshal(string(driver.FromEarliest))
	}
	return json.Marshal(string(p.Kind))
}

// UnmarshalJSON reads a position.
func (p *PositionJSON) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch driver.PositionKind(s) {
		case driver.FromEarliest, driver.FromLatest:
			p.Position = driver.Position{Kind: driver.PositionKind(s)}
			return nil
		}
		return driver.Invalid("from", "%q: use \"earliest\", \"latest\", {\"offset\": N} or {\"time\": \"RFC 3339 time\"}", s)
	}
	var obj struct {
		Offset *int64     `json:"offset"`
		Time   *time.Time `json:"time"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&obj); err != nil {
		return driver.Invalid("from", "use \"earliest\", \"latest\", {\"offset\": N} or {\"time\": \"RFC 3339 time\"}: %v", err)
	}
	switch {
	case obj.Offset != nil && obj.Time != nil:
		return driver.Invalid("from", "set offset or time, not both")
	case obj.Offset != nil:
		p.Position = driver.Position{Kind: driver.FromOffset, Offset: *obj.Offset}
	case obj.Time != nil:
		p.Position = driver.Position{Kind: driver.FromTime, Time: *obj.Time}
	default:
		return driver.Invalid("from", "an object position needs offset or time")
	}
	return nil
}

// ReadRequest is the body of POST /v1/streams/{name}/read.
type ReadRequest struct {
	Partition int           `json:"partition"`
	From      *PositionJSON `json:"from,omitempty"`
	Max       int           `json:"max,omitempty"`
	MaxBytes  int           `json:"max_bytes,omitempty"`
	Wait      Duration      `json:"wait,omitempty"`
}

// Driver converts to a driver.StreamReadRequest and validates it.
func (r ReadRequest) Driver() (driver.StreamReadRequest, error) {
	req := driver.StreamReadRequest{Partition: r.Partition, Max: r.Max, MaxBytes: r.MaxBytes, Wait: time.Duration(r.Wait)}
	if r.From != nil {
		req.From = r.From.Position
	}
	return req, req.Validate()
}

// StreamRecord is one stored record.
type StreamRecord struct {
	Partition   int               `json:"partition"`
	Offset      int64             `json:"offset"`
	Timestamp   time.Time         `json:"timestamp"`
	Key         *string           `json:"key,omitempty"`
	KeyBase64   *string           `json:"key_base64,omitempty"`
	Value       *string           `json:"value,omitempty"`
	ValueBase64 *string           `json:"value_base64,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
}

// StreamRecordJSON converts a driver.StreamRecord.
func StreamRecordJSON(r driver.StreamRecord) StreamRecord {
	out := StreamRecord{Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp, Headers: r.Headers}
	if len(r.Key) > 0 {
		out.Key, out.KeyBase64 = textOrBase64(r.Key)
	}
	out.Value, out.ValueBase64 = textOrBase64(r.Value)
	return out
}

// Driver converts back to a driver.StreamRecord.
func (r StreamRecord) Driver() (driver.StreamRecord, error) {
	out := driver.StreamRecord{Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp, Headers: r.Headers}
	var err error
	if out.Key, err = fromTextOrBase64("key", r.Key, r.KeyBase64); err != nil {
		return out, err
	}
	if out.Value, err = fromTextOrBase64("value", r.Value, r.ValueBase64); err != nil {
		return out, err
	}
	if out.Value == nil {
		out.Value = []byte{}
	}
	return out, nil
}

// StreamRecordsJSON converts records.
func StreamRecordsJSON(recs []driver.StreamRecord) []StreamRecord {
	out := make([]StreamRecord, len(recs))
	for i, r := range recs {
		out[i] = StreamRecordJSON(r)
	}
	return out
}

// RecordsDriver converts records back.
func RecordsDriver(recs []StreamRecord) ([]driver.StreamRecord, error) {
	out := make([]driver.StreamRecord, len(recs))
	for i, r := range recs {
		var err error
		if out[i], err = r.Driver(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReadResponse answers a read.
type ReadResponse struct {
	Records []StreamRecord `json:"records"`
	Next    int64          `json:"next"`
	End     int64          `json:"end"`
}

// JoinRequest is the body of POST /v1/streams/{name}/groups/{group}/join.
type JoinRequest struct {
	Member         string   `json:"member"`
	SessionTimeout Duration `json:"session_timeout,omitempty"`
	StartFrom      string   `json:"start_from,omitempty"`
}

// MemberRequest is the body of heartbeat and leave.
type MemberRequest struct {
	Member string `json:"member"`
}

// PollRequest is the body of POST .../poll.
type PollRequest struct {
	Member string   `json:"member"`
	Max    int      `json:"max,omitempty"`
	Wait   Duration `json:"wait,omitempty"`
}

// Assignment is the JSON form of driver.Assignment; offsets are keyed by
// partition number.
type Assignment struct {
	Generation int64            `json:"generation"`
	Partitions []int            `json:"partitions"`
	Offsets    map[string]int64 `json:"offsets"`
}

// AssignmentJSON converts a driver.Assignment.
func AssignmentJSON(a driver.Assignment) Assignment {
	out := Assignment{Generation: a.Generation, Partitions: a.Partitions, Offsets: OffsetsJSON(a.Offsets)}
	if out.Partitions == nil {
		out.Partitions = []int{}
	}
	return out
}

// Driver converts back to a driver.Assignment.
func (a Assignment) Driver() (driver.Assignment, error) {
	offs, err := OffsetsDriver("offsets", a.Offsets)
	return driver.Assignment{Generation: a.Generation, Partitions: a.Partitions, Offsets: offs}, err
}

// OffsetsJSON keys offsets by the decimal partition number, as JSON
// objects need string keys.
func OffsetsJSON(offs map[int]int64) map[string]int64 {
	out := make(map[string]int64, len(offs))
	for p, o := range offs {
		out[strconv.Itoa(p)] = o
	}
	return out
}

// OffsetsDriver reads offsets keyed by partition number.
func OffsetsDriver(field string, offs map[string]int64) (map[int]int64, error) {
	out := make(map[int]int64, len(offs))
	for k, o := range offs {
		p, err := strconv.Atoi(k)
		if err != nil || p < 0 || p >= driver.MaxPartitions || strconv.Itoa(p) != k {
			return nil, driver.Invalid(field, "key %q is not a partition number", k)
		}
		out[p] = o
	}
	return out, nil
}

// PollResponse answers a poll.
type PollResponse struct {
	Records    []StreamRecord `json:"records"`
	Assignment Assignment     `json:"assignment"`
}

// CommitRequest is the body of POST .../commit.
type CommitRequest struct {
	Member     string           `json:"member"`
	Generation int64            `json:"generation"`
	Offsets    map[string]int64 `json:"offsets"`
}

// ResetRequest is the body of POST .../reset.
type ResetRequest struct {
	Partitions []int         `json:"partitions,omitempty"`
	To         *PositionJSON `json:"to"`
}

// ResetResponse answers a reset with the new committed offsets.
type ResetResponse struct {
	Offsets map[string]int64 `json:"offsets"`
}

// AppendResultsJSON converts append results, errors included.
func AppendResultsJSON(res []driver.AppendResult) AppendResponse {
	out := AppendResponse{Offsets: make([]AppendResult, len(res))}
	for i, r := range res {
		out.Offsets[i] = AppendResult{Partition: r.Partition, Offset: r.Offset}
		if r.Err != nil {
			_, e := ErrorOf(r.Err)
			out.Offsets[i] = AppendResult{Error: &e}
		}
	}
	return out
}

// Driver converts an append answer back, with errors.
func (r AppendResponse) Driver(n int) ([]driver.AppendResult, error) {
	if len(r.Offsets) != n {
		return nil, fmt.Errorf("server answered %d results for %d records", len(r.Offsets), n)
	}
	out := make([]driver.AppendResult, n)
	for i, a := range r.Offsets {
		out[i] = driver.AppendResult{Partition: a.Partition, Offset: a.Offset}
		if a.Error != nil {
			out[i].Err = a.Error.Err()
		}
	}
	return out, nil
}
