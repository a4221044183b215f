package cloudevent_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/courier-io/courier/cloudevent"
)

// FuzzParseHTTP checks that ParseHTTP never panics and that whatever it
// accepts survives MarshalStructured and WriteBinary: both re-parse to an
// equal event (JSON data may lose the white space around it in structured
// form).
func FuzzParseHTTP(f *testing.F) {
	ev := `"specversion":"1.0","type":"t","source":"/s","id":"1"`
	seeds := []struct{ ct, headers, body string }{
		{"application/cloudevents+json", "", `{` + ev + `,"time":"2018-04-05T17:31:00Z","ext":5,"b":true,"datacontenttype":"text/xml","data":"<x/>"}`},
		{"application/cloudevents+json; charset=utf-8", "", `{` + ev + `,"data":{"a":[1,2]}}`},
		{"application/cloudevents+json", "", `{` + ev + `,"data_base64":"AAH/"}`},
		{"application/cloudevents+json", "", `{` + ev + `,"subject":null,"data":" x "}`},
		{"application/cloudevents-batch+json", "", `[{` + ev + `},{` + ev + `,"data":null}]`},
		{"application/cloudevents-batch+json", "", `[]`},
		{"application/json", "ce-specversion:1.0\nce-id:1\nce-source:/s\nce-type:t\nce-subject:Euro%20%E2%82%AC\nce-ext:\"quoted \\\" value\"", ` {"a": 1} `},
		{"", "ce-specversion:1.0\nce-id:1\nce-source:/s\nce-type:t\nce-time:2018-04-05T03:56:24.5+01:00", "\x00\xff"},
		{"text/plain", "ce-specversion:1.0\nce-id:%41\nce-source:urn:x\nce-type:t\nce-dataschema:http://x/s", "null"},
		{"application/cloudevents+json", "", `{` + ev + `,"datacontenttype":"application/cloudevents+json","data":{` + ev + `}}`},
		{"application/cloudevents+avro", "", ""},
		{"text/plain", "", "not an event"},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.headers, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ct, headers string, body []byte) {
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		for line := range strings.SplitSeq(headers, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				h[k] = append(h[k], v) // not canonicalised: exercise any key
			}
		}
		events, err := cloudevent.ParseHTTP(h, body)
		if err != nil {
			if events != nil {
				t.Fatalf("ParseHTTP returned events and error %v", err)
			}
			return
		}
		for i, e := range events {
			if err := e.Validate(); err != nil {
				t.Fatalf("event %d parsed but is invalid: %v", i, err)
			}
			out, err := e.MarshalStructured()
			if err != nil {
				t.Fatalf("event %d: MarshalStructured: %v", i, err)
			}
			if len(out) <= cloudevent.MaxEventSize {
				again, err := cloudevent.ParseHTTP(http.Header{"Content-Type": {"application/cloudevents+json"}}, out)
				if err != nil {
					t.Fatalf("event %d: re-parsing %s: %v", i, out, err)
				}
				want := e
				if bytes.Contains(out, []byte(`"data":`)) && !bytes.Contains(out, []byte(`"data_base64":`)) {
					want.Data = bytes.Trim(e.Data, " \t\r\n")
				}
				if d := diff(again[0], want); d != "" {
					t.Fatalf("event %d: structured round trip of %s: %s", i, out, d)
				}
			}
			if strings.HasPrefix(strings.ToLower(e.DataContentType), "application/cloudevents") {
				continue // cannot travel in binary mode; see WriteBinary
			}
			bh := http.Header{}
			data := e.WriteBinary(bh)
			again, err := cloudevent.ParseHTTP(bh, data)
			if errors.Is(err, cloudevent.ErrTooLarge) {
				// Percent-encoded headers can make an event bigger than its
				// JSON object.
				continue
			}
			if err != nil {
				t.Fatalf("event %d: re-parsing binary %v: %v", i, bh, err)
			}
			if d := diff(again[0], e); d != "" {
				t.Fatalf("event %d: binary round trip %v: %s", i, bh, d)
			}
		}
	})
}
