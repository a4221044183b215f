package awsapi_test

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	courier "github.com/courier-io/courier"
	"github.com/courier-io/courier/awsapi"
)

func TestMD5OfAttributes(t *testing.T) {
	// The digest of AWS's algorithm, computed independently (name order,
	// 4-byte big-endian lengths, transport byte 1 string / 2 binary).
	attrs := map[string]awsapi.MessageAttribute{
		"name": {DataType: "String", StringValue: "é"},
		"age":  {DataType: "Number", StringValue: "42"},
		"blob": {DataType: "Binary", BinaryValue: []byte{0, 0xff}},
	}
	if got, want := awsapi.MD5OfAttributes(attrs), "6053371766125e7530140b0d1c16cb73"; got != want {
		t.Errorf("MD5OfAttributes = %s; want %s", got, want)
	}
	if got := awsapi.MD5OfAttributes(nil); got != "" {
		t.Errorf("MD5OfAttributes(nil) = %q; want empty", got)
	}
	if got, want := awsapi.MD5Hex([]byte("hello")), "5d41402abc4b2a76b9719d911017c592"; got != want {
		t.Errorf("MD5Hex = %s; want %s", got, want)
	}
}

func TestAttributesRoundTripThroughHeaders(t *testing.T) {
	attrs := map[string]awsapi.MessageAttribute{
		"name":   {DataType: "String", StringValue: "é"},
		"price":  {DataType: "Number.float", StringValue: "9.5"},
		"blob":   {DataType: "Binary.gif", BinaryValue: []byte{0, 1, 0xff}},
		"label":  {DataType: "String.custom", StringValue: "x"},
		"count":  {DataType: "Number", StringValue: "7"},
		"region": {DataType: "String", StringValue: "eu"},
	}
	if err := awsapi.ValidateAttributes("MessageAttribute", attrs); err != nil {
		t.Fatal(err)
	}
	h := awsapi.AttributesToHeaders(attrs, map[string]string{"traceparent": "00-abc", "courier-aws-x": "hidden"})
	if h["name"] != "é" || h["count"] != "7" {
		t.Errorf("String and Number values are not stored as themselves: %v", h)
	}
	got := awsapi.HeadersToAttributes(h)
	want := map[string]awsapi.MessageAttribute{"traceparent": {DataType: "String", StringValue: "00-abc"}}
	for k, v := range attrs {
		want[k] = v
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %v\nwant %v", got, want)
	}
	if awsapi.MD5OfAttributes(got) == awsapi.MD5OfAttributes(attrs) {
		t.Errorf("the digest does not depend on the extra header")
	}
}

func TestValidateAttributes(t *testing.T) {
	cases := map[string]map[string]awsapi.MessageAttribute{
		"empty name":        {"": {DataType: "String", StringValue: "x"}},
		"reserved AWS.":     {"AWS.x": {DataType: "String", StringValue: "x"}},
		"reserved amazon.":  {"amazon.x": {DataType: "String", StringValue: "x"}},
		"reserved courier":  {"courier-aws-types": {DataType: "String", StringValue: "x"}},
		"double dot":        {"a..b": {DataType: "String", StringValue: "x"}},
		"bad character":     {"a b": {DataType: "String", StringValue: "x"}},
		"unknown type":      {"a": {DataType: "Text", StringValue: "x"}},
		"empty label":       {"a": {DataType: "String.", StringValue: "x"}},
		"not a number":      {"a": {DataType: "Number", StringValue: "ten"}},
		"empty string":      {"a": {DataType: "String"}},
		"binary as string":  {"a": {DataType: "Binary", StringValue: "x"}},
		"string and binary": {"a": {DataType: "String", StringValue: "x", BinaryValue: []byte{1}}},
	}
	for name, attrs := range cases {
		err := awsapi.ValidateAttributes("MessageAttribute", attrs)
		var e *awsapi.Error
		if !errors.As(err, &e) || e.Code != "InvalidParameterValue" {
			t.Errorf("%s: %v; want an InvalidParameterValue error", name, err)
		}
	}
	many := map[string]awsapi.MessageAttribute{}
	for i := range awsapi.MaxMessageAttributes + 1 {
		many[string(rune('a'+i))] = awsapi.MessageAttribute{DataType: "String", StringValue: "x"}
	}
	if err := awsapi.ValidateAttributes("MessageAttribute", many); err == nil {
		t.Errorf("%d attributes accepted", len(many))
	}
}

