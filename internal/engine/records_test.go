package engine

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
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
		{recCreateTopic, &topicRecord{TID: 3, Name: "t.fifo", Attrs: driver.TopicAttributes{FIFO: true, ContentBasedDedup: true, MaxMessageSize: 4096}, At: 5}},
		{recDeleteTopic, &tidRecord{TID: 3}},
		{recSubscribe, &subscribeRecord{TID: 3, Name: "web", Spec: driver.Subscription{Kind: driver.KindHTTP, Endpoint: "https://example.com/hook",
			FilterPolicy: `{"a":["b"]}`, FilterScope: driver.ScopeBody, Raw: true, Push: driver.DefaultPushPolicy()}, Token: "tok", QID: 8, At: 9}},
		{recSubscribe, &subscribeRecord{TID: 3, Name: "d", Spec: driver.Subscription{Kind: driver.KindDurable, Attributes: &attrs}, Active: true, QID: 9}},
		{recUnsubscribe, &unsubscribeRecord{TID: 3, Name: "d"}},
		{recPublish, &publishRecord{TID: 3, Seq: 10, TopicSeq: 2, PublishedAt: 11, Topic: "t.fifo", Group: "g", DedupID: "k",
			Headers: map[string]string{"h": "v"}, Body: []byte("body"), Targets: []publishTarget{{QID: 8, Seq: 11, FIFOSeq: 1, Raw: true}, {QID: 9, Seq: 12}}}},
		{recCreateStream, &streamRecord{SID: 4, Name: "s", Attrs: driver.StreamAttributes{Partitions: 8, Retention: time.Hour, RetentionBytes: 1 << 30, Compact: true, DeleteRetention: time.Minute, MaxRecordSize: 2048}, At: 6}},
		{recDeleteStream, &sidRecord{SID: 4}},
		{recAppend, &appendRecord{SID: 4, Partition: 7, Offset: 1 << 40, Timestamp: 99, Key: []byte("k"), Value: []byte("v"), Headers: map[string]string{"a": "b"}}},
		{recGroup, &groupRecord{SID: 4, Group: "g", StartFrom: driver.FromLatest, Generation: 3, Offsets: map[int]int64{0: 5, 7: 1 << 33}}},
		{recGroup, &groupRecord{SID: 4, Group: "g", Delete: true}},
		{recPublish, &publishRecord{Seq: 20, PublishedAt: 21, Topic: "bus", Group: "src", Body: []byte(`{"detail":{}}`), Targets: []publishTarget{
			{QID: 1, Seq: 21, Raw: true}, {QID: 2, Seq: 22, Raw: true, Body: []byte(`{"t":1}`)}, {QID: 3, Seq: 23, Raw: true, Body: []byte{}, Headers: map[string]string{"courier-dlq-reason": "backlog-full"}},
		}}},
		{recCreateBus, &busRecord{BID: 5, Name: "orders", Attrs: driver.BusAttributes{Description: "d"}, At: 7}},
		{recDeleteBus, &bidRecord{BID: 5}},
		{recPutRule, &ruleRecord{BID: 5, Name: "r", Spec: []byte(`{"pattern":{"a":["b"]}}`), QIDs: []uint64{7, 8}, Created: 1, At: 2}},
		{recDeleteRule, &busItemRecord{BID: 5, Name: "r"}},
		{recCreateArchive, &archiveRecord{BID: 5, Name: "a", Spec: []byte(`{"retention":0}`), SID: 9, At: 3}},
		{recReplay, &replayRecord{Name: "rp", State: []byte(`{"next":4}`)}},
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
	f.Add(recPublish, encodeRecord(&publishRecord{TID: 1, Seq: 2, Topic: "t", Body: []byte("x"), Targets: []publishTarget{{QID: 1, Seq: 3}}}))
	f.Add(recAppend, encodeRecord(&appendRecord{SID: 1, Key: []byte("k"), Value: []byte("v")}))
	f.Add(recGroup, encodeRecord(&groupRecord{SID: 1, Group: "g", Offsets: map[int]int64{1: 2}}))
	f.Add(recSubscribe, encodeRecord(&subscribeRecord{TID: 1, Name: "s", Spec: driver.Subscription{Kind: driver.KindQueue, Queue: "q"}}))
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

// TestBuildEnvelope checks that the hand-built envelope is the JSON that
// encoding/json reads back, whatever the strings hold.
func TestBuildEnvelope(t *testing.T) {
	ev := driver.Event{ID: "id-\"1\"", Source: "src\\\n\t\r\x01<>&\u2028é", DetailType: "type",
		Detail: json.RawMessage(" {\"a\": [1, 2]}\n"), Resources: []string{"r1", "r\"2"}, Account: "acct", Region: "zone"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	id, env := buildEnvelope(&ev, at.UnixNano(), "rp")
	var got envelopeJSON
	if err := json.Unmarshal(env, &got); err != nil {
		t.Fatalf("envelope %s: %v", env, err)
	}
	want := envelopeJSON{Version: "0", ID: ev.ID, DetailType: "type", Source: ev.Source, Account: "acct", Time: "2026-01-02T03:04:05Z",
		Region: "zone", Resources: ev.Resources, Detail: json.RawMessage(`{"a": [1, 2]}`), ReplayName: "rp"}
	if id != ev.ID || !reflect.DeepEqual(got, want) {
		t.Fatalf("envelope %s decodes to %+v; want %+v", env, got, want)
	}
	ev.ID, ev.Resources = "", nil
	id, env = buildEnvelope(&ev, at.UnixNano(), "")
	if len(id) != 36 || !strings.Contains(string(env), `"resources":[]`) || strings.Contains(string(env), "replay-name") {
		t.Fatalf("generated id %q, envelope %s", id, env)
	}
}
