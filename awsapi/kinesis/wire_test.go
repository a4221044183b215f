package kinesis_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/courier-io/courier/awsapi"
	"github.com/courier-io/courier/awsapi/gateway"
)

// post sends a raw Kinesis request and returns the response.
func post(t *testing.T, url, action, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+action)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// cborCall sends a CBOR request built from v and decodes the CBOR answer.
func cborCall(t *testing.T, url, action string, v any) (int, map[string]any) {
	t.Helper()
	body, err := cbor.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	status, h, b := post(t, url, action, awsapi.ContentTypeCBOR11, body)
	if ct := h.Get("Content-Type"); ct != awsapi.ContentTypeCBOR11 {
		t.Fatalf("%s: Content-Type %q; want CBOR", action, ct)
	}
	out := map[string]any{}
	if err := cbor.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: answer is not CBOR: %v (% x)", action, err, b)
	}
	return status, out
}

// epochMillis is tag 1 with epoch milliseconds, as the AWS SDK for Java
// writes CBOR timestamps.
func epochMillis(t time.Time) cbor.Tag { return cbor.Tag{Number: 1, Content: t.UnixMilli()} }

// cborMillis reads a decoded tag-1 timestamp that holds integer epoch
// milliseconds: the decoder took them for seconds and made a time.Time.
func cborMillis(t *testing.T, v any) time.Time {
	t.Helper()
	tm, ok := v.(time.Time)
	if !ok || tm.Nanosecond() != 0 {
		t.Fatalf("timestamp %T %v; want tag 1 with an integer", v, v)
	}
	return time.UnixMilli(tm.Unix())
}

func TestCBOR(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	if status, out := cborCall(t, f.url, "CreateStream", map[string]any{"StreamName": "cb", "ShardCount": 2}); status != 200 {
		t.Fatalf("CreateStream: %d %v", status, out)
	}
	before := time.Now().Add(-time.Second)
	status, out := cborCall(t, f.url, "PutRecord", map[string]any{"StreamName": "cb", "PartitionKey": "pk", "Data": []byte{0, 1, 2, 0xff}})
	if status != 200 {
		t.Fatalf("PutRecord: %d %v", status, out)
	}
	shard, _ := out["ShardId"].(string)
	seq, _ := out["SequenceNumber"].(string)
	if !strings.HasPrefix(shard, "shardId-") || seq == "" {
		t.Fatalf("PutRecord answer %v", out)
	}
	status, out = cborCall(t, f.url, "PutRecords", map[string]any{"StreamName": "cb", "Records": []any{
		map[string]any{"PartitionKey": "pk", "Data": []byte("second")},
	}})
	if status != 200 || out["FailedRecordCount"] != uint64(0) {
		t.Fatalf("PutRecords: %d %v", status, out)
	}
	// AT_TIMESTAMP with tag 1 + epoch milliseconds, as the Java SDK sends.
	status, out = cborCall(t, f.url, "GetShardIterator", map[string]any{
		"StreamName": "cb", "ShardId": shard, "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": epochMillis(before),
	})
	if status != 200 {
		t.Fatalf("GetShardIterator: %d %v", status, out)
	}
	status, out = cborCall(t, f.url, "GetRecords", map[string]any{"ShardIterator": out["ShardIterator"]})
	if status != 200 {
		t.Fatalf("GetRecords: %d %v", status, out)
	}
	recs, _ := out["Records"].([]any)
	if len(recs) != 2 {
		t.Fatalf("GetRecords: %v", out)
	}
	r := recs[0].(map[any]any)
	if data, ok := r["Data"].([]byte); !ok || !bytes.Equal(data, []byte{0, 1, 2, 0xff}) {
		t.Fatalf("Data %T %v; want a byte string", r["Data"], r["Data"])
	}
	if r["PartitionKey"] != "pk" || r["SequenceNumber"] != seq {
		t.Fatalf("record %v", r)
	}
	// ApproximateArrivalTimestamp is tag 1 holding integer milliseconds:
	// an RFC 8949 decoder (this one) reads them as seconds.
	if arrived := cborMillis(t, r["ApproximateArrivalTimestamp"]); arrived.Before(before) || time.Since(arrived) > time.Minute {
		t.Fatalf("ApproximateArrivalTimestamp %v; want now", arrived)
	}
	status, out = cborCall(t, f.url, "DescribeStream", map[string]any{"StreamName": "cb"})
	desc, _ := out["StreamDescription"].(map[any]any)
	if status != 200 || desc["StreamStatus"] != "ACTIVE" || len(desc["Shards"].([]any)) != 2 {
		t.Fatalf("DescribeStream: %d %v", status, out)
	}
	if created := cborMillis(t, desc["StreamCreationTimestamp"]); time.Since(created) > time.Minute {
		t.Fatalf("StreamCreationTimestamp %v", created)
	}

	// Errors are CBOR maps with __type and message.
	for _, c := range []struct {
		action string
		body   any
		typ    string
	}{
		{"DescribeStream", map[string]any{"StreamName": "missing"}, "ResourceNotFoundException"},
		{"PutRecord", map[string]any{"StreamName": "cb", "PartitionKey": "", "Data": []byte("x")}, "ValidationException"},
		{"PutRecord", map[string]any{"StreamName": "cb", "PartitionKey": "k", "Data": "not bytes but text", "ExplicitHashKey": 5}, "SerializationException"},
		{"GetRecords", map[string]any{"ShardIterator": "cb/AAAA"}, "InvalidArgumentException"},
		{"SplitShard", map[string]any{"StreamName": "cb"}, "UnknownOperationException"},
		{"Frobnicate", map[string]any{}, "UnknownOperationException"},
	} {
		status, out := cborCall(t, f.url, c.action, c.body)
		if status != 400 || out["__type"] != c.typ || out["message"] == "" {
			t.Fatalf("%s: %d %v; want 400 %s", c.action, status, out, c.typ)
		}
	}
	// Malformed CBOR.
	status, h, b := post(t, f.url, "DescribeStream", awsapi.ContentTypeCBOR11, []byte{0xbf, 0x61})
	var e map[string]any
	if err := cbor.Unmarshal(b, &e); err != nil || status != 400 || e["__type"] != "SerializationException" || h.Get("X-Amzn-ErrorType") != "SerializationException" {
		t.Fatalf("malformed CBOR: %d %v %v", status, e, err)
	}
}

