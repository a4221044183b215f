package cloudevent_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/courier-io/courier/cloudevent"
)

func ExampleParseHTTP() {
	// A binary-mode request: attributes in ce-* headers, data in the body.
	h := http.Header{}
	h.Set("ce-specversion", "1.0")
	h.Set("ce-id", "1234-1234-1234")
	h.Set("ce-source", "/mycontext/subcontext")
	h.Set("ce-type", "com.example.someevent")
	h.Set("ce-time", "2018-04-05T03:56:24Z")
	h.Set("ce-subject", "Euro%20%E2%82%AC")
	h.Set("Content-Type", "application/json")
	events, err := cloudevent.ParseHTTP(h, []byte(`{"appinfoA": "abc"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	e := events[0]
	fmt.Println(e.ID, e.Source, e.Type, e.Time.Format(time.RFC3339))
	fmt.Println(e.Subject, e.DataContentType, string(e.Data))
	// Output:
	// 1234-1234-1234 /mycontext/subcontext com.example.someevent 2018-04-05T03:56:24Z
	// Euro € application/json {"appinfoA": "abc"}
}

func ExampleParseHTTP_batch() {
	h := http.Header{"Content-Type": {"application/cloudevents-batch+json"}}
	body := `[
		{"specversion": "1.0", "id": "1", "source": "/orders", "type": "order.created", "data": {"total": 12}},
		{"specversion": "1.0", "id": "2", "source": "/orders", "type": "order.paid", "datacontenttype": "text/plain", "data": "paid"},
		{"specversion": "0.3", "id": "3", "source": "/orders", "type": "order.shipped"}
	]`
	_, err := cloudevent.ParseHTTP(h, []byte(body))
	fmt.Println(err)

	body = strings.Replace(body, `"specversion": "0.3"`, `"specversion": "1.0"`, 1)
	events, err := cloudevent.ParseHTTP(h, []byte(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range events {
		fmt.Printf("%s %s %s\n", e.ID, e.Type, e.Data)
	}
	// Output:
	// cloudevent[2]: attribute "specversion": want "1.0", got "0.3"
	// 1 order.created {"total": 12}
	// 2 order.paid paid
	// 3 order.shipped
}

func ExampleParseHTTP_notCloudEvents() {
	h := http.Header{"Content-Type": {"application/json"}}
	_, err := cloudevent.ParseHTTP(h, []byte(`{}`))
	fmt.Println(err)
	fmt.Println(errors.Is(err, cloudevent.ErrNotCloudEvent))
	// Output:
	// cloudevent: request is neither structured nor binary CloudEvents: Content-Type "application/json" and no ce-specversion header
	// true
}

func ExampleEvent_MarshalStructured() {
	e := cloudevent.Event{
		SpecVersion:     "1.0",
		ID:              "A234-1234-1234",
		Source:          "/mycontext",
		Type:            "com.example.someevent",
		Time:            time.Date(2018, 4, 5, 17, 31, 0, 0, time.UTC),
		DataContentType: "application/json",
		Data:            []byte(`{"appinfoA": "abc"}`),
		Extensions:      map[string]string{"comexampleothervalue": "5"},
	}
	out, err := e.MarshalStructured()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))

	// Data that is not JSON travels as base64.
	e.DataContentType, e.Data = "text/plain", []byte("hello")
	out, _ = e.MarshalStructured()
	fmt.Println(string(out))
	// Output:
	// {"specversion":"1.0","id":"A234-1234-1234","source":"/mycontext","type":"com.example.someevent","time":"2018-04-05T17:31:00Z","datacontenttype":"application/json","comexampleothervalue":"5","data":{"appinfoA": "abc"}}
	// {"specversion":"1.0","id":"A234-1234-1234","source":"/mycontext","type":"com.example.someevent","time":"2018-04-05T17:31:00Z","datacontenttype":"text/plain","comexampleothervalue":"5","data_base64":"aGVsbG8="}
}

func ExampleEvent_WriteBinary() {
	e := cloudevent.Event{
		SpecVersion:     "1.0",
		ID:              "42",
		Source:          "/sensors/tn-1234567",
		Type:            "com.example.alert",
		Subject:         `Euro € "100%"`,
		DataContentType: "text/plain",
		Data:            []byte("temperature high"),
	}
	if err := e.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	h := http.Header{}
	body := e.WriteBinary(h)
	for _, k := range []string{"Ce-Specversion", "Ce-Id", "Ce-Source", "Ce-Type", "Ce-Subject", "Content-Type"} {
		fmt.Printf("%s: %s\n", k, h.Get(k))
	}
	fmt.Println(string(body))
	// Output:
	// Ce-Specversion: 1.0
	// Ce-Id: 42
	// Ce-Source: /sensors/tn-1234567
	// Ce-Type: com.example.alert
	// Ce-Subject: Euro%20%E2%82%AC%20%22100%25%22
	// Content-Type: text/plain
	// temperature high
}

func ExampleEvent_Validate() {
	e := cloudevent.Event{SpecVersion: "1.0", ID: "1", Source: "my source", Type: "t"}
	fmt.Println(e.Validate())
	e.Source = "/my-source"
	e.Extensions = map[string]string{"TraceParent": "00-abc"}
	fmt.Println(e.Validate())
	// Output:
	// cloudevent: attribute "source": "my source" is not a URI-reference (RFC 3986): ' ' at byte 2
	// cloudevent: attribute "TraceParent": extension names are 1 to 20 lower-case letters or digits
}
