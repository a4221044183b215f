package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func TestHealthAndReady(t *testing.T) {
	a := newAPI(t, nil)
	var body map[string]string
	a.ok("GET", "/healthz", "", http.StatusOK, &body)
	if body["status"] != "ok" {
		t.Errorf("/healthz answered %v", body)
	}
	a.ok("GET", "/readyz", "", http.StatusOK, &body)
	if body["status"] != "ready" {
		t.Errorf("/readyz answered %v", body)
	}

	// A closed backend is not ready; the process is still alive.
	if err := a.b.Close(); err != nil {
		t.Fatal(err)
	}
	a.fail("GET", "/readyz", "", http.StatusServiceUnavailable, "closed")
	a.ok("GET", "/healthz", "", http.StatusOK, &body)
}

func TestCapabilities(t *testing.T) {
	a := newAPI(t, nil)
	var caps httpapi.Capabilities
	a.ok("GET", "/v1/capabilities", "", http.StatusOK, &caps)
	c := a.b.Capabilities()
	want := httpapi.Capabilities{
		Queues: c.Queues, FIFO: c.FIFO, Dedup: c.Dedup, Delay: c.Delay, DeadLetter: c.DeadLetter,
		Redrive: c.Redrive, LongPoll: c.LongPoll, Persistent: c.Persistent,
		Topics: c.Topics, Push: c.Push, Streams: c.Streams, Buses: c.Buses,
	}
	if caps != want {
		t.Errorf("capabilities %+v, want %+v", caps, want)
	}
	if !caps.Queues || caps.Persistent {
		t.Errorf("mem:// should support queues and not be persistent: %+v", caps)
	}
}

func TestUnknownEndpoint(t *testing.T) {
	a := newAPI(t, nil)
	for _, c := range []struct{ method, path string }{
		{"GET", "/"},
		{"GET", "/v2/queues"},
		{"GET", "/v1/queues/q/bogus"},
		{"POST", "/v1/queues/q/receive/extra"},
		{"POST", "/v1/queues/q"},      // a known path with another method
		{"GET", "/v1/queues/q/ack"},   // likewise
		{"DELETE", "/v1/queues"},      // likewise
		{"POST", "/healthz"},          // likewise
		{"GET", "/v1/queues/q/purge"}, // likewise
	} {
		e := a.fail(c.method, c.path, "", http.StatusNotFound, "not_found")
		if !strings.Contains(e.Message, c.path) {
			t.Errorf("%s %s: message %q does not name the path", c.method, c.path, e.Message)
		}
	}
}

func TestCreateQueue(t *testing.T) {
	a := newAPI(t, nil)

	// An empty body creates a queue with the defaults.
	info := a.create("plain", "")
	if info.Name != "plain" || info.CreatedAt.IsZero() {
		t.Errorf("create answered %+v", info)
	}
	var got driver.QueueAttributes
	info.Attributes.ApplyTo(&got)
	if want := driver.DefaultQueueAttributes(); got != want {
		t.Errorf("default attributes %+v, want %+v", got, want)
	}

	// Creating again with equal attributes (empty body, or the defaults
	// spelled out) answers 200 with the same queue.
	var again httpapi.QueueInfo
	a.ok("PUT", "/v1/queues/plain", "", http.StatusOK, &again)
	a.ok("PUT", "/v1/queues/plain", `{"visibility_timeout":"30s","retention_period":"96h"}`, http.StatusOK, &again)
	if !again.CreatedAt.Equal(info.CreatedAt) {
		t.Errorf("re-create changed created_at: %v, was %v", again.CreatedAt, info.CreatedAt)
	}
	// Different attributes conflict.
	a.fail("PUT", "/v1/queues/plain", `{"visibility_timeout":"45s"}`, http.StatusConflict, "conflict")

	// Every attribute is accepted and echoed.
	a.create("dlq", "")
	attrs := `{"visibility_timeout":"1m","retention_period":"1h","delivery_delay":"2s","receive_wait":"5s",` +
		`"max_message_size":2048,"max_receives":3,"dead_letter_queue":"dlq","content_based_dedup":true}`
	info = a.create("full", attrs)
	got = driver.QueueAttributes{}
	info.Attributes.ApplyTo(&got)
	want := driver.QueueAttributes{
		VisibilityTimeout: time.Minute, RetentionPeriod: time.Hour, DeliveryDelay: 2 * time.Second,
		ReceiveWait: 5 * time.Second, MaxMessageSize: 2048, MaxReceives: 3, DeadLetterQueue: "dlq",
		ContentBasedDedup: true,
	}
	if got != want {
		t.Errorf("attributes %+v, want %+v", got, want)
	}
	a.ok("PUT", "/v1/queues/full", attrs, http.StatusOK, nil)

	info = a.create("jobs.fifo", `{"fifo":true}`)
	if info.Attributes.FIFO == nil || !*info.Attributes.FIFO {
		t.Errorf("fifo queue answered %+v", info.Attributes)
	}
}

