package cloudevent_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/courier-io/courier/cloudevent"
)

func BenchmarkParseHTTP(b *testing.B) {
	data := `{"order":{"id":"o-1","items":[{"sku":"a","qty":2},{"sku":"b","qty":1}],"total":42.5}}`
	structured := []byte(`{"specversion":"1.0","id":"1","source":"/orders","type":"order.created","time":"2024-02-10T12:34:56Z","traceparent":"00-abc-def-01","datacontenttype":"application/json","data":` + data + `}`)
	binary := http.Header{}
	binary.Set("ce-specversion", "1.0")
	binary.Set("ce-id", "1")
	binary.Set("ce-source", "/orders")
	binary.Set("ce-type", "order.created")
	binary.Set("ce-time", "2024-02-10T12:34:56Z")
	binary.Set("ce-traceparent", "00-abc-def-01")
	binary.Set("Content-Type", "application/json")
	batch := []byte("[" + strings.Repeat(string(structured)+",", 99) + string(structured) + "]")
	for _, bm := range []struct {
		name   string
		h      http.Header
		body   []byte
		events int
	}{
		{"structured", http.Header{"Content-Type": {cloudevent.MediaType}}, structured, 1},
		{"binary", binary, []byte(data), 1},
		{"batch-100", http.Header{"Content-Type": {cloudevent.BatchMediaType}}, batch, 100},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bm.body)))
			for b.Loop() {
				if _, err := cloudevent.ParseHTTP(bm.h, bm.body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(bm.events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
