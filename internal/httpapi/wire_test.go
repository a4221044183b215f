package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

func TestDurationJSON(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		json string
	}{
		{0, `"0s"`},
		{30 * time.Second, `"30s"`},
		{90 * time.Second, `"1m30s"`},
		{500 * time.Millisecond, `"500ms"`},
		{96 * time.Hour, `"96h0m0s"`},
		{-time.Second, `"-1s"`},
		{time.Nanosecond, `"1ns"`},
		{1<<63 - 1, `"2562047h47m16.854775807s"`},
		{-1 << 63, `"-2562047h47m16.854775808s"`},
	} {
		b, err := json.Marshal(httpapi.Duration(c.d))
		if err != nil || string(b) != c.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", c.d, b, err, c.json)
		}
		var back httpapi.Duration
		if err := json.Unmarshal(b, &back); err != nil || time.Duration(back) != c.d {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", b, time.Duration(back), err, c.d)
		}
	}
	// Every Go duration string is accepted.
	for in, want := range map[string]time.Duration{
		`"0"`: 0, `"1h"`: time.Hour, `"1.5s"`: 1500 * time.Millisecond, `"2h45m"`: 165 * time.Minute,
		`"100us"`: 100 * time.Microsecond, `"100µs"`: 100 * time.Microsecond, `"+5s"`: 5 * time.Second,
	} {
		var d httpapi.Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || time.Duration(d) != want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
}

func TestDurationJSONErrors(t *testing.T) {
	for in, mention := range map[string]string{
		`"soon"`:                              `"soon"`,
		`""`:                                  `""`,
		`"5"`:                                 `"5"`,
		`"1 s"`:                               `"1 s"`,
		`"1d"`:                                `"1d"`,
		`30`:                                  `30`,
		`true`:                                `true`,
		`{}`:                                  `{}`,
		`["1s"]`:                              `["1s"]`,
		`"9999999999h"`:                       `"9999999999h"`,
		`"` + strings.Repeat("9", 100) + `s"`: `"999`,
	} {
		var d httpapi.Duration
		err := json.Unmarshal([]byte(in), &d)
		if err == nil {
			t.Errorf("Unmarshal(%s) = %v, want an error", in, time.Duration(d))
			continue
		}
		if !strings.Contains(err.Error(), mention) || !strings.Contains(err.Error(), `"30s"`) {
			t.Errorf("Unmarshal(%s): error %q should quote the input and show an example", in, err)
		}
		if len(err.Error()) > 200 {
			t.Errorf("Unmarshal(%.20s...): error is %d bytes long", in, len(err.Error()))
		}
	}
}

func TestMessageJSON(t *testing.T) {
	for _, m := range []driver.Message{
		{Body: []byte("hello"), Headers: map[string]string{"trace": "t1"}, Delay: 5 * time.Second, DedupID: "d", Group: "g"},
		{Body: []byte{0xff, 0x00, 0xfe}},
		{Body: []byte("\x80 not utf-8")},
		{Body: []byte{}},
		{Body: []byte("✓ utf-8")},
	} {
		j := httpapi.MessageJSON(m)
		if (j.Body == nil) == (j.BodyBase64 == nil) {
			t.Errorf("MessageJSON(%q): want exactly one of body and body_base64", m.Body)
		}
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		var back httpapi.Message
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		got, err := back.Driver("message")
		if err != nil || !bytes.Equal(got.Body, m.Body) || !maps.Equal(got.Headers, m.Headers) || got.Delay != m.Delay ||
			got.DedupID != m.DedupID || got.Group != m.Group {
			t.Errorf("%+v through %s came back %+v, %v", m, b, got, err)
		}
	}
}

func TestMessageDriverErrors(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, c := range []struct {
		m     httpapi.Message
		field string
	}{
		{httpapi.Message{Body: s("x"), BodyBase64: s("eA==")}, "messages[2].body_base64"},
		{httpapi.Message{BodyBase64: s("not base64")}, "messages[2].body_base64"},
		{httpapi.Message{BodyBase64: s("eA")}, "messages[2].body_base64"},   // unpadded
		{httpapi.Message{BodyBase64: s("-_8=")}, "messages[2].body_base64"}, // URL alphabet
	} {
		_, err := c.m.Driver("messages[2]")
		var ve *driver.ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field || !errors.Is(err, driver.ErrInvalid) {
			t.Errorf("Driver(%+v) = %v, want invalid %q", c.m, err, c.field)
		}
	}
	// Neither set is an empty body.
	m, err := (&httpapi.Message{}).Driver("m")
	if err != nil || m.Body == nil || len(m.Body) != 0 {
		t.Errorf("no body: %+v, %v; want an empty body", m, err)
	}
}