func TestJSONErrorShapes(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	for _, c := range []struct {
		action, body, typ string
	}{
		{"DescribeStream", `{"StreamName":"missing"}`, "ResourceNotFoundException"},
		{"DescribeStream", `{"StreamName":`, "SerializationException"},
		{"DescribeStream", `{"StreamName":5}`, "SerializationException"},
		{"CreateStream", `{"StreamName":"x","ShardCount":0}`, "ValidationException"},
		{"GetShardIterator", `{"StreamName":"x","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":"yesterday"}`, "SerializationException"},
		{"PutRecord", `{"StreamName":"x","PartitionKey":"k","Data":"***"}`, "SerializationException"},
		{"DescribeStream", `{"StreamName":"x","StreamId":"abcdefghijklmnopqrst-abc"}`, "InvalidArgumentException"},
		{"MergeShards", `{}`, "UnknownOperationException"},
		{"Nope", `{}`, "UnknownOperationException"},
	} {
		status, h, b := post(t, f.url, c.action, awsapi.ContentTypeJSON11, []byte(c.body))
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s %s: %v: %s", c.action, c.body, err, b)
		}
		if status != 400 || e.Type != c.typ || e.Message == "" || h.Get("Content-Type") != awsapi.ContentTypeJSON11 || h.Get("X-Amzn-RequestId") == "" {
			t.Fatalf("%s %s: %d %+v %v; want 400 %s", c.action, c.body, status, e, h, c.typ)
		}
	}
	// JSON timestamps are epoch seconds; blobs base64.
	if status, _, b := post(t, f.url, "CreateStream", awsapi.ContentTypeJSON11, []byte(`{"StreamName":"j","ShardCount":1}`)); status != 200 {
		t.Fatalf("CreateStream: %d %s", status, b)
	}
	if status, _, b := post(t, f.url, "PutRecord", awsapi.ContentTypeJSON11, []byte(`{"StreamName":"j","PartitionKey":"k","Data":"aGk="}`)); status != 200 {
		t.Fatalf("PutRecord: %d %s", status, b)
	}
	_, _, b := post(t, f.url, "GetShardIterator", awsapi.ContentTypeJSON11, []byte(`{"StreamName":"j","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1.5}`))
	var it struct{ ShardIterator string }
	if err := json.Unmarshal(b, &it); err != nil || it.ShardIterator == "" {
		t.Fatalf("GetShardIterator: %s", b)
	}
	_, _, b = post(t, f.url, "GetRecords", awsapi.ContentTypeJSON11, []byte(`{"ShardIterator":"`+it.ShardIterator+`"}`))
	var recs struct {
		Records []struct {
			Data                        string
			ApproximateArrivalTimestamp json.Number
		}
	}
	if err := json.Unmarshal(b, &recs); err != nil || len(recs.Records) != 1 || recs.Records[0].Data != "aGk=" {
		t.Fatalf("GetRecords: %s", b)
	}
	if s := recs.Records[0].ApproximateArrivalTimestamp.String(); strings.ContainsAny(s, "eE") || !strings.HasPrefix(s, "1") {
		t.Fatalf("ApproximateArrivalTimestamp %s; want plain epoch seconds", s)
	}
}
