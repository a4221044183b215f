package engine

import (
	"bytes"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
)

func TestRecordsRoundTrip(t *testing.T) {
	attrs := driver.DefaultQueueAttributes()
	attrs.DeadLetterQueue, attrs.MaxReceives, attrs.FIFO = "dlq", 3, true
	cases := []struct {
		typ byte
		rec record
	}{
		{recMeta, &metaRecord{Nonce: 42}},
		{recCreateQueue, &queueRecord{QID: 7, Name: "orders.fifo", Attrs: attrs, At: time.Now().UnixNano()}},
		{recPurge, &qidRecord{QID: 9}},
		{recSend, &sendRecord{QID: 1, Seq: 2, FIFOSeq: 3, SentAt: 4, VisibleAt: 5, Group: "g", DedupID: "d", Headers: map[string]string{"k": "v", "": ""}, Body: []byte{0, 1, 2}}},
		{recReceive, &receiveRecord{QID: 1, At: -5, Items: []receiveItem{{1, 2, 3}, {4, 5, -6}}}},
		{recAck, &ackRecord{QID: 1, Seqs: []uint64{1, 1 << 60}}},
		{recVisibility, &visibilityRecord{QID: 1, At: 2, VisibleAt: 3, Seqs: []uint64{9}}},
		{recMove, &moveRecord{From: 1, To: 2, Seq: 3, At: 4, Source: "src"}},
	}
	for _, c := range cases {
		payload := encodeRecord(c.rec)
		got, err := decodeRecord(c.typ, payload)
		if err != nil {
			t.Fatalf("type %d: %v", c.typ, err)
		}
		if !reflect.DeepEqual(got, c.rec) {
			t.Fatalf("type %d: decoded %+v; want %+v", c.typ, got, c.rec)
		}
		// Every strict prefix is rejected, never misread.
		for n := range len(payload) {
			if _, err := decodeRecord(c.typ, payload[:n]); err == nil {
				t.Fatalf("type %d: prefix of %d/%d bytes decoded without error", c.typ, n, len(payload))
			}
		}
		if _, err := decodeRecord(c.typ, append(bytes.Clone(payload), 0)); err == nil {
			t.Fatalf("type %d: trailing byte accepted", c.typ)
		}
	}
	if _, err := decodeRecord(200, nil); err == nil {
		t.Fatal("unknown record type accepted")
	}
}

// FuzzDecodeRecord checks that no input makes the record decoder panic or
// allocate beyond its input, and that what decodes re-encodes identically.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(recSend, encodeRecord(&sendRecord{QID: 1, Seq: 2, Headers: map[string]string{"a": "b"}, Body: []byte("x")}))
	f.Add(recReceive, encodeRecord(&receiveRecord{QID: 1, Items: []receiveItem{{1, 1, 1}}}))
	f.Add(recCreateQueue, encodeRecord(&queueRecord{QID: 1, Name: "q", Attrs: driver.DefaultQueueAttributes()}))
	f.Add(recAck, []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, typ byte, payload []byte) {
		r, err := decodeRecord(typ, payload)
		if err != nil {
			return
		}
		again, err := decodeRecord(typ, encodeRecord(r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoded record differs: %+v vs %+v (%v)", again, r, err)
		}
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
