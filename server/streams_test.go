package server_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/internal/httpapi"
	"github.com/courier-io/courier/server"
)

func TestStreamEndpoints(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	var info httpapi.StreamInfo
	a.ok("PUT", "/v1/streams/clicks", `{"partitions": 2, "retention": "1h"}`, http.StatusCreated, &info)
	if *info.Attributes.Partitions != 2 || time.Duration(*info.Attributes.Retention) != time.Hour || len(info.Partitions) != 2 {
		t.Fatalf("created %+v", info)
	}
	a.ok("PUT", "/v1/streams/clicks", `{"partitions": 2, "retention": "1h"}`, http.StatusOK, nil)
	a.fail("PUT", "/v1/streams/clicks", `{"partitions": 3}`, http.StatusConflict, "conflict")
	var list httpapi.StreamList
	a.ok("GET", "/v1/streams", "", http.StatusOK, &list)
	if !reflect.DeepEqual(list.Streams, []string{"clicks"}) {
		t.Fatalf("list = %v", list)
	}

	var app httpapi.AppendResponse
	a.ok("POST", "/v1/streams/clicks/records", `{"records": [
		{"key": "u1", "value": "home"},
		{"value_base64": "/wA=", "partition": 1, "headers": {"h": "v"}},
		{"value": "x", "partition": 7}]}`, http.StatusOK, &app)
	if len(app.Offsets) != 3 || app.Offsets[0].Error != nil || app.Offsets[1].Error != nil || app.Offsets[1].Partition != 1 ||
		app.Offsets[2].Error == nil || app.Offsets[2].Error.Code != "invalid_argument" || app.Offsets[2].Error.Field != "records[2].partition" {
		t.Fatalf("append answer %+v", app)
	}
	var read httpapi.ReadResponse
	a.ok("POST", "/v1/streams/clicks/read", `{"partition": 1, "from": "earliest"}`, http.StatusOK, &read)
	if len(read.Records) < 1 || read.End < 1 {
		t.Fatalf("read %+v", read)
	}
	last := read.Records[len(read.Records)-1]
	if last.ValueBase64 == nil || *last.ValueBase64 != "/wA=" || last.Headers["h"] != "v" || last.Value != nil {
		t.Fatalf("binary record read back as %+v", last)
	}
	var atEnd httpapi.ReadResponse
	a.ok("POST", "/v1/streams/clicks/read", `{"partition": 1, "from": {"offset": `+jsonInt(read.End)+`}, "wait": "10ms"}`, http.StatusOK, &atEnd)
	if len(atEnd.Records) != 0 || atEnd.Next != read.End || atEnd.End != read.End {
		t.Fatalf("read at the end %+v", atEnd)
	}

	var asg httpapi.Assignment
	a.ok("POST", "/v1/streams/clicks/groups/g/join", `{"member": "m1", "session_timeout": "1m"}`, http.StatusOK, &asg)
	if len(asg.Partitions) != 2 {
		t.Fatalf("join %+v", asg)
	}
	var poll httpapi.PollResponse
	a.ok("POST", "/v1/streams/clicks/groups/g/poll", `{"member": "m1", "max": 10}`, http.StatusOK, &poll)
	if len(poll.Records) != 2 {
		t.Fatalf("poll %+v", poll)
	}
	a.ok("POST", "/v1/streams/clicks/groups/g/commit", `{"member": "m1", "generation": `+jsonInt(poll.Assignment.Generation)+`, "offsets": {"1": 1}}`, http.StatusNoContent, nil)
	a.fail("POST", "/v1/streams/clicks/groups/g/commit", `{"member": "ghost", "generation": 1, "offsets": {"0": 1}}`, http.StatusConflict, "fenced")
	a.ok("POST", "/v1/streams/clicks/groups/g/heartbeat", `{"member": "m1"}`, http.StatusOK, &asg)
	a.fail("POST", "/v1/streams/clicks/groups/g/reset", `{"to": "earliest"}`, http.StatusConflict, "conflict")
	a.ok("POST", "/v1/streams/clicks/groups/g/leave", `{"member": "m1"}`, http.StatusNoContent, nil)
	var reset httpapi.ResetResponse
	a.ok("POST", "/v1/streams/clicks/groups/g/reset", `{"to": "earliest", "partitions": [1]}`, http.StatusOK, &reset)
	if !reflect.DeepEqual(reset.Offsets, map[string]int64{"1": 0}) {
		t.Fatalf("reset %+v", reset)
	}
	a.ok("GET", "/v1/streams/clicks", "", http.StatusOK, &info)
	if len(info.Groups) != 1 || info.Groups[0].Committed[1] != 0 || info.Groups[0].Lag[1] != 2 {
		t.Fatalf("info groups %+v", info.Groups)
	}
	a.ok("PATCH", "/v1/streams/clicks", `{"partitions": 4}`, http.StatusOK, &info)
	if len(info.Partitions) != 4 {
		t.Fatalf("patched %+v", info)
	}
	a.ok("DELETE", "/v1/streams/clicks/groups/g", "", http.StatusNoContent, nil)
	a.ok("DELETE", "/v1/streams/clicks", "", http.StatusNoContent, nil)
	a.fail("GET", "/v1/streams/clicks", "", http.StatusNotFound, "not_found")
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestStreamBadInput sends bad requests to every stream endpoint: each
// is refused with the documented status, code and field, and nothing
// changes.
func TestStreamBadInput(t *testing.T) {
	t.Parallel()
	a := newAPI(t, nil)
	a.ok("PUT", "/v1/streams/s", `{"partitions": 2}`, http.StatusCreated, nil)
	a.ok("PUT", "/v1/streams/c", `{"compact": true}`, http.StatusCreated, nil)
	a.ok("POST", "/v1/streams/s/records", `{"records": [{"value": "a"}, {"value": "b"}]}`, http.StatusOK, nil)
	a.ok("POST", "/v1/streams/s/groups/g/join", `{"member": "m"}`, http.StatusOK, nil)
	before := streamState(a)
	const s = "/v1/streams/s"
	for _, c := range []badInput{
		{"PUT", "/v1/streams/bad%20name", "", 400, "invalid_argument", "name"},
		{"PUT", "/v1/streams/new", `{"partitions": 0}`, 400, "invalid_argument", "partitions"},
		{"PUT", "/v1/streams/new", `{"partitions": 5000}`, 400, "invalid_argument", "partitions"},
		{"PUT", "/v1/streams/new", `{"partitions": "8"}`, 400, "invalid_argument", "partitions"},
		{"PUT", "/v1/streams/new", `{"retention": "forever"}`, 400, "invalid_argument", "retention"},
		{"PUT", "/v1/streams/new", `{"retention": "-1h"}`, 400, "invalid_argument", "retention"},
		{"PUT", "/v1/streams/new", `{"retention_bytes": -1}`, 400, "invalid_argument", "retention_bytes"},
		{"PUT", "/v1/streams/new", `{"max_record_size": 10}`, 400, "invalid_argument", "max_record_size"},
		{"PUT", "/v1/streams/new", `{"partitions": 2, "colour": "red"}`, 400, "invalid_argument", "colour"},
		{"PUT", "/v1/streams/new", `{"partitions": 2`, 400, "invalid_argument", "body"},
		{"PUT", "/v1/streams/s", `{"partitions": 3}`, 409, "conflict", ""},
		{"PATCH", s, `{"partitions": 1}`, 409, "conflict", ""},
		{"PATCH", s, `{"compact": true}`, 409, "conflict", ""},
		{"PATCH", s, "", 400, "invalid_argument", "body"},
		{"PATCH", "/v1/streams/missing", `{"partitions": 3}`, 404, "not_found", ""},
		{"GET", "/v1/streams/missing", "", 404, "not_found", ""},
		{"DELETE", "/v1/streams/missing", "", 404, "not_found", ""},
		{"POST", s + "/records", "", 400, "invalid_argument", "body"},
		{"POST", s + "/records", `{"records": []}`, 400, "invalid_argument", "records"},
		{"POST", s + "/records", `{"records": {"value": "x"}}`, 400, "invalid_argument", "records"},
		{"POST", s + "/records", `{"records": [{"value": "x", "value_base64": "eA=="}]}`, 400, "invalid_argument", "records[0].value_base64"},
		{"POST", s + "/records", `{"records": [{"value_base64": "***"}]}`, 400, "invalid_argument", "records[0].value_base64"},
		{"POST", s + "/records", `{"records": [{"key": "k", "key_base64": "aw=="}]}`, 400, "invalid_argument", "records[0].key_base64"},
		{"POST", s + "/records", `{"records": [{"value": "x", "partition": -2}]}`, 400, "invalid_argument", "records[0].partition"},
		{"POST", s + "/records", `{"records": [{"value": "x", "headers": {"": "v"}}]}`, 400, "invalid_argument", "records[0].headers"},
		{"POST", s + "/records", `{"records": [{"key": "` + strings.Repeat("k", driver.MaxKeyLen+1) + `"}]}`, 413, "too_large", "records[0].key"},
		{"POST", s + "/records", `{"records": [` + strings.TrimSuffix(strings.Repeat(`{"value":"v"},`, driver.MaxBatch+1), ",") + `]}`, 413, "too_large", "records"},
		{"POST", "/v1/streams/missing/records", `{"records": [{"value": "x"}]}`, 404, "not_found", ""},
		{"POST", s + "/read", `{"partition": 9}`, 400, "invalid_argument", "partition"},
		{"POST", s + "/read", `{"partition": -1}`, 400, "invalid_argument", "partition"},
		{"POST", s + "/read", `{"from": "middle"}`, 400, "invalid_argument", "from"},
		{"POST", s + "/read", `{"from": {"offset": 1, "time": "2026-01-01T00:00:00Z"}}`, 400, "invalid_argument", "from"},
		{"POST", s + "/read", `{"from": {"offset": -1}}`, 400, "invalid_argument", "from.offset"},
		{"POST", s + "/read", `{"from": {"offset": 99}}`, 400, "invalid_argument", "from.offset"},
		{"POST", s + "/read", `{"from": {"time": "yesterday"}}`, 400, "invalid_argument", "from"},
		{"POST", s + "/read", `{"from": {}}`, 400, "invalid_argument", "from"},
		{"POST", s + "/read", `{"max": 10001}`, 400, "invalid_argument", "max"},
		{"POST", s + "/read", `{"max_bytes": -1}`, 400, "invalid_argument", "max_bytes"},
		{"POST", s + "/read", `{"wait": "1h"}`, 400, "invalid_argument", "wait"},
		{"POST", s + "/groups/g/join", `{}`, 400, "invalid_argument", "member"},
		{"POST", s + "/groups/g/join", `{"member": "has space"}`, 400, "invalid_argument", "member"},
		{"POST", s + "/groups/g/join", `{"member": "m2", "session_timeout": "1ms"}`, 400, "invalid_argument", "session_timeout"},
		{"POST", s + "/groups/g/join", `{"member": "m2", "start_from": "middle"}`, 400, "invalid_argument", "start_from"},
		{"POST", s + "/groups/bad%2Fname/join", `{"member": "m2"}`, 400, "invalid_argument", "group"},
		{"POST", "/v1/streams/missing/groups/g/join", `{"member": "m2"}`, 404, "not_found", ""},
		{"POST", s + "/groups/g/heartbeat", `{"member": "ghost"}`, 409, "fenced", ""},
		{"POST", s + "/groups/g/poll", `{"member": "m", "max": -1}`, 400, "invalid_argument", "max"},
		{"POST", s + "/groups/g/poll", `{"member": "m", "wait": "1h"}`, 400, "invalid_argument", "wait"},
		{"POST", s + "/groups/g/poll", `{"member": "ghost"}`, 409, "fenced", ""},
		{"POST", s + "/groups/g/commit", `{"member": "m", "generation": 1, "offsets": {}}`, 400, "invalid_argument", "offsets"},
		{"POST", s + "/groups/g/commit", `{"member": "m", "generation": 1, "offsets": {"x": 1}}`, 400, "invalid_argument", "offsets"},
		{"POST", s + "/groups/g/commit", `{"member": "m", "generation": 1, "offsets": {"01": 1}}`, 400, "invalid_argument", "offsets"},
		{"POST", s + "/groups/g/commit", `{"member": "m", "generation": 1, "offsets": {"0": 99}}`, 400, "invalid_argument", "offsets[0]"},
		{"POST", s + "/groups/g/commit", `{"member": "m", "generation": 1, "offsets": {"5": 0}}`, 400, "invalid_argument", "offsets[5]"},
		{"POST", s + "/groups/g/commit", `{"member": "m", "generation": 0, "offsets": {"0": 1}}`, 409, "fenced", ""},
		{"POST", s + "/groups/g/leave", `{"member": "ghost"}`, 409, "fenced", ""},
		{"POST", s + "/groups/g/reset", `{}`, 400, "invalid_argument", "to"},
		{"POST", s + "/groups/g/reset", `{"to": "earliest"}`, 409, "conflict", ""},
		{"POST", s + "/groups/other/reset", `{"to": "earliest"}`, 404, "not_found", ""},
		{"DELETE", s + "/groups/g", "", 409, "conflict", ""},
		{"DELETE", s + "/groups/other", "", 404, "not_found", ""},
	} {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		status, ctype, data := a.send(c.method, c.path, body)
		name := c.method + " " + c.path + " " + c.body
		if len(name) > 160 {
			name = name[:160] + "..."
		}
		if status != c.status {
			t.Errorf("%s: status %d, want %d; answer %s", name, status, c.status, data)
			continue
		}
		e := apiError(t, ctype, data)
		if e.Code != c.code || e.Field != c.field {
			t.Errorf("%s: code %q field %q, want %q %q; answer %s", name, e.Code, e.Field, c.code, c.field, data)
		}
	}
	if after := streamState(a); !reflect.DeepEqual(after, before) {
		t.Errorf("bad input changed the broker:\nbefore %+v\nafter  %+v", before, after)
	}
}

// streamState is what bad stream input must not change.
func streamState(a *api) map[string]httpapi.StreamInfo {
	a.t.Helper()
	var list httpapi.StreamList
	a.ok("GET", "/v1/streams", "", http.StatusOK, &list)
	out := map[string]httpapi.StreamInfo{}
	for _, n := range list.Streams {
		var info httpapi.StreamInfo
		a.ok("GET", "/v1/streams/"+n, "", http.StatusOK, &info)
		for i := range info.Groups {
			for j := range info.Groups[i].Members {
				info.Groups[i].Members[j].LastSeen = time.Time{} // every call renews it
			}
		}
		out[n] = info
	}
	return out
}

// FuzzDecodeAppend feeds arbitrary bodies to the append decoder.
func FuzzDecodeAppend(f *testing.F) {
	f.Add([]byte(`{"records": [{"key": "k", "value": "v", "headers": {"a": "b"}, "partition": 1}, {"value_base64": "/wA="}]}`))
	f.Add([]byte(`{"records": []}`))
	f.Add([]byte(`{"records": [{"key_base64": "***"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := server.DecodeAppend(data)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		req := httpapi.AppendRequest{}
		for _, r := range recs {
			req.Records = append(req.Records, httpapi.RecordJSON(r))
		}
		again, err := server.DecodeAppend(mustJSON(t, req))
		if err != nil || len(again) != len(recs) {
			t.Fatalf("re-encoded append: %v (%d vs %d records)", err, len(again), len(recs))
		}
		for i := range recs {
			a, b := recs[i], again[i]
			if string(a.Key) != string(b.Key) || string(a.Value) != string(b.Value) || a.Partition != b.Partition || !maps.Equal(a.Headers, b.Headers) {
				t.Fatalf("record %d changed: %+v vs %+v", i, a, b)
			}
		}
	})
}

// FuzzPosition feeds arbitrary JSON to the read position decoder.
func FuzzPosition(f *testing.F) {
	for _, s := range []string{`"earliest"`, `"latest"`, `{"offset": 3}`, `{"time": "2026-11-25T10:00:00Z"}`, `{}`, `7`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p httpapi.PositionJSON
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		var again httpapi.PositionJSON
		if err := json.Unmarshal(mustJSON(t, p), &again); err != nil {
			t.Fatalf("re-encoded position %s: %v", mustJSON(t, p), err)
		}
		if again.Kind != p.Kind && !(p.Kind == "" && again.Kind == driver.FromEarliest) || again.Offset != p.Offset || !again.Time.Equal(p.Time) {
			t.Fatalf("position changed: %+v vs %+v", p, again)
		}
	})
}