func TestUpdateQueue(t *testing.T) {
	a := newAPI(t, nil)
	created := a.create("q", `{"delivery_delay":"1s"}`)
	a.create("q-dlq", "")

	var info httpapi.QueueInfo
	a.ok("PATCH", "/v1/queues/q", `{"visibility_timeout":"2m","max_receives":5,"dead_letter_queue":"q-dlq"}`, http.StatusOK, &info)
	var got driver.QueueAttributes
	info.Attributes.ApplyTo(&got)
	want := driver.DefaultQueueAttributes()
	want.VisibilityTimeout, want.DeliveryDelay, want.MaxReceives, want.DeadLetterQueue = 2*time.Minute, time.Second, 5, "q-dlq"
	if got != want {
		t.Errorf("after PATCH: %+v, want %+v (absent fields keep their values)", got, want)
	}
	if info.UpdatedAt.Before(created.UpdatedAt) {
		t.Errorf("updated_at went back: %v < %v", info.UpdatedAt, created.UpdatedAt)
	}
	// GET shows the same attributes.
	got = driver.QueueAttributes{}
	current := a.info("q").Attributes
	current.ApplyTo(&got)
	if got != want {
		t.Errorf("GET after PATCH: %+v, want %+v", got, want)
	}
	// An empty object changes nothing.
	a.ok("PATCH", "/v1/queues/q", `{}`, http.StatusOK, &info)
	// Removing the dead-letter queue takes both fields.
	a.ok("PATCH", "/v1/queues/q", `{"max_receives":0,"dead_letter_queue":""}`, http.StatusOK, &info)
	if *info.Attributes.MaxReceives != 0 || *info.Attributes.DeadLetterQueue != "" {
		t.Errorf("dead-letter queue not removed: %+v", info.Attributes)
	}
	// FIFO is fixed at creation.
	a.fail("PATCH", "/v1/queues/q", `{"fifo":true}`, http.StatusConflict, "conflict")
	a.fail("PATCH", "/v1/queues/missing", `{}`, http.StatusNotFound, "not_found")
}

