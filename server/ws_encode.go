package server

import (
	"encoding/base64"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/courier-io/courier/driver"
)

// The encoder of pushed messages: the delivery loop's hot path. It writes
// {"op":"message","sub":...,"message":{...},"dropped":N} (or "record")
// exactly as encoding/json writes the frame with httpapi.Delivery or
// httpapi.StreamRecord (HTML escaping off), byte for byte
// (TestWSPushEncoding and FuzzWSPushEncoding check it), but appends into
// pooled buffers without reflection.

// framePool recycles frame buffers: the writer returns a frame once it is
// written.
var framePool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledFrame is the largest frame buffer kept for reuse.
const maxPooledFrame = 16 << 10

// newFrame returns an empty buffer from the pool.
func newFrame() []byte { return (*framePool.Get().(*[]byte))[:0] }

// recycleFrame returns a written frame's buffer to the pool.
func recycleFrame(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooledFrame {
		return
	}
	b = b[:0]
	framePool.Put(&b)
}

// appendMessageFrame appends {"op":"message","sub":...,"message":{...}}
// for a delivery of a topic, queue or durable subscription.
func appendMessageFrame(b []byte, sub string, d *driver.Delivery, dropped int64) []byte {
	b = append(b, `{"op":"message","sub":`...)
	b = appendJSONString(b, sub)
	b = append(b, `,"message":{"id":`...)
	b = appendJSONString(b, d.ID)
	b = appendBody(b, `,"body":`, `,"body_base64":`, d.Body)
	b = appendHeaders(b, d.Headers)
	b = append(b, `,"receipt":`...)
	b = appendJSONString(b, d.Receipt)
	b = append(b, `,"receive_count":`...)
	b = strconv.AppendInt(b, int64(d.ReceiveCount), 10)
	b = append(b, `,"sent_at":`...)
	b = appendTime(b, d.SentAt)
	b = append(b, `,"first_received_at":`...)
	b = appendTime(b, d.FirstReceivedAt)
	b = appendOptString(b, `,"group":`, d.Group)
	b = appendOptString(b, `,"dedup_id":`, d.DedupID)
	if d.Sequence != 0 {
		b = append(b, `,"sequence":`...)
		b = strconv.AppendUint(b, d.Sequence, 10)
	}
	b = appendOptString(b, `,"source_queue":`, d.SourceQueue)
	b = append(b, '}')
	return appendDropped(b, dropped)
}

// appendRecordFrame appends {"op":"message","sub":...,"record":{...}} for
// a stream record.
func appendRecordFrame(b []byte, sub string, r *driver.StreamRecord) []byte {
	b = append(b, `{"op":"message","sub":`...)
	b = appendJSONString(b, sub)
	b = append(b, `,"record":{"partition":`...)
	b = strconv.AppendInt(b, int64(r.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, r.Offset, 10)
	b = append(b, `,"timestamp":`...)
	b = appendTime(b, r.Timestamp)
	if len(r.Key) > 0 {
		b = appendBody(b, `,"key":`, `,"key_base64":`, r.Key)
	}
	b = appendBody(b, `,"value":`, `,"value_base64":`, r.Value)
	b = appendHeaders(b, r.Headers)
	return append(b, '}', '}')
}

func appendDropped(b []byte, dropped int64) []byte {
	if dropped != 0 {
		b = append(b, `,"dropped":`...)
		b = strconv.AppendInt(b, dropped, 10)
	}
	return append(b, '}')
}

// appendBody appends bytes as text when they are valid UTF-8, else as
// standard base64, under the matching key.
func appendBody(b []byte, textKey, b64Key string, body []byte) []byte {
	if utf8.Valid(body) {
		b = append(b, textKey...)
		return appendJSONString(b, body)
	}
	b = append(b, b64Key...)
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, body)
	return append(b, '"')
}

// appendHeaders appends "headers" with the keys sorted, as encoding/json
// writes maps; nothing for none.
func appendHeaders(b []byte, h map[string]string) []byte {
	if len(h) == 0 {
		return b
	}
	b = append(b, `,"headers":{`...)
	if len(h) == 1 {
		for k, v := range h {
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, v)
		}
		return append(b, '}')
	}
	for i, k := range slices.Sorted(maps.Keys(h)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, h[k])
	}
	return append(b, '}')
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, key...)
	return appendJSONString(b, s)
}

// appendTime appends t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// does without HTML escaping: \" \\ \b \f \n \r \t, \u00XX for other
// control characters, \ufffd for invalid UTF-8, \u2028 and \u2029.
func appendJSONString[T string | []byte](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		// At most 4 bytes: the conversion stays on the stack.
		r, size := utf8.DecodeRuneInString(string(s[i:min(len(s), i+utf8.UTFMax)]))
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
