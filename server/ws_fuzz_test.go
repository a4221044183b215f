package server

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
)

// FuzzDecodeWSFrame feeds arbitrary frames to the WebSocket frame decoder.
// It must never panic; it fails only with a *driver.ValidationError naming
// a field, answered as 400 or 413; and a frame it accepts, re-encoded,
// decodes to the same request. Seeds: below and testdata/fuzz.
func FuzzDecodeWSFrame(f *testing.F) {
	for _, s := range []string{
		`{"op":"ping","id":"1"}`,
		`{"op":"publish","id":"2","topic":"t","body":"hi","headers":{"k":"v"},"dedup_id":"d","group":"g"}`,
		`{"op":"publish","topic":"t","messages":[{"body":"a"},{"body_base64":"/wA=","headers":{}}]}`,
		`{"op":"send","queue":"q","body":"x","delay":"5s"}`,
		`{"op":"send","queue":"q","messages":[]}`,
		`{"op":"put_events","entries":[{"source":"s","detail-type":"d","detail":{ "a" : 1 },"time":"2026-01-02T03:04:05Z"}]}`,
		`{"op":"put_events","bus":"b","entries":[{"source":"s","detail-type":"d","detail":null,"time":"soon"}]}`,
		`{"op":"append","stream":"s","records":[{"key":"k","value_base64":"AA==","partition":1,"headers":{"h":"v"}}]}`,
		`{"op":"subscribe","sub":"a","topic":"t","filter_policy":{ "level" : ["error"] },"filter_scope":"attributes","raw":true,"buffer":16,"overflow":"block","credit":10}`,
		`{"op":"subscribe","queue":"q","visibility":"30s","credit":0}`,
		`{"op":"subscribe","topic":"t","subscription":"d"}`,
		`{"op":"subscribe","stream":"s","partition":3,"from":{"offset":7}}`,
		`{"op":"subscribe","stream":"s","from":{"time":"2026-01-02T03:04:05+02:00"}}`,
		`{"op":"subscribe","stream":"s","from":"earliest"}`,
		`{"op":"unsubscribe","sub":"a"}`,
		`{"op":"credit","sub":"a","credit":5}`,
		`{"op":"ack","sub":"a","receipts":["r1","r2"]}`,
		`{"op":"nack","queue":"q","receipts":["r"],"delay":"1s"}`,
		`{"op":"extend","topic":"t","subscription":"d","receipts":["r"],"visibility":"1m"}`,
		`{"OP":"ping"}`,
		`{"op":"ping","extra":1}`,
		`{"op":"send","queue":"q","topic":"t"}`,
		`{"op":"subscribe","queue":"q","raw":true}`,
		`{"op":"subscribe","topic":"t","filter_policy":[1]}`,
		`{"op":"credit","sub":"a b","credit":1}`,
		`{"op":"ping"} {}`,
		`{"op":`,
		`[]`,
		`null`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeWSFrame(data)
		if err != nil {
			var ve *driver.ValidationError
			if !errors.As(err, &ve) || ve.Field == "" {
				t.Fatalf("decoder error %T %v: want a *driver.ValidationError naming a field", err, err)
			}
			if status, _ := httpapi.ErrorOf(err); status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
				t.Fatalf("decoder error %v answers %d, want 400 or 413", err, status)
			}
			if req == nil {
				t.Fatal("no request with the error (the id is taken from it)")
			}
			return
		}
		if _, ok := wsFields[req.frame.Op]; !ok {
			t.Fatalf("accepted op %q", req.frame.Op)
		}
		enc, err := httpapi.Marshal(req.frame)
		if err != nil {
			t.Fatalf("encoding %+v: %v", req.frame, err)
		}
		again, err := decodeWSFrame(enc)
		if err != nil {
			t.Fatalf("%s re-encoded as %s fails: %v", data, enc, err)
		}
		if !reflect.DeepEqual(again, req) {
			t.Fatalf("%s re-encoded as %s decodes to\n%+v\nwant\n%+v", data, enc, again, req)
		}
		if strings.Contains(string(enc), `"id":""`) {
			t.Fatalf("encoded %s: an empty id is absent", enc)
		}
	})
}