func TestListInfoDelete(t *testing.T) {
	a := newAPI(t, nil)
	var list httpapi.QueueList
	a.ok("GET", "/v1/queues", "", http.StatusOK, &list)
	if list.Queues == nil || len(list.Queues) != 0 {
		t.Errorf("empty list answered %#v, want []", list.Queues)
	}
	for _, n := range []string{"b", "c.fifo", "a-1", "A_2"} {
		a.create(n, "")
	}
	a.ok("GET", "/v1/queues", "", http.StatusOK, &list)
	if want := []string{"A_2", "a-1", "b", "c.fifo"}; !slices.Equal(list.Queues, want) {
		t.Errorf("list %v, want %v (sorted)", list.Queues, want)
	}

	a.sendOne("b", `{"body":"x"}`)
	info := a.info("b")
	if info.Name != "b" || info.Stats.Visible != 1 || info.CreatedAt.IsZero() || info.UpdatedAt.IsZero() {
		t.Errorf("info %+v", info)
	}
	a.fail("GET", "/v1/queues/missing", "", http.StatusNotFound, "not_found")

	status, body := a.do("DELETE", "/v1/queues/b", "")
	if status != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("DELETE: %d %q, want 204 and no body", status, body)
	}
	a.fail("GET", "/v1/queues/b", "", http.StatusNotFound, "not_found")
	a.fail("DELETE", "/v1/queues/b", "", http.StatusNotFound, "not_found")
	a.ok("GET", "/v1/queues", "", http.StatusOK, &list)
	if want := []string{"A_2", "a-1", "c.fifo"}; !slices.Equal(list.Queues, want) {
		t.Errorf("list after delete %v, want %v", list.Queues, want)
	}
}

func TestPurge(t *testing.T) {
	a := newAPI(t, nil)
	a.create("q", "")
	a.ok("POST", "/v1/queues/q/messages", `{"messages":[{"body":"1"},{"body":"2"},{"body":"3"}]}`, http.StatusOK, nil)
	var out struct {
		Purged int `json:"purged"`
	}
	a.ok("POST", "/v1/queues/q/purge", "", http.StatusOK, &out)
	if out.Purged != 3 {
		t.Errorf("purged %d, want 3", out.Purged)
	}
	a.wantStats("q", 0, 0, 0)
	a.ok("POST", "/v1/queues/q/purge", "", http.StatusOK, &out)
	if out.Purged != 0 {
		t.Errorf("second purge: %d, want 0", out.Purged)
	}
	a.fail("POST", "/v1/queues/missing/purge", "", http.StatusNotFound, "not_found")
}

func TestSendSingle(t *testing.T) {
	a := newAPI(t, nil)
	a.create("q", "")

	var resp httpapi.SendResponse
	a.ok("POST", "/v1/queues/q/messages", `{"body":"hello","headers":{"trace":"t1"},"dedup_id":"d-1","group":"g"}`, http.StatusOK, &resp)
	if resp.ID == "" || resp.Duplicate || resp.IDs != nil || resp.Results != nil {
		t.Fatalf("single send answered %+v", resp)
	}
	// The same dedup ID within the window returns the original's ID.
	var dup httpapi.SendResponse
	a.ok("POST", "/v1/queues/q/messages", `{"body":"other","dedup_id":"d-1"}`, http.StatusOK, &dup)
	if dup.ID != resp.ID || !dup.Duplicate {
		t.Errorf("duplicate answered %+v, want id %s and duplicate", dup, resp.ID)
	}
	a.wantStats("q", 1, 0, 0)

	ds := a.receive("q", `{"wait":"0s"}`)
	if len(ds) != 1 {
		t.Fatalf("received %d messages, want 1", len(ds))
	}
	d := ds[0]
	if d.ID != resp.ID || d.Body == nil || *d.Body != "hello" || d.BodyBase64 != nil || d.Headers["trace"] != "t1" ||
		d.DedupID != "d-1" || d.Group != "g" || d.ReceiveCount != 1 || d.Receipt == "" || d.SentAt.IsZero() ||
		d.FirstReceivedAt.IsZero() {
		t.Errorf("delivery %+v", d)
	}

	// A FIFO queue answers each message's sequence.
	a.create("f", `{"fifo":true}`)
	var s1, s2 httpapi.SendResponse
	a.ok("POST", "/v1/queues/f/messages", `{"body":"1","group":"g"}`, http.StatusOK, &s1)
	a.ok("POST", "/v1/queues/f/messages", `{"body":"2","group":"g"}`, http.StatusOK, &s2)
	if s1.Sequence == 0 || s2.Sequence <= s1.Sequence {
		t.Errorf("FIFO sequences %d, %d: want increasing", s1.Sequence, s2.Sequence)
	}
	// An empty object sends an empty message.
	a.sendOne("q", `{}`)
	a.fail("POST", "/v1/queues/missing/messages", `{"body":"x"}`, http.StatusNotFound, "not_found")
}

