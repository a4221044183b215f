package cloudevent_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/cloudevent"
)

// header builds an http.Header from "Name: value" lines; names are
// canonicalised as net/http does.
func header(lines ...string) http.Header {
	h := http.Header{}
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ":")
		h.Add(k, strings.TrimSpace(v))
	}
	return h
}

const structured = "Content-Type: application/cloudevents+json; charset=utf-8"

// parseOne parses a request that must hold exactly one valid event.
func parseOne(t *testing.T, h http.Header, body string) cloudevent.Event {
	t.Helper()
	events, err := cloudevent.ParseHTTP(h, []byte(body))
	if err != nil {
		t.Fatalf("ParseHTTP: %v", err)
	}
	if len(events) != 1 {
		t.Fatalf("ParseHTTP returned %d events, want 1", len(events))
	}
	return events[0]
}

func TestSpecExamplesStructured(t *testing.T) {
	at := time.Date(2018, 4, 5, 17, 31, 0, 0, time.UTC)
	ext := map[string]string{"comexampleextension1": "value", "comexampleothervalue": "5"}
	tests := []struct {
		name, body string
		want       cloudevent.Event
	}{
		{"string data", `{
			"specversion" : "1.0",
			"type" : "com.example.someevent",
			"source" : "/mycontext",
			"id" : "A234-1234-1234",
			"time" : "2018-04-05T17:31:00Z",
			"comexampleextension1" : "value",
			"comexampleothervalue" : 5,
			"unsetextension": null,
			"datacontenttype" : "text/xml",
			"data" : "<much wow=\"xml\"/>"
		}`, cloudevent.Event{
			SpecVersion: "1.0", Type: "com.example.someevent", Source: "/mycontext", ID: "A234-1234-1234",
			Time: at, Extensions: ext, DataContentType: "text/xml", Data: []byte(`<much wow="xml"/>`),
		}},
		{"binary data", `{
			"specversion" : "1.0",
			"type" : "com.example.someevent",
			"source" : "/mycontext",
			"id" : "B234-1234-1234",
			"time" : "2018-04-05T17:31:00Z",
			"comexampleextension1" : "value",
			"comexampleothervalue" : 5,
			"datacontenttype" : "application/vnd.apache.thrift.binary",
			"data_base64" : "AAH/gA=="
		}`, cloudevent.Event{
			SpecVersion: "1.0", Type: "com.example.someevent", Source: "/mycontext", ID: "B234-1234-1234",
			Time: at, Extensions: ext, DataContentType: "application/vnd.apache.thrift.binary", Data: []byte{0, 1, 0xff, 0x80},
		}},
		{"JSON data", `{
			"specversion" : "1.0",
			"type" : "com.example.someevent",
			"source" : "/mycontext",
			"subject": null,
			"id" : "C234-1234-1234",
			"time" : "2018-04-05T17:31:00Z",
			"comexampleextension1" : "value",
			"comexampleothervalue" : 5,
			"datacontenttype" : "application/json",
			"data" : {
				"appinfoA" : "abc",
				"appinfoB" : 123,
				"appinfoC" : true
			}
		}`, cloudevent.Event{
			SpecVersion: "1.0", Type: "com.example.someevent", Source: "/mycontext", ID: "C234-1234-1234",
			Time: at, Extensions: ext, DataContentType: "application/json",
			Data: []byte("{\n\t\t\t\t\"appinfoA\" : \"abc\",\n\t\t\t\t\"appinfoB\" : 123,\n\t\t\t\t\"appinfoC\" : true\n\t\t\t}"),
		}},
		{"JSON data without datacontenttype", `{"specversion":"1.0","type":"t","source":"s","id":"1","data":"text"}`,
			cloudevent.Event{SpecVersion: "1.0", Type: "t", Source: "s", ID: "1", Data: []byte(`"text"`)}},
		{"+json data", `{"specversion":"1.0","type":"t","source":"s","id":"1","datacontenttype":"application/cloudevents+json","data":[1, 2]}`,
			cloudevent.Event{SpecVersion: "1.0", Type: "t", Source: "s", ID: "1", DataContentType: "application/cloudevents+json", Data: []byte(`[1, 2]`)}},
		{"data null", `{"specversion":"1.0","type":"t","source":"s","id":"1","data":null,"data_base64":"eA=="}`,
			cloudevent.Event{SpecVersion: "1.0", Type: "t", Source: "s", ID: "1", Data: []byte("x")}},
		{"empty data", `{"specversion":"1.0","type":"t","source":"s","id":"1","datacontenttype":"text/plain","data":""}`,
			cloudevent.Event{SpecVersion: "1.0", Type: "t", Source: "s", ID: "1", DataContentType: "text/plain"}},
		{"extension types", `{"specversion":"1.0","type":"t","source":"s","id":"1","b":true,"f":false,"n":-2147483648,"z":-0,"s":"€"}`,
			cloudevent.Event{SpecVersion: "1.0", Type: "t", Source: "s", ID: "1", Extensions: map[string]string{"b": "true", "f": "false", "n": "-2147483648", "z": "0", "s": "€"}}},
		{"time with offset and fraction", `{"specversion":"1.0","type":"t","source":"s","id":"1","time":"2018-04-05t19:31:00.123456789+02:00"}`,
			cloudevent.Event{SpecVersion: "1.0", Type: "t", Source: "s", ID: "1", Time: time.Date(2018, 4, 5, 17, 31, 0, 123456789, time.UTC).In(time.FixedZone("", 7200))}},
		{"escaped names", `{"spec\u0076ersion":"1.0","type":"t","source":"s","id":"1"}`,
			cloudevent.Event{SpecVersion: "1.0", Type: "t", Source: "s", ID: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOne(t, header(structured), tt.body)
			if d := diff(got, tt.want); d != "" {
				t.Error(d)
			}
		})
	}
}

