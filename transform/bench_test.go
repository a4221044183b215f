package transform

import (
	"encoding/json"
	"strings"
	"testing"
)

// benchEvent is an EventBridge envelope of about 1 KiB, the size of a
// typical event.
var benchEvent = []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718",` +
	`"detail-type":"Order Placed","source":"com.example.orders","account":"123456789012",` +
	`"time":"2026-01-02T03:04:05Z","region":"eu-west-1",` +
	`"resources":["arn:aws:orders:eu-west-1:123456789012:order/o-1234567890","arn:aws:customers:eu-west-1:123456789012:customer/c-42"],` +
	`"detail":{"order-id":"o-1234567890","status":"PLACED","total":149.95,"currency":"EUR",` +
	`"customer":{"id":"c-42","name":"Ann Example","email":"ann@example.com","tier":"gold",` +
	`"address":{"street":"1 Example Street","city":"Amsterdam","postcode":"1011 AB","country":"NL"}},` +
	`"items":[{"sku":"SKU-0001","name":"Blue widget","qty":2,"price":19.99},` +
	`{"sku":"SKU-0002","name":"Red widget","qty":1,"price":59.99},` +
	`{"sku":"SKU-0003","name":"Green gadget","qty":5,"price":9.99}],` +
	`"shipping":{"method":"express","carrier":"Ship","eta":"2026-01-04","tracking":null},` +
	`"payment":{"method":"card","last4":"4242","authorized":true,"reference":"pay_0123"},` +
	`"notes":"At the door.","tags":["web","promo-2026"],` +
	`"metadata":{"channel":"web"}}}`)

var benchTransformer = InputTransformer{
	InputPaths: map[string]string{
		"order":    "$.detail.order-id",
		"customer": "$.detail.customer.name",
		"sku":      "$.detail.items[1].sku",
	},
	Template: `{"order": <order>, "message": "<customer> ordered <sku>", "rule": <aws.events.rule-name>}`,
}

func BenchmarkApply(b *testing.B) {
	if len(benchEvent) < 1000 || len(benchEvent) > 1048 || !json.Valid(benchEvent) {
		b.Fatalf("benchEvent is %d bytes or invalid", len(benchEvent))
	}
	tr, err := Compile(benchTransformer)
	if err != nil {
		b.Fatal(err)
	}
	c := defaultContext
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, err := tr.Apply(benchEvent, c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyWholeEvent renders the whole event into a template, the
// costliest common case: the event is compacted into the output.
func BenchmarkApplyWholeEvent(b *testing.B) {
	tr, err := Compile(InputTransformer{Template: `{"rule": <aws.events.rule-name>, "event": <aws.events.event>}`})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, err := tr.Apply(benchEvent, defaultContext); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyManyPaths uses 50 variables, to show that the event is
// read once whatever their number.
func BenchmarkApplyManyPaths(b *testing.B) {
	paths := map[string]string{}
	var tmpl strings.Builder
	tmpl.WriteString("[")
	fields := []string{"order-id", "status", "total", "currency", "notes"}
	for i := range 50 {
		name := "v" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		paths[name] = "$.detail." + fields[i%len(fields)]
		if i > 0 {
			tmpl.WriteString(",")
		}
		tmpl.WriteString("<" + name + ">")
	}
	tmpl.WriteString("]")
	tr, err := Compile(InputTransformer{InputPaths: paths, Template: tmpl.String()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, err := tr.Apply(benchEvent, defaultContext); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExtract(b *testing.B) {
	p, err := CompilePath("$.detail.customer.id")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, ok, err := p.Extract(benchEvent); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkJSONValid is the cost of json.Valid on the same event, for
// comparison: Apply reads the event once and does more than check it.
func BenchmarkJSONValid(b *testing.B) {
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if !json.Valid(benchEvent) {
			b.Fatal("invalid")
		}
	}
}