func TestSendBinary(t *testing.T) {
	a := newAPI(t, nil)
	a.create("q", "")
	binary := []byte{0xff, 0x00, 0xfe, 'a', 0x80}
	text := []byte("plain text ✓")
	a.sendOne("q", jsonText(t, map[string]string{"body_base64": base64.StdEncoding.EncodeToString(binary)}))
	a.sendOne("q", jsonText(t, map[string]string{"body_base64": base64.StdEncoding.EncodeToString(text)}))
	a.sendOne("q", `{"body_base64":""}`)

	ds := a.receive("q", `{"max":10,"wait":"0s"}`)
	if len(ds) != 3 {
		t.Fatalf("received %d messages, want 3", len(ds))
	}
	// Invalid UTF-8 comes back in body_base64, text in body.
	if ds[0].Body != nil || ds[0].BodyBase64 == nil || *ds[0].BodyBase64 != base64.StdEncoding.EncodeToString(binary) {
		t.Errorf("binary delivery: body %v, body_base64 %v", ds[0].Body, ds[0].BodyBase64)
	}
	if ds[1].BodyBase64 != nil || ds[1].Body == nil || *ds[1].Body != string(text) {
		t.Errorf("text delivery: body %v, body_base64 %v", ds[1].Body, ds[1].BodyBase64)
	}
	if ds[2].Body == nil || *ds[2].Body != "" {
		t.Errorf("empty delivery: body %v, body_base64 %v", ds[2].Body, ds[2].BodyBase64)
	}
}

func TestSendBatch(t *testing.T) {
	a := newAPI(t, nil)
	a.create("small", `{"max_message_size":1024}`)
	big := strings.Repeat("x", 2000)
	var resp httpapi.SendResponse
	a.ok("POST", "/v1/queues/small/messages",
		`{"messages":[{"body":"a"},{"body":"`+big+`"},{"body_base64":"/w=="},{"body":"d","delay":"10m"}]}`, http.StatusOK, &resp)
	if resp.ID != "" || len(resp.IDs) != 4 || len(resp.Results) != 4 {
		t.Fatalf("batch answered %+v", resp)
	}
	for i, r := range resp.Results {
		if r.ID != resp.IDs[i] {
			t.Errorf("results[%d].id %q, ids[%d] %q", i, r.ID, i, resp.IDs[i])
		}
	}
	// The entry over the queue's size limit fails alone.
	if resp.IDs[0] == "" || resp.IDs[2] == "" || resp.IDs[3] == "" || resp.IDs[1] != "" {
		t.Errorf("ids %q: want entry 1 empty, the others set", resp.IDs)
	}
	if e := resp.Results[1].Error; e == nil || e.Code != "too_large" || e.Field != "messages[1]" {
		t.Errorf("results[1].error = %+v, want too_large on messages[1]", e)
	}
	for _, i := range []int{0, 2, 3} {
		if resp.Results[i].Error != nil {
			t.Errorf("results[%d].error = %+v, want none", i, resp.Results[i].Error)
		}
	}
	a.wantStats("small", 2, 0, 1)

	// On a FIFO queue an entry without a group fails alone.
	a.create("f", `{"fifo":true}`)
	a.ok("POST", "/v1/queues/f/messages", `{"messages":[{"body":"a","group":"g"},{"body":"b"}]}`, http.StatusOK, &resp)
	if e := resp.Results[1].Error; e == nil || e.Code != "invalid_argument" || e.Field != "messages[1].group" {
		t.Errorf("results[1].error = %+v, want invalid_argument on messages[1].group", e)
	}
	if resp.Results[0].Error != nil || resp.Results[0].Sequence == 0 {
		t.Errorf("results[0] = %+v, want stored with a sequence", resp.Results[0])
	}
	a.wantStats("f", 1, 0, 0)

	// Duplicates within a batch and across batches report the original.
	a.create("d", "")
	a.ok("POST", "/v1/queues/d/messages", `{"messages":[{"body":"a","dedup_id":"x"},{"body":"b","dedup_id":"x"}]}`, http.StatusOK, &resp)
	if resp.IDs[0] != resp.IDs[1] || resp.Results[0].Duplicate || !resp.Results[1].Duplicate {
		t.Errorf("dedup within a batch: %+v", resp.Results)
	}
	a.wantStats("d", 1, 0, 0)

	// The full batch of driver.MaxBatch is accepted.
	full := `{"messages":[` + strings.TrimSuffix(strings.Repeat(`{"body":"m"},`, driver.MaxBatch), ",") + `]}`
	a.ok("POST", "/v1/queues/d/messages", full, http.StatusOK, &resp)
	if len(resp.IDs) != driver.MaxBatch {
		t.Errorf("full batch: %d ids", len(resp.IDs))
	}
	a.wantStats("d", 1+driver.MaxBatch, 0, 0)
}