func TestSpecExampleBinary(t *testing.T) {
	h := header(
		"ce-specversion: 1.0",
		"ce-type: com.example.someevent",
		"ce-time: 2018-04-05T03:56:24Z",
		"ce-id: 1234-1234-1234",
		"ce-source: /mycontext/subcontext",
		"ce-comexampleextension1: value",
		"Content-Type: application/json; charset=utf-8",
		"X-Unrelated: ignored",
	)
	body := "{\n    \"appinfoA\": \"abc\"\n}\n"
	got := parseOne(t, h, body)
	want := cloudevent.Event{
		SpecVersion: "1.0", Type: "com.example.someevent", Time: time.Date(2018, 4, 5, 3, 56, 24, 0, time.UTC),
		ID: "1234-1234-1234", Source: "/mycontext/subcontext", DataContentType: "application/json; charset=utf-8",
		Extensions: map[string]string{"comexampleextension1": "value"}, Data: []byte(body),
	}
	if d := diff(got, want); d != "" {
		t.Error(d)
	}
	// Header names in any case, even in a hand-built header.
	raw := http.Header{"ce-specversion": {"1.0"}, "CE-ID": {"1"}, "Ce-Source": {"s"}, "ce-TYPE": {"t"}}
	got = parseOne(t, raw, "")
	if d := diff(got, cloudevent.Event{SpecVersion: "1.0", ID: "1", Source: "s", Type: "t"}); d != "" {
		t.Error(d)
	}
}