func TestAttributesJSON(t *testing.T) {
	a := driver.QueueAttributes{
		VisibilityTimeout: time.Minute, RetentionPeriod: time.Hour, DeliveryDelay: 2 * time.Second,
		ReceiveWait: 5 * time.Second, MaxMessageSize: 2048, MaxReceives: 3, DeadLetterQueue: "dlq",
		FIFO: true, ContentBasedDedup: true,
	}
	b, err := json.Marshal(httpapi.AttributesJSON(a))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"visibility_timeout":"1m0s","retention_period":"1h0m0s","delivery_delay":"2s","receive_wait":"5s",` +
		`"max_message_size":2048,"max_receives":3,"dead_letter_queue":"dlq","fifo":true,"content_based_dedup":true}`
	if string(b) != want {
		t.Errorf("AttributesJSON:\n got %s\nwant %s", b, want)
	}
	var j httpapi.QueueAttributes
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	var back driver.QueueAttributes
	j.ApplyTo(&back)
	if back != a {
		t.Errorf("round trip: %+v, want %+v", back, a)
	}
	// Zero values are written too: the answer is complete.
	b, _ = json.Marshal(httpapi.AttributesJSON(driver.QueueAttributes{}))
	for _, k := range []string{"visibility_timeout", "max_receives", "dead_letter_queue", "fifo", "content_based_dedup"} {
		if !strings.Contains(string(b), `"`+k+`"`) {
			t.Errorf("zero attributes %s lack %s", b, k)
		}
	}
	// ApplyTo changes only the fields that are set.
	var partial httpapi.QueueAttributes
	if err := json.Unmarshal([]byte(`{"receive_wait":"20s","fifo":false}`), &partial); err != nil {
		t.Fatal(err)
	}
	got := a
	partial.ApplyTo(&got)
	exp := a
	exp.ReceiveWait, exp.FIFO = 20*time.Second, false
	if got != exp {
		t.Errorf("partial ApplyTo: %+v, want %+v", got, exp)
	}
}

func TestQueueInfoRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	info := driver.QueueInfo{
		Name: "orders", Attributes: driver.DefaultQueueAttributes(), CreatedAt: now, UpdatedAt: now.Add(time.Second),
		Stats: driver.QueueStats{Visible: 3, InFlight: 2, Delayed: 1, OldestAge: 90 * time.Second},
	}
	b, err := json.Marshal(httpapi.InfoJSON(info))
	if err != nil {
		t.Fatal(err)
	}
	var j httpapi.QueueInfo
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if got := j.Info(); !reflect.DeepEqual(got, info) {
		t.Errorf("round trip through %s:\n got %+v\nwant %+v", b, got, info)
	}
	if !strings.Contains(string(b), `"oldest_age":"1m30s"`) {
		t.Errorf("stats should carry oldest_age as a duration string: %s", b)
	}
}

func TestDeliveryRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, body := range [][]byte{[]byte("text"), {0xff, 0xfe}, {}} {
		d := driver.Delivery{
			ID: "id-1", Body: body, Headers: map[string]string{"k": "v"}, Receipt: "r", ReceiveCount: 2,
			SentAt: now, FirstReceivedAt: now.Add(time.Second), Group: "g", DedupID: "dd", Sequence: 7, SourceQueue: "src",
		}
		b, err := json.Marshal(httpapi.DeliveryJSON(d))
		if err != nil {
			t.Fatal(err)
		}
		var j httpapi.Delivery
		if err := json.Unmarshal(b, &j); err != nil {
			t.Fatal(err)
		}
		got, err := j.Driver()
		if err != nil || !reflect.DeepEqual(got, d) {
			t.Errorf("round trip through %s:\n got %+v, %v\nwant %+v", b, got, err, d)
		}
	}
	bad := "%%"
	if _, err := (httpapi.Delivery{BodyBase64: &bad}).Driver(); !errors.Is(err, driver.ErrInvalid) {
		t.Errorf("bad body_base64 in a delivery: %v, want ErrInvalid", err)
	}
}

func TestReceiveRequestDriver(t *testing.T) {
	d := func(v time.Duration) *httpapi.Duration { x := httpapi.Duration(v); return &x }
	ten := 10
	for _, c := range []struct {
		req  httpapi.ReceiveRequest
		want driver.ReceiveRequest
	}{
		{httpapi.ReceiveRequest{}, driver.ReceiveRequest{Wait: driver.WaitQueueDefault}},
		{httpapi.ReceiveRequest{Wait: d(0)}, driver.ReceiveRequest{Wait: driver.NoWait}},
		{httpapi.ReceiveRequest{Max: &ten, Wait: d(20 * time.Second), Visibility: httpapi.Duration(time.Minute)},
			driver.ReceiveRequest{Max: 10, Wait: 20 * time.Second, Visibility: time.Minute}},
	} {
		if got, err := c.req.Driver(); err != nil || got != c.want {
			t.Errorf("%+v.Driver() = %+v, %v; want %+v", c.req, got, err, c.want)
		}
	}
	zero := 0
	if _, err := (httpapi.ReceiveRequest{Max: &zero}).Driver(); err == nil {
		t.Error("an explicit max of 0 was accepted")
	}
}

func TestSettleFailureJSON(t *testing.T) {
	f := httpapi.SettleResponse{Failed: []httpapi.SettleFailure{{Index: 2, Error: httpapi.Error{Code: "receipt_invalid", Message: "stale"}}}}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"failed":[{"index":2,"code":"receipt_invalid","message":"stale"}]}`; string(b) != want {
		t.Errorf("settle answer %s, want %s", b, want)
	}
	var back httpapi.SettleResponse
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, f) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if !errors.Is(back.Failed[0].Err(), driver.ErrReceiptInvalid) {
		t.Errorf("failure Err() = %v, want ErrReceiptInvalid", back.Failed[0].Err())
	}
}