func TestReceive(t *testing.T) {
	a := newAPI(t, nil)
	a.create("q", "")
	a.ok("POST", "/v1/queues/q/messages", `{"messages":[{"body":"1"},{"body":"2"},{"body":"3"},{"body":"4"},{"body":"5"}]}`, http.StatusOK, nil)

	// No body: one message, the queue's visibility.
	ds := a.receive("q", "")
	if len(ds) != 1 || *ds[0].Body != "1" {
		t.Fatalf("default receive: %+v", ds)
	}
	if ds = a.receive("q", `{"max":3,"wait":"0s"}`); len(ds) != 3 {
		t.Fatalf("max 3: got %d", len(ds))
	}
	if ds = a.receive("q", `{"max":1000,"wait":"0s","visibility":"1h"}`); len(ds) != 1 {
		t.Fatalf("max 1000: got %d", len(ds))
	}
	a.wantStats("q", 0, 5, 0)
	// An empty queue with wait 0s answers an empty list at once.
	if ds = a.receive("q", `{"max":10,"wait":"0s"}`); len(ds) != 0 {
		t.Fatalf("empty queue: got %d", len(ds))
	}
	// Also with a wait: the long poll ends empty when it times out.
	start := time.Now()
	if ds = a.receive("q", `{"wait":"10ms"}`); len(ds) != 0 {
		t.Fatalf("empty queue after a wait: got %d", len(ds))
	}
	if d := time.Since(start); d < 10*time.Millisecond {
		t.Errorf("wait 10ms returned after %v", d)
	}
}

func TestReceiveVisibility(t *testing.T) {
	a := newAPI(t, nil)
	a.create("q", "")
	id := a.sendOne("q", `{"body":"v"}`)
	ds := a.receive("q", `{"visibility":"20ms"}`)
	if len(ds) != 1 {
		t.Fatalf("got %d", len(ds))
	}
	// The long poll is woken when the visibility timeout ends; the
	// message comes again, counted.
	ds = a.receive("q", `{"wait":"20s","visibility":"1h"}`)
	if len(ds) != 1 || ds[0].ID != id || ds[0].ReceiveCount != 2 {
		t.Fatalf("redelivery: %+v", ds)
	}
	a.wantStats("q", 0, 1, 0)
}