func TestQueryLists(t *testing.T) {
	form, err := awsapi.ParseQuery("Action=SendMessageBatch", []byte(
		"SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x"+
			"&AttributeName.1=All&AttributeName.2=SentTimestamp&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5"))
	if err != nil {
		t.Fatal(err)
	}
	idx, entries, err := awsapi.Indexed(form, "SendMessageBatchRequestEntry")
	if err != nil || !reflect.DeepEqual(idx, []int{1, 2}) || entries[0].Get("MessageBody") != "x" || entries[1].Get("Id") != "b" {
		t.Errorf("Indexed = %v %v %v", idx, entries, err)
	}
	names, err := awsapi.List(form, "AttributeName")
	if err != nil || !reflect.DeepEqual(names, []string{"All", "SentTimestamp"}) {
		t.Errorf("List = %v, %v", names, err)
	}
	pairs, err := awsapi.Pairs(form, "Attribute", "Name", "Value")
	if err != nil || !reflect.DeepEqual(pairs, map[string]string{"DelaySeconds": "5"}) {
		t.Errorf("Pairs = %v, %v", pairs, err)
	}
	for _, bad := range []string{"X.0=a", "X.01=a", "X.1001=a", "X.one=a", "Action=A&Action=B"} {
		f, err := awsapi.ParseQuery("", []byte(bad))
		if err == nil {
			_, _, err = awsapi.Indexed(f, "X")
		}
		if err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := awsapi.ParseQuery("", []byte(strings.Repeat("a=b&", awsapi.MaxQueryParams+1))); err == nil {
		t.Errorf("more than MaxQueryParams parameters accepted")
	}
}

func TestDecodeRequest(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"QueueName":"q"}`))
	r.Header.Set("X-Amz-Target", "AmazonSQS.CreateQueue")
	r.Header.Set("Content-Type", awsapi.ContentTypeJSON10)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20261205/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00")
	c, err := awsapi.DecodeRequest(r, 1<<20)
	if err != nil || c.Target != "AmazonSQS" || c.Action != "CreateQueue" || string(c.Body) != `{"QueueName":"q"}` || c.ScopeService != "sqs" || c.Form != nil {
		t.Errorf("JSON call: %+v, %v", c, err)
	}
	r = httptest.NewRequest(http.MethodPost, "/000000000000/q?Version=2012-11-05", strings.NewReader("Action=SendMessage&MessageBody=hi"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	c, err = awsapi.DecodeRequest(r, 1<<20)
	if err != nil || c.Action != "SendMessage" || c.Version != "2012-11-05" || c.Form.Get("MessageBody") != "hi" || c.BaseURL != "http://example.com" {
		t.Errorf("query call: %+v, %v", c, err)
	}
	for name, req := range map[string]*http.Request{
		"no action": httptest.NewRequest(http.MethodPost, "/", strings.NewReader("")),
		"bad target": func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("X-Amz-Target", "NoDot")
			return r
		}(),
		"json no target": func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
			r.Header.Set("Content-Type", "application/json")
			return r
		}(),
		"too large": func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("a", 100)))
			return r
		}(),
	} {
		if _, err := awsapi.DecodeRequest(req, 10); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestErrorShapes(t *testing.T) {
	w := httptest.NewRecorder()
	awsapi.WriteJSONError(w, &awsapi.Error{Code: "AWS.SimpleQueueService.NonExistentQueue", Type: "QueueDoesNotExist", Message: "no queue q"},
		awsapi.ContentTypeJSON10, "com.amazonaws.sqs", true)
	if w.Code != 400 || w.Header().Get("X-Amzn-Query-Error") != "AWS.SimpleQueueService.NonExistentQueue;Sender" ||
		!strings.Contains(w.Body.String(), `"__type":"com.amazonaws.sqs#QueueDoesNotExist"`) || w.Header().Get("X-Amzn-RequestId") == "" {
		t.Errorf("JSON error: %d %v %s", w.Code, w.Header(), w.Body)
	}
	w = httptest.NewRecorder()
	awsapi.WriteQueryError(w, errors.New("disk on fire"), "http://sns.amazonaws.com/doc/2010-03-31/")
	var doc struct {
		Error     struct{ Type, Code, Message string }
		RequestID string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if w.Code != 500 || doc.Error.Type != "Receiver" || doc.Error.Code != "InternalFailure" || doc.RequestID == "" {
		t.Errorf("query error: %d %+v", w.Code, doc)
	}
}

func TestARN(t *testing.T) {
	env := &awsapi.Env{Region: "us-east-1", AccountID: "000000000000"}
	arn := env.ARN("events", "rule/bus/name")
	if arn != "arn:aws:events:us-east-1:000000000000:rule/bus/name" {
		t.Errorf("ARN = %s", arn)
	}
	if res, err := env.ParseOwnARN(arn, "events", "ResourceNotFoundException"); err != nil || res != "rule/bus/name" {
		t.Errorf("ParseOwnARN = %q, %v", res, err)
	}
	for _, bad := range []string{"", "arn:aws:sqs", "arn:aws:sqs:us-east-1:000000000000:q", "arn:aws:events:eu-west-1:000000000000:x", "arn:aws:events:us-east-1:111111111111:x"} {
		if _, err := env.ParseOwnARN(bad, "events", "ResourceNotFoundException"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMetaSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() (*courier.Broker, *awsapi.Meta) {
		b, err := courier.Open(ctx, "file://"+dir)
		if err != nil {
			t.Fatal(err)
		}
		m, persistent, err := awsapi.OpenMeta(ctx, b)
		if err != nil || !persistent {
			t.Fatalf("OpenMeta: %v, persistent %v", err, persistent)
		}
		return b, m
	}
	b, m := open()
	type tags struct{ Env string }
	for i, v := range []string{"a", "b", "c"} {
		if err := m.Put(ctx, "sqs/tags/q"+string(rune('0'+i)), tags{v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Put(ctx, "sqs/tags/q0", tags{"changed"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "sqs/tags/q1"); err != nil {
		t.Fatal(err)
	}
	_ = b.Close()

	b, m = open()
	defer b.Close()
	var got tags
	if ok, err := m.Get("sqs/tags/q0", &got); !ok || err != nil || got.Env != "changed" {
		t.Errorf("q0 after restart: %v %v %+v", ok, err, got)
	}
	if ok, _ := m.Get("sqs/tags/q1", &got); ok {
		t.Errorf("a deleted key came back")
	}
	if keys := m.Keys("sqs/tags/"); !reflect.DeepEqual(keys, []string{"sqs/tags/q0", "sqs/tags/q2"}) {
		t.Errorf("Keys = %v", keys)
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add("Action=X", "Entry.1.Id=a&Entry.2.Id=b&Attr.1.Name=n&Attr.1.Value=v")
	f.Add("", "Tags.member.1.Key=k&Tags.member.1.Value=v&X.0=1")
	f.Add("a=%zz", "")
	f.Fuzz(func(t *testing.T, query, body string) {
		form, err := awsapi.ParseQuery(query, []byte(body))
		if err != nil {
			return
		}
		for _, prefix := range []string{"Entry", "Attr", "Tags.member", "X"} {
			idx, members, err := awsapi.Indexed(form, prefix)
			if err != nil {
				continue
			}
			if len(idx) != len(members) {
				t.Fatalf("%d indexes, %d members", len(idx), len(members))
			}
			for i := 1; i < len(idx); i++ {
				if idx[i] <= idx[i-1] || idx[i] > awsapi.MaxQueryListLen {
					t.Fatalf("indexes out of order or range: %v", idx)
				}
			}
			_, _ = awsapi.List(form, prefix)
			_, _ = awsapi.Pairs(form, prefix, "Name", "Value")
		}
		_ = url.Values(form).Encode()
	})
}
