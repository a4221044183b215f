package cloudevent_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/cloudevent"
)

// valid returns a minimal valid event.
func valid() cloudevent.Event {
	return cloudevent.Event{ID: "1", Source: "/src", SpecVersion: "1.0", Type: "com.example.t"}
}

// diff describes how two events differ, "" if they are equal. Times are
// compared as instants and as written in RFC 3339; a nil and an empty map
// or slice are equal.
func diff(got, want cloudevent.Event) string {
	var d []string
	add := func(name string, g, w any) {
		if g != w {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", name, g, w))
		}
	}
	add("ID", got.ID, want.ID)
	add("Source", got.Source, want.Source)
	add("SpecVersion", got.SpecVersion, want.SpecVersion)
	add("Type", got.Type, want.Type)
	add("Subject", got.Subject, want.Subject)
	add("DataContentType", got.DataContentType, want.DataContentType)
	add("DataSchema", got.DataSchema, want.DataSchema)
	if !got.Time.Equal(want.Time) || got.Time.Format(time.RFC3339Nano) != want.Time.Format(time.RFC3339Nano) {
		d = append(d, fmt.Sprintf("Time: got %v, want %v", got.Time, want.Time))
	}
	if !bytes.Equal(got.Data, want.Data) {
		d = append(d, fmt.Sprintf("Data: got %q, want %q", got.Data, want.Data))
	}
	if !maps.Equal(got.Extensions, want.Extensions) {
		d = append(d, fmt.Sprintf("Extensions: got %q, want %q", got.Extensions, want.Extensions))
	}
	return strings.Join(d, "; ")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(e *cloudevent.Event)
		want   string // "" for valid
	}{
		{"minimal", func(e *cloudevent.Event) {}, ""},
		{"full", func(e *cloudevent.Event) {
			e.Source = "https://github.com/cloudevents/spec/pull?x=1#frag"
			e.Subject = "Euro € 😀 \uFFFD"
			e.Time = time.Date(2018, 4, 5, 17, 31, 0, 5, time.FixedZone("", -(7*3600+30*60)))
			e.DataContentType = `application/json; charset="utf-8"`
			e.DataSchema = "https://example.com/schema.json#/defs/x"
			e.Extensions = map[string]string{"a": "", "comexampleextension1": "value", "z9": "5"}
		}, ""},
		{"source URN", func(e *cloudevent.Event) { e.Source = "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66" }, ""},
		{"source phone", func(e *cloudevent.Event) { e.Source = "1-555-123-4567" }, ""},
		{"source mailto", func(e *cloudevent.Event) { e.Source = "mailto:cncf-wg-serverless@lists.cncf.io" }, ""},
		{"source escaped", func(e *cloudevent.Event) { e.Source = "/a%20b" }, ""},

		{"no specversion", func(e *cloudevent.Event) { e.SpecVersion = "" }, `cloudevent: attribute "specversion": required, but missing or empty`},
		{"no id", func(e *cloudevent.Event) { e.ID = "" }, `cloudevent: attribute "id": required, but missing or empty`},
		{"no source", func(e *cloudevent.Event) { e.Source = "" }, `cloudevent: attribute "source": required, but missing or empty`},
		{"no type", func(e *cloudevent.Event) { e.Type = "" }, `cloudevent: attribute "type": required, but missing or empty`},
		{"old specversion", func(e *cloudevent.Event) { e.SpecVersion = "0.3" }, `cloudevent: attribute "specversion": want "1.0", got "0.3"`},
		{"control character", func(e *cloudevent.Event) { e.ID = "a\nb" }, `cloudevent: attribute "id": control character U+000A at byte 1 is not allowed`},
		{"C1 control character", func(e *cloudevent.Event) { e.Type = "t\u0085" }, `cloudevent: attribute "type": control character U+0085 at byte 1 is not allowed`},
		{"DEL", func(e *cloudevent.Event) { e.Subject = "\x7f" }, `cloudevent: attribute "subject": control character U+007F at byte 0 is not allowed`},
		{"invalid UTF-8", func(e *cloudevent.Event) { e.Subject = "ab\xff" }, `cloudevent: attribute "subject": not valid UTF-8 at byte 2`},
		{"noncharacter", func(e *cloudevent.Event) { e.Subject = "\uFDD0" }, `cloudevent: attribute "subject": noncharacter U+FDD0 at byte 0 is not allowed`},
		{"noncharacter FFFF", func(e *cloudevent.Event) { e.ID = "x\U0010FFFF" }, `cloudevent: attribute "id": noncharacter U+10FFFF at byte 1 is not allowed`},
		{"source with space", func(e *cloudevent.Event) { e.Source = "my source" }, `cloudevent: attribute "source": "my source" is not a URI-reference (RFC 3986): ' ' at byte 2`},
		{"source with unicode", func(e *cloudevent.Event) { e.Source = "/é" }, `cloudevent: attribute "source": "/é" is not a URI-reference (RFC 3986): 'é' at byte 1`},
		{"source bad escape", func(e *cloudevent.Event) { e.Source = "/a%2" }, `cloudevent: attribute "source": "/a%2" is not a URI-reference (RFC 3986): '%' at byte 2`},
		{"source colon first", func(e *cloudevent.Event) { e.Source = ":x" }, `cloudevent: attribute "source": ":x" is not a URI-reference (RFC 3986)`},
		{"relative dataschema", func(e *cloudevent.Event) { e.DataSchema = "schema.json" }, `cloudevent: attribute "dataschema": "schema.json" is not an absolute URI (RFC 3986): no scheme`},
		{"dataschema with space", func(e *cloudevent.Event) { e.DataSchema = "http://x/ y" }, `cloudevent: attribute "dataschema": "http://x/ y" is not an absolute URI (RFC 3986): ' ' at byte 9`},
		{"content type without slash", func(e *cloudevent.Event) { e.DataContentType = "json" }, `cloudevent: attribute "datacontenttype": "json" is not a media type (RFC 2046), as in application/json`},
		{"content type bad parameter", func(e *cloudevent.Event) { e.DataContentType = "text/plain; charset" }, `cloudevent: attribute "datacontenttype": "text/plain; charset" is not a media type (RFC 2046), as in application/json`},
		{"time year 10000", func(e *cloudevent.Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, `cloudevent: attribute "time": year 10000 cannot be written in RFC 3339`},
		{"time second offset", func(e *cloudevent.Event) { e.Time = time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 75)) }, `cloudevent: attribute "time": UTC offset of 75 seconds cannot be written in RFC 3339`},
		{"extension empty name", func(e *cloudevent.Event) { e.Extensions = map[string]string{"": "x"} }, `cloudevent: extension attribute with an empty name; names are 1 to 20 lower-case letters or digits`},
		{"extension upper case", func(e *cloudevent.Event) { e.Extensions = map[string]string{"myExt": "x"} }, `cloudevent: attribute "myExt": extension names are 1 to 20 lower-case letters or digits`},
		{"extension dash", func(e *cloudevent.Event) { e.Extensions = map[string]string{"my-ext": "x"} }, `cloudevent: attribute "my-ext": extension names are 1 to 20 lower-case letters or digits`},
		{"extension too long", func(e *cloudevent.Event) { e.Extensions = map[string]string{"abcdefghijklmnopqrstu": "x"} }, `cloudevent: attribute "abcdefghijklmnopqrstu": extension names are 1 to 20 lower-case letters or digits`},
		{"extension reserved", func(e *cloudevent.Event) { e.Extensions = map[string]string{"time": "x"} }, `cloudevent: attribute "time": is not an extension attribute`},
		{"extension data", func(e *cloudevent.Event) { e.Extensions = map[string]string{"data": "x"} }, `cloudevent: attribute "data": is not an extension attribute`},
		{"extension value", func(e *cloudevent.Event) { e.Extensions = map[string]string{"ok": "fine", "x": "a\tb"} }, `cloudevent: attribute "x": control character U+0009 at byte 1 is not allowed`},
		{"extensions in name order", func(e *cloudevent.Event) { e.Extensions = map[string]string{"b": "\x00", "a": "\x01"} }, `cloudevent: attribute "a": control character U+0001 at byte 0 is not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := valid()
			tt.modify(&e)
			err := e.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ce *cloudevent.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Validate = %v (%T), want *cloudevent.Error", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("Validate\n got: %v\nwant: %s", err, tt.want)
			}
			if ce.Index != -1 || ce.Err != nil {
				t.Errorf("Validate error %+v: want Index -1 and no sentinel", *ce)
			}
			if _, merr := e.MarshalStructured(); merr == nil || merr.Error() != tt.want {
				t.Errorf("MarshalStructured error = %v, want the Validate error", merr)
			}
		})
	}
}