func TestLongPollWokenBySend(t *testing.T) {
	a := newAPI(t, nil)
	a.create("q", `{"receive_wait":"20s"}`)
	done := make(chan []httpapi.Delivery)
	start := time.Now()
	go func() {
		// The queue's receive_wait applies: this polls up to 20s.
		var resp httpapi.ReceiveResponse
		status, _, data, err := a.try("POST", "/v1/queues/q/receive", strings.NewReader(`{"max":10}`))
		if err != nil || status != http.StatusOK || json.Unmarshal(data, &resp) != nil {
			t.Errorf("long poll: %d %s %v", status, data, err)
		}
		done <- resp.Messages
	}()
	id := a.sendOne("q", `{"body":"wake"}`)
	ds := <-done
	if len(ds) != 1 || ds[0].ID != id {
		t.Fatalf("long poll answered %+v, want message %s", ds, id)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("long poll took %v; a send should wake it", d)
	}
}

func TestAckNackExtend(t *testing.T) {
	a := newAPI(t, nil)
	a.create("q", "")
	a.sendOne("q", `{"body":"m"}`)

	r1 := a.receive("q", `{"visibility":"1h"}`)[0].Receipt
	if f := a.settle("q", "nack", jsonText(t, map[string]any{"receipts": []string{r1}})); len(f) != 0 {
		t.Fatalf("nack: failed %+v", f)
	}
	a.wantStats("q", 1, 0, 0)
	d := a.receive("q", `{"visibility":"1h"}`)[0]
	if d.ReceiveCount != 2 {
		t.Errorf("receive count after nack %d, want 2", d.ReceiveCount)
	}
	r2 := d.Receipt

	// r1 is stale now: the message was delivered again. Extend and ack
	// report it in "failed" by index and settle the valid receipt.
	f := a.settle("q", "extend", jsonText(t, map[string]any{"receipts": []string{r1, r2}, "visibility": "2h"}))
	if len(f) != 1 || f[0].Index != 0 || f[0].Code != "receipt_invalid" || f[0].Message == "" {
		t.Errorf("extend with a stale receipt: failed %+v", f)
	}
	// The extended message must stay hidden. (The engine counts it as
	// delayed, not in flight; see the report on internal/engine.)
	if s := a.stats("q"); s[0] != 0 || s[1]+s[2] != 1 {
		t.Errorf("after extend: stats %v, want the message hidden", s)
	}
	f = a.settle("q", "nack", jsonText(t, map[string]any{"receipts": []string{r1}}))
	if len(f) != 1 || f[0].Index != 0 || f[0].Code != "receipt_invalid" {
		t.Errorf("nack with a stale receipt: failed %+v", f)
	}
	f = a.settle("q", "ack", jsonText(t, map[string]any{"receipts": []string{r1, r2, "not-a-receipt"}}))
	if len(f) != 2 || f[0].Index != 0 || f[0].Code != "receipt_invalid" || f[1].Index != 2 || f[1].Code != "receipt_invalid" {
		t.Errorf("ack with a stale and a malformed receipt: failed %+v", f)
	}
	a.wantStats("q", 0, 0, 0)
	// Acking a message that is gone succeeds.
	if f = a.settle("q", "ack", jsonText(t, map[string]any{"receipts": []string{r2}})); len(f) != 0 {
		t.Errorf("second ack: failed %+v", f)
	}

	// nack with a delay makes the message delayed; "0s" is the default.
	a.sendOne("q", `{"body":"n"}`)
	r := a.receive("q", `{"visibility":"1h"}`)[0].Receipt
	a.settle("q", "nack", jsonText(t, map[string]any{"receipts": []string{r}, "delay": "10m"}))
	a.wantStats("q", 0, 0, 1)
	// The receipt stays valid to bring it back at once.
	if f = a.settle("q", "nack", jsonText(t, map[string]any{"receipts": []string{r}, "delay": "0s"})); len(f) != 0 {
		t.Errorf("nack 0s: failed %+v", f)
	}
	a.wantStats("q", 1, 0, 0)

	for op, body := range map[string]string{
		"ack": `{"receipts":["x"]}`, "nack": `{"receipts":["x"]}`, "extend": `{"receipts":["x"],"visibility":"1s"}`,
	} {
		a.fail("POST", "/v1/queues/missing/"+op, body, http.StatusNotFound, "not_found")
	}
}