func TestBatch(t *testing.T) {
	body := `[
	  {
	      "specversion" : "1.0",
	      "type" : "com.example.someevent",
	      "source" : "/mycontext/4",
	      "id" : "B234-1234-1234",
	      "datacontenttype" : "application/vnd.apache.thrift.binary",
	      "data_base64" : "AAE="
	  },
	  {
	      "specversion" : "1.0",
	      "type" : "com.example.someotherevent",
	      "source" : "/mycontext/9",
	      "id" : "C234-1234-1234",
	      "datacontenttype" : "application/json",
	      "data" : {"appinfoA" : "abc"}
	  }
	]`
	events, err := cloudevent.ParseHTTP(header("Content-Type: application/cloudevents-batch+json; charset=UTF-8"), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []cloudevent.Event{
		{SpecVersion: "1.0", Type: "com.example.someevent", Source: "/mycontext/4", ID: "B234-1234-1234", DataContentType: "application/vnd.apache.thrift.binary", Data: []byte{0, 1}},
		{SpecVersion: "1.0", Type: "com.example.someotherevent", Source: "/mycontext/9", ID: "C234-1234-1234", DataContentType: "application/json", Data: []byte(`{"appinfoA" : "abc"}`)},
	}
	if len(events) != len(want) {
		t.Fatalf("got %d events, want %d", len(events), len(want))
	}
	for i := range want {
		if d := diff(events[i], want[i]); d != "" {
			t.Errorf("event %d: %s", i, d)
		}
	}
	// An empty batch is valid.
	events, err = cloudevent.ParseHTTP(header("Content-Type: application/cloudevents-batch+json"), []byte(" [ ] "))
	if err != nil || events == nil || len(events) != 0 {
		t.Errorf("empty batch = %v, %v; want an empty slice", events, err)
	}
	// The batch's limit on the number of events.
	one := `{"specversion":"1.0","type":"t","source":"s","id":"1"}`
	full := "[" + strings.Repeat(one+",", cloudevent.MaxBatch-1) + one + "]"
	events, err = cloudevent.ParseHTTP(header("Content-Type: application/cloudevents-batch+json"), []byte(full))
	if err != nil || len(events) != cloudevent.MaxBatch {
		t.Errorf("batch of MaxBatch events: %d events, %v", len(events), err)
	}
}

func TestParseHTTPErrors(t *testing.T) {
	const (
		ev       = `"specversion":"1.0","type":"t","source":"s","id":"1"`
		batch    = "Content-Type: application/cloudevents-batch+json"
		binary   = "ce-specversion: 1.0"
		required = "ce-id: 1|ce-source: s|ce-type: t"
	)
	tests := []struct {
		name    string
		headers string // "|"-separated lines
		body    string
		want    string
		is      error
	}{
		// Content modes.
		{"unrelated content type", "Content-Type: text/plain", "hello", `cloudevent: request is neither structured nor binary CloudEvents: Content-Type "text/plain" and no ce-specversion header`, cloudevent.ErrNotCloudEvent},
		{"no content type", "", "", `cloudevent: request is neither structured nor binary CloudEvents: Content-Type "" and no ce-specversion header`, cloudevent.ErrNotCloudEvent},
		{"only other ce headers", "Content-Type: application/json|ce-id: 1", "{}", `cloudevent: request is neither structured nor binary CloudEvents: Content-Type "application/json" and no ce-specversion header`, cloudevent.ErrNotCloudEvent},
		{"other event format", "Content-Type: application/cloudevents+avro|" + binary, "x", `cloudevent: Content-Type "application/cloudevents+avro" is not a supported event format; want application/cloudevents+json or application/cloudevents-batch+json`, cloudevent.ErrUnsupportedFormat},
		{"other charset", "Content-Type: application/cloudevents+json; charset=latin1", "{" + ev + "}", `cloudevent: Content-Type "application/cloudevents+json; charset=latin1": charset "latin1" is not supported; JSON is UTF-8`, nil},
		{"bad parameters", "Content-Type: application/cloudevents+json; charset", "{" + ev + "}", `cloudevent: Content-Type "application/cloudevents+json; charset": mime: invalid media parameter`, nil},
		// Structured JSON.
		{"not an object", structured, `[]`, `cloudevent: structured event is not a JSON object`, nil},
		{"empty body", structured, ``, `cloudevent: structured event is not a JSON object: unexpected end of input`, nil},
		{"truncated", structured, `{"id":`, `cloudevent: attribute "id": invalid JSON: unexpected end of input`, nil},
		{"bad JSON", structured, `{"id" "1"}`, `cloudevent: attribute "id": invalid JSON: expected colon after object key`, nil},
		{"trailing data", structured, `{` + ev + `} {}`, `cloudevent: unexpected data after the JSON object`, nil},
		{"repeated attribute", structured, `{` + ev + `,"id":"2"}`, `cloudevent: attribute "id": appears twice`, nil},
		{"repeated via escape", structured, `{` + ev + `,"\u0069d":"2"}`, `cloudevent: attribute "id": appears twice`, nil},
		{"number id", structured, `{"specversion":"1.0","type":"t","source":"s","id":1}`, `cloudevent: attribute "id": want a JSON string, got a number`, nil},
		{"object source", structured, `{"specversion":"1.0","type":"t","source":{},"id":"1"}`, `cloudevent: attribute "source": want a JSON string, got an object`, nil},
		{"old specversion", structured, `{"specversion":"0.3","type":"t","source":"s","id":"1"}`, `cloudevent: attribute "specversion": want "1.0", got "0.3"`, nil},
		{"missing id", structured, `{"specversion":"1.0","type":"t","source":"s"}`, `cloudevent: attribute "id": required, but missing or empty`, nil},
		{"null id", structured, `{"specversion":"1.0","type":"t","source":"s","id":null}`, `cloudevent: attribute "id": required, but missing or empty`, nil},
		{"missing specversion", structured, `{"type":"t","source":"s","id":"1"}`, `cloudevent: attribute "specversion": required, but missing or empty`, nil},
		{"missing source", structured, `{"specversion":"1.0","type":"t","id":"1"}`, `cloudevent: attribute "source": required, but missing or empty`, nil},
		{"missing type", structured, `{"specversion":"1.0","source":"s","id":"1"}`, `cloudevent: attribute "type": required, but missing or empty`, nil},
		{"empty subject", structured, `{` + ev + `,"subject":""}`, `cloudevent: attribute "subject": present but empty; omit it or give it a value`, nil},
		{"empty time", structured, `{` + ev + `,"time":""}`, `cloudevent: attribute "time": present but empty; omit it or give it a value`, nil},
		{"bad time", structured, `{` + ev + `,"time":"yesterday"}`, `cloudevent: attribute "time": "yesterday" is not an RFC 3339 timestamp`, nil},
		{"time without zone", structured, `{` + ev + `,"time":"2018-04-05T17:31:00"}`, `cloudevent: attribute "time": "2018-04-05T17:31:00" is not an RFC 3339 timestamp`, nil},
		{"relative dataschema", structured, `{` + ev + `,"dataschema":"x.json"}`, `cloudevent: attribute "dataschema": "x.json" is not an absolute URI (RFC 3986): no scheme`, nil},
		{"upper-case extension", structured, `{` + ev + `,"Ext":"x"}`, `cloudevent: attribute "Ext": extension names are 1 to 20 lower-case letters or digits`, nil},
		{"data_base64 as extension", structured, `{` + ev + `,"data_base64x":"x"}`, `cloudevent: attribute "data_base64x": extension names are 1 to 20 lower-case letters or digits`, nil},
		{"object extension", structured, `{` + ev + `,"ext":{"a":1}}`, `cloudevent: attribute "ext": want a string, a number or a boolean, got an object`, nil},
		{"array extension", structured, `{` + ev + `,"ext":[]}`, `cloudevent: attribute "ext": want a string, a number or a boolean, got an array`, nil},
		{"fraction extension", structured, `{` + ev + `,"ext":1.5}`, `cloudevent: attribute "ext": number 1.5 is not an Integer (a whole number from -2147483648 to 2147483647)`, nil},
		{"exponent extension", structured, `{` + ev + `,"ext":1e3}`, `cloudevent: attribute "ext": number 1e3 is not an Integer (a whole number from -2147483648 to 2147483647)`, nil},
		{"large extension", structured, `{` + ev + `,"ext":2147483648}`, `cloudevent: attribute "ext": number 2147483648 is not an Integer (a whole number from -2147483648 to 2147483647)`, nil},
		{"control character", structured, `{` + ev + `,"ext":"a\u0000"}`, `cloudevent: attribute "ext": control character U+0000 at byte 1 is not allowed`, nil},
		// Data.
		{"data and data_base64", structured, `{` + ev + `,"data":{},"data_base64":"eA=="}`, `cloudevent: attribute "data_base64": "data" and "data_base64" cannot both be present`, nil},
		{"bad base64", structured, `{` + ev + `,"data_base64":"!!"}`, `cloudevent: attribute "data_base64": not valid base64 (RFC 4648, with padding): illegal base64 data at input byte 0`, nil},
		{"unpadded base64", structured, `{` + ev + `,"data_base64":"eA"}`, `cloudevent: attribute "data_base64": not valid base64 (RFC 4648, with padding): illegal base64 data at input byte 0`, nil},
		{"number base64", structured, `{` + ev + `,"data_base64":5}`, `cloudevent: attribute "data_base64": want a JSON string, got a number`, nil},
		{"object data, text type", structured, `{` + ev + `,"datacontenttype":"text/plain","data":{}}`, `cloudevent: attribute "data": datacontenttype "text/plain" is not JSON, so data must be a JSON string (binary data goes in data_base64)`, nil},
		{"bad datacontenttype", structured, `{` + ev + `,"datacontenttype":"plain","data":"x"}`, `cloudevent: attribute "datacontenttype": "plain" is not a media type (RFC 2046), as in application/json`, nil},
		// Batches.
		{"batch not an array", batch, `{` + ev + `}`, `cloudevent: batch is not a JSON array`, nil},
		{"batch truncated", batch, `[{` + ev + `},`, `cloudevent[1]: invalid JSON: unexpected end of input`, nil},
		{"batch trailing data", batch, `[{` + ev + `}] x`, `cloudevent: unexpected data after the batch's JSON array`, nil},
		{"batch element not an object", batch, `[{` + ev + `}, 5]`, `cloudevent[1]: structured event is not a JSON object`, nil},
		{"batch old specversion", batch, `[{` + ev + `},{` + ev + `},{"specversion":"0.3","type":"t","source":"s","id":"1"}]`, `cloudevent[2]: attribute "specversion": want "1.0", got "0.3"`, nil},
		// Binary.
		{"binary missing id", binary + "|ce-source: s|ce-type: t", "", `cloudevent: attribute "id": required, but missing or empty`, nil},
		{"binary old specversion", "ce-specversion: 0.3|" + required, "", `cloudevent: attribute "specversion": want "1.0", got "0.3"`, nil},
		{"binary datacontenttype header", binary + "|" + required + "|ce-datacontenttype: text/plain", "x", `cloudevent: attribute "datacontenttype": in binary mode it is the Content-Type header; a ce-datacontenttype header is not allowed`, nil},
		{"binary repeated header", binary + "|" + required + "|ce-id: 2", "", `cloudevent: attribute "id": header ce-id appears more than once`, nil},
		{"binary malformed escape", binary + "|" + required + "|ce-subject: 100%", "", `cloudevent: attribute "subject": header value "100%" has a malformed percent-encoding at byte 3`, nil},
		{"binary bad hex", binary + "|" + required + "|ce-subject: %zz", "", `cloudevent: attribute "subject": header value "%zz" has a malformed percent-encoding at byte 0`, nil},
		{"binary overlong UTF-8", binary + "|" + required + "|ce-subject: a%C0%A0b", "", `cloudevent: attribute "subject": header value "a%C0%A0b" is not percent-encoded UTF-8`, nil},
		{"binary raw invalid UTF-8", binary + "|" + required + "|ce-subject: a\xffb", "", `cloudevent: attribute "subject": header value is not valid UTF-8`, nil},
		{"binary encoded control", binary + "|" + required + "|ce-subject: a%0Ab", "", `cloudevent: attribute "subject": control character U+000A at byte 1 is not allowed`, nil},
		{"binary open quote", binary + "|" + required + `|ce-subject: "abc`, "", `cloudevent: attribute "subject": header value "\"abc" ends inside a quoted string`, nil},
		{"binary bad name", binary + "|" + required + "|ce-my-ext: x", "", `cloudevent: attribute "my-ext": extension names are 1 to 20 lower-case letters or digits`, nil},
		{"binary empty subject", binary + "|" + required + "|ce-subject:", "", `cloudevent: attribute "subject": present but empty; omit it or give it a value`, nil},
		{"binary bad time", binary + "|" + required + "|ce-time: 2018-04-05", "", `cloudevent: attribute "time": "2018-04-05" is not an RFC 3339 timestamp`, nil},
		{"binary bad content type", binary + "|" + required + "|Content-Type: json", "{}", `cloudevent: attribute "datacontenttype": "json" is not a media type (RFC 2046), as in application/json`, nil},
		{"binary bad source", binary + "|ce-id: 1|ce-type: t|ce-source: a%20b", "", `cloudevent: attribute "source": "a b" is not a URI-reference (RFC 3986): ' ' at byte 1`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h http.Header
			if tt.headers != "" {
				h = header(strings.Split(tt.headers, "|")...)
			}
			events, err := cloudevent.ParseHTTP(h, []byte(tt.body))
			if err == nil {
				t.Fatalf("ParseHTTP = %+v, want error %s", events, tt.want)
			}
			if events != nil {
				t.Errorf("ParseHTTP returned events with an error")
			}
			var ce *cloudevent.Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T, want *cloudevent.Error", err)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseHTTP\n got: %v\nwant: %s", err, tt.want)
			}
			for _, s := range []error{cloudevent.ErrNotCloudEvent, cloudevent.ErrUnsupportedFormat, cloudevent.ErrTooLarge} {
				if errors.Is(err, s) != (s == tt.is) {
					t.Errorf("errors.Is(err, %v) = %v", s, errors.Is(err, s))
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	one := `{"specversion":"1.0","type":"t","source":"s","id":"1"}`
	// The largest structured event is accepted, one byte more is not.
	pad := func(n int) string {
		e := `{"specversion":"1.0","type":"t","source":"s","id":"1","data":"` + strings.Repeat("x", n) + `"}`
		return e
	}
	max := pad(cloudevent.MaxEventSize - len(pad(0)))
	if _, err := cloudevent.ParseHTTP(header(structured), []byte(max)); err != nil {
		t.Errorf("event of MaxEventSize bytes: %v", err)
	}
	tests := []struct {
		name    string
		h       http.Header
		body    string
		want    string
		wantErr error
	}{
		{"structured", header(structured), max + " ", `cloudevent: structured event of 262145 bytes is over MaxEventSize (262144)`, cloudevent.ErrTooLarge},
		{"binary body", header("ce-specversion: 1.0", "ce-id: 1", "ce-source: s", "ce-type: t"), strings.Repeat("x", cloudevent.MaxEventSize),
			`cloudevent: binary event of 262185 bytes (body and ce-* headers) is over MaxEventSize (262144)`, cloudevent.ErrTooLarge},
		{"binary headers", header("ce-specversion: 1.0", "ce-id: 1", "ce-source: s", "ce-type: t", "ce-big: "+strings.Repeat("x", cloudevent.MaxEventSize)), "",
			`cloudevent: binary event of 262191 bytes (body and ce-* headers) is over MaxEventSize (262144)`, cloudevent.ErrTooLarge},
		{"batch count", header("Content-Type: application/cloudevents-batch+json"), "[" + strings.Repeat(one+",", cloudevent.MaxBatch) + one + "]",
			`cloudevent: batch holds more than MaxBatch (1000) events`, cloudevent.ErrTooLarge},
		{"batch event", header("Content-Type: application/cloudevents-batch+json"), "[" + one + "," + max[:len(max)-2] + `x"}]`,
			`cloudevent[1]: event of 262145 bytes is over MaxEventSize (262144)`, cloudevent.ErrTooLarge},
	}
	for _, tt := range tests {
		_, err := cloudevent.ParseHTTP(tt.h, []byte(tt.body))
		if err == nil || err.Error() != tt.want || !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: error %v, want %s", tt.name, err, tt.want)
		}
	}
	if !testing.Short() {
		// Over the batch body limit: rejected before a byte is read.
		huge := make([]byte, cloudevent.MaxEventSize*cloudevent.MaxBatch+1)
		_, err := cloudevent.ParseHTTP(header("Content-Type: application/cloudevents-batch+json"), huge)
		if want := `cloudevent: batch of 262144001 bytes is over MaxEventSize*MaxBatch (262144000)`; err == nil || err.Error() != want || !errors.Is(err, cloudevent.ErrTooLarge) {
			t.Errorf("huge batch: error %v, want %s", err, want)
		}
	}
}

func TestHeaderEncoding(t *testing.T) {
	e := valid()
	e.Subject = "Euro € 😀"
	e.Extensions = map[string]string{"quote": `100% "sure"`, "plain": "a-b_c.d~!'()*", "empty": ""}
	h := http.Header{"Ce-Stale": {"old"}, "X-Other": {"kept"}, "Content-Type": {"text/plain"}}
	body := e.WriteBinary(h)
	if body != nil {
		t.Errorf("body = %q, want nil", body)
	}
	want := http.Header{
		"Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Source": {"/src"}, "Ce-Type": {"com.example.t"},
		"Ce-Subject": {"Euro%20%E2%82%AC%20%F0%9F%98%80"},
		"Ce-Quote":   {"100%25%20%22sure%22"}, "Ce-Plain": {"a-b_c.d~!'()*"}, "Ce-Empty": {""},
		"X-Other": {"kept"},
	}
	if fmt.Sprint(h) != fmt.Sprint(want) {
		t.Errorf("headers\n got: %v\nwant: %v", h, want)
	}
	got := parseOne(t, h, "")
	if d := diff(got, e); d != "" {
		t.Error(d)
	}
	// Decoding accepts lower-case hex, needless escapes and quoted strings.
	for _, tt := range []struct{ in, want string }{
		{"Euro%20%e2%82%ac%20%f0%9f%98%80", "Euro € 😀"},
		{"%41%42c", "ABc"},
		{`"hello world"`, "hello world"},
		{`"say \"hi\"" now`, `say "hi" now`},
		{`"100%25"`, "100%"},
		{"raw€", "raw€"},
	} {
		h := header("ce-specversion: 1.0", "ce-id: 1", "ce-source: s", "ce-type: t")
		h.Set("ce-subject", tt.in)
		if got := parseOne(t, h, ""); got.Subject != tt.want {
			t.Errorf("ce-subject %q decodes to %q, want %q", tt.in, got.Subject, tt.want)
		}
	}
}

func TestMarshalStructured(t *testing.T) {
	base := valid()
	base.Time = time.Date(2018, 4, 5, 17, 31, 0, 500000000, time.UTC)
	base.Extensions = map[string]string{"z": "last", "a": "5"}
	const (
		head = `{"specversion":"1.0","id":"1","source":"/src","type":"com.example.t","time":"2018-04-05T17:31:00.5Z"`
		ext  = `,"a":"5","z":"last"`
	)
	tests := []struct {
		name, ct, data string
		wantData       string // the data member of the output
	}{
		{"no data", "", "", ``},
		{"content type without data", "text/plain", "", ``},
		{"JSON without content type", "", `{"a": [1, 2]}`, `,"data":{"a": [1, 2]}`},
		{"JSON string", "", `"text"`, `,"data":"text"`},
		{"JSON with spaces", "application/json", " \n{\"a\":1}\n", `,"data":{"a":1}`},
		{"+json", "application/geo+json; charset=utf-8", `[1]`, `,"data":[1]`},
		{"JSON null", "application/json", `null`, `,"data_base64":"bnVsbA=="`},
		{"invalid JSON", "application/json", `{`, `,"data_base64":"ew=="`},
		{"JSON, invalid UTF-8", "", "\"\xff\"", `,"data_base64":"Iv8i"`},
		{"text", "text/plain", `hello`, `,"data_base64":"aGVsbG8="`},
		{"no content type, not JSON", "", `hello`, `,"data_base64":"aGVsbG8="`},
		{"binary", "application/octet-stream", "\x00\x01\xfe\xff", `,"data_base64":"AAH+/w=="`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base
			e.DataContentType = tt.ct
			if tt.data != "" {
				e.Data = []byte(tt.data)
			}
			out, err := e.MarshalStructured()
			if err != nil {
				t.Fatal(err)
			}
			want := head
			if tt.ct != "" {
				want += `,"datacontenttype":` + strconv.Quote(tt.ct)
			}
			want += ext + tt.wantData + "}"
			if string(out) != want {
				t.Errorf("MarshalStructured\n got: %s\nwant: %s", out, want)
			}
			// It parses back to the same event, JSON data without the
			// white space around it.
			got := parseOne(t, header(structured), string(out))
			if strings.HasPrefix(tt.wantData, `,"data":`) {
				e.Data = []byte(strings.Trim(tt.data, " \n"))
			}
			if d := diff(got, e); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestRoundTrips: structured → Event → binary → Event → structured gives
// the same JSON, and binary → Event → binary the same headers and body.
func TestRoundTrips(t *testing.T) {
	for _, body := range []string{
		`{"specversion":"1.0","id":"A234-1234-1234","source":"/mycontext","type":"com.example.someevent","time":"2018-04-05T17:31:00Z","datacontenttype":"text/xml","comexampleextension1":"value","comexampleothervalue":"5","data_base64":"PG11Y2ggd293PSJ4bWwiLz4="}`,
		`{"specversion":"1.0","id":"x","source":"urn:x","type":"t","subject":"Euro € 😀 100% \"q\"","time":"2018-04-05T19:31:00.123+02:00","datacontenttype":"application/json","dataschema":"https://example.com/s.json","data":{"a":[1,"b",null,true]}}`,
		`{"specversion":"1.0","id":"x","source":"s","type":"t","data":"just a JSON string"}`,
		`{"specversion":"1.0","id":"x","source":"s","type":"t","e":"","data_base64":"AAECAwQF/w=="}`,
	} {
		first := parseOne(t, header(structured), body)
		h := http.Header{}
		data := first.WriteBinary(h)
		second := parseOne(t, h, string(data))
		if d := diff(second, first); d != "" {
			t.Errorf("binary round trip of %s: %s", body, d)
		}
		out, err := second.MarshalStructured()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != body {
			t.Errorf("structured round trip\n got: %s\nwant: %s", out, body)
		}
		h2 := http.Header{}
		data2 := second.WriteBinary(h2)
		if fmt.Sprint(h2) != fmt.Sprint(h) || string(data2) != string(data) {
			t.Errorf("binary round trip: headers %v body %q, want %v %q", h2, data2, h, data)
		}
	}
}
