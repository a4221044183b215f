package server

import (
	"bytes"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// The hand-written encoders of pushed messages must write what
// encoding/json writes for the same frame.

// wsPush is a message pushed to a subscription, as encoding/json would
// write it: Message for topics, queues and durable subscriptions (with its
// receipt), Record for streams. Dropped counts what an ephemeral
// subscription has dropped so far.
type wsPush struct {
	Op      string                `json:"op"` // "message"
	Sub     string                `json:"sub"`
	Message *httpapi.Delivery     `json:"message,omitempty"`
	Record  *httpapi.StreamRecord `json:"record,omitempty"`
	Dropped int64                 `json:"dropped,omitempty"`
}

func jsonMessageFrame(sub string, d driver.Delivery, dropped int64) []byte {
	m := httpapi.DeliveryJSON(d)
	return marshalFrame(wsPush{Op: "message", Sub: sub, Message: &m, Dropped: dropped})
}

func jsonRecordFrame(sub string, r driver.StreamRecord) []byte {
	rec := httpapi.StreamRecordJSON(r)
	return marshalFrame(wsPush{Op: "message", Sub: sub, Record: &rec})
}

// awkward holds strings that JSON encoders get wrong.
var awkward = []string{
	"", "plain", `quote " backslash \ slash /`, "\b\f\n\r\t\x00\x01\x1f\x7f", "<html> & </html>",
	"é ü 日本 🎉", "\u2028\u2029", "bad \xff utf-8 \xc3", "\xed\xa0\x80", // a surrogate
}

func TestWSPushEncoding(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for i, s := range awkward {
		d := driver.Delivery{
			ID: "id-" + s, Body: []byte(s), Headers: map[string]string{s: s, "b": "2", "a": "1"}, Receipt: s,
			ReceiveCount: i, SentAt: at, FirstReceivedAt: at.In(time.FixedZone("x", 3600)), Group: s, DedupID: s,
			Sequence: uint64(i), SourceQueue: s,
		}
		for _, dropped := range []int64{0, 7} {
			if got, want := appendMessageFrame(nil, "sub-"+s, &d, dropped), jsonMessageFrame("sub-"+s, d, dropped); !bytes.Equal(got, want) {
				t.Errorf("message %q:\n got %s\nwant %s", s, got, want)
			}
		}
		r := driver.StreamRecord{Partition: i, Offset: int64(i) << 40, Timestamp: at, Key: []byte(s), Value: []byte(s), Headers: map[string]string{"k": s}}
		if got, want := appendRecordFrame(nil, s, &r), jsonRecordFrame(s, r); !bytes.Equal(got, want) {
			t.Errorf("record %q:\n got %s\nwant %s", s, got, want)
		}
	}
	// Empty and nil values, zero times.
	var zero driver.Delivery
	if got, want := appendMessageFrame(nil, "s", &zero, 0), jsonMessageFrame("s", zero, 0); !bytes.Equal(got, want) {
		t.Errorf("zero delivery:\n got %s\nwant %s", got, want)
	}
	var zr driver.StreamRecord
	if got, want := appendRecordFrame(nil, "s", &zr), jsonRecordFrame("s", zr); !bytes.Equal(got, want) {
		t.Errorf("zero record:\n got %s\nwant %s", got, want)
	}
}

func FuzzWSPushEncoding(f *testing.F) {
	for _, s := range awkward {
		f.Add(s, []byte(s), s, int64(1))
	}
	f.Fuzz(func(t *testing.T, s string, body []byte, header string, n int64) {
		at := time.Unix(0, n).UTC()
		d := driver.Delivery{ID: s, Body: body, Headers: map[string]string{header: s, s: header}, Receipt: s, ReceiveCount: int(n % 1000),
			SentAt: at, FirstReceivedAt: at, Group: header, Sequence: uint64(n)}
		if got, want := appendMessageFrame(nil, s, &d, n), jsonMessageFrame(s, d, n); !bytes.Equal(got, want) {
			t.Fatalf("message:\n got %s\nwant %s", got, want)
		}
		r := driver.StreamRecord{Partition: int(n % 1024), Offset: n, Timestamp: at, Key: []byte(header), Value: body, Headers: map[string]string{s: header}}
		if got, want := appendRecordFrame(nil, s, &r), jsonRecordFrame(s, r); !bytes.Equal(got, want) {
			t.Fatalf("record:\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkWSMessageFrame(b *testing.B) {
	d := driver.Delivery{ID: "0196a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Body: bytes.Repeat([]byte("x"), 64),
		Headers: map[string]string{"trace": "00-abc-def-01"}, ReceiveCount: 1, SentAt: time.Now()}
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			recycleFrame(appendMessageFrame(newFrame(), "s1", &d, 0))
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			jsonMessageFrame("s1", d, 0)
		}
	})
}