func TestRedrive(t *testing.T) {
	a := newAPI(t, nil)
	a.create("work-dlq", "")
	a.create("work", `{"max_receives":1,"dead_letter_queue":"work-dlq"}`)
	a.create("other", "")
	a.ok("POST", "/v1/queues/work/messages", `{"messages":[{"body":"1"},{"body":"2"},{"body":"3"}]}`, http.StatusOK, nil)

	// Receive each message once, nack it, and the next receive
	// dead-letters it instead of delivering it.
	ds := a.receive("work", `{"max":10,"visibility":"1h"}`)
	receipts := make([]string, len(ds))
	for i, d := range ds {
		receipts[i] = d.Receipt
	}
	a.settle("work", "nack", jsonText(t, map[string]any{"receipts": receipts}))
	if ds = a.receive("work", `{"max":10,"wait":"0s"}`); len(ds) != 0 {
		t.Fatalf("received %d, want all dead-lettered", len(ds))
	}
	a.wantStats("work", 0, 0, 0)
	a.wantStats("work-dlq", 3, 0, 0)

	// A dead-lettered message names its source queue.
	d := a.receive("work-dlq", `{"visibility":"1h"}`)[0]
	if d.SourceQueue != "work" {
		t.Errorf("dead-lettered message: source_queue %q, want work", d.SourceQueue)
	}
	a.settle("work-dlq", "nack", jsonText(t, map[string]any{"receipts": []string{d.Receipt}}))

	var out httpapi.RedriveResponse
	a.ok("POST", "/v1/queues/work-dlq/redrive", `{"max":1}`, http.StatusOK, &out)
	if out.Moved != 1 {
		t.Errorf("redrive max 1 moved %d", out.Moved)
	}
	a.wantStats("work", 1, 0, 0)
	a.ok("POST", "/v1/queues/work-dlq/redrive", `{"max":1,"destination":"other"}`, http.StatusOK, &out)
	if out.Moved != 1 {
		t.Errorf("redrive to other moved %d", out.Moved)
	}
	a.wantStats("other", 1, 0, 0)
	// No body moves all the rest back to their source.
	a.ok("POST", "/v1/queues/work-dlq/redrive", "", http.StatusOK, &out)
	if out.Moved != 1 {
		t.Errorf("redrive all moved %d", out.Moved)
	}
	a.wantStats("work", 2, 0, 0)
	a.wantStats("work-dlq", 0, 0, 0)
	a.ok("POST", "/v1/queues/work-dlq/redrive", `{"rate":100}`, http.StatusOK, &out)
	if out.Moved != 0 {
		t.Errorf("redrive of an empty queue moved %d", out.Moved)
	}
	a.fail("POST", "/v1/queues/missing/redrive", "", http.StatusNotFound, "not_found")
	// A message sent to the DLQ directly has no source: name a destination.
	a.sendOne("work-dlq", `{"body":"direct"}`)
	a.fail("POST", "/v1/queues/work-dlq/redrive", "", http.StatusBadRequest, "invalid_argument")
	a.wantStats("work-dlq", 1, 0, 0)
	// A dead-letter queue in use cannot be deleted.
	a.fail("DELETE", "/v1/queues/work-dlq", "", http.StatusConflict, "conflict")
}

// TestReceiveMaxDefault checks that an absent max means one message,
// while an explicit 0 is refused.
func TestReceiveMaxDefault(t *testing.T) {
	a := newAPI(t, nil)
	a.create("q", "")
	a.ok("POST", "/v1/queues/q/messages", `{"messages":[{"body":"1"},{"body":"2"}]}`, http.StatusOK, nil)
	if ds := a.receive("q", `{}`); len(ds) != 1 {
		t.Errorf("receive without max received %d, want 1", len(ds))
	}
	a.fail("POST", "/v1/queues/q/receive", `{"max":0}`, http.StatusBadRequest, "invalid_argument")
}
