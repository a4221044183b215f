package kafka

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/courier-io/courier/driver"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		url   string
		check func(config) bool
	}{
		{"kafka://127.0.0.1:9092", func(c config) bool {
			return reflect.DeepEqual(c.brokers, []string{"127.0.0.1:9092"}) && c.prefix == "" && c.clientID == "courier" &&
				c.replication == -1 && c.groupSession == defaultGroupSession && c.linger == 0 && !c.tls && c.sasl == ""
		}},
		{"kafka://a,b:9093", func(c config) bool { return reflect.DeepEqual(c.brokers, []string{"a:9092", "b:9093"}) }},
		{"kafka://a?brokers=[::1]:9094,c", func(c config) bool {
			return reflect.DeepEqual(c.brokers, []string{"a:9092", "[::1]:9094", "c:9092"})
		}},
		{"kafka://u:p%40ss@a?sasl=scram-sha-512&tls=true&tls_server_name=k", func(c config) bool {
			return c.user == "u" && c.password == "p@ss" && c.sasl == "scram-sha-512" && c.tls && c.tlsServerName == "k"
		}},
		{"kafka://a?prefix=team.a_&client_id=svc&replication_factor=3&compression=zstd&linger=5ms&group_session_timeout=20s&metadata_max_age=1s&dial_timeout=2s", func(c config) bool {
			return c.prefix == "team.a_" && c.clientID == "svc" && c.replication == 3 && c.compression == "zstd" &&
				c.linger == 5*time.Millisecond && c.groupSession == 20*time.Second && c.metaMaxAge == time.Second && c.dialTimeout == 2*time.Second
		}},
	}
	for _, tc := range cases {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseURL(u)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if !tc.check(c) {
			t.Errorf("%s: parsed %+v", tc.url, c)
		}
		if _, err := c.clientOptions(); err != nil {
			t.Errorf("%s: client options: %v", tc.url, err)
		}
	}
}

func TestParseURLRejects(t *testing.T) {
	cases := map[string]string{
		"nats://a":             "url",
		"kafka://":             "url",
		"kafka://a/path":       "url",
		"kafka://a?nope=1":     "url.nope",
		"kafka://a?prefix=a/b": "url.prefix",
		"kafka://a?prefix=" + strings.Repeat("x", 65): "url.prefix",
		"kafka://a?tls=maybe":                         "url.tls",
		"kafka://a?tls_ca=x":                          "url.tls",
		"kafka://a?tls=true&tls_cert=c":               "url.tls_cert",
		"kafka://a?sasl=gssapi":                       "url.sasl",
		"kafka://a?sasl=plain":                        "url",
		"kafka://u:p@a":                               "url.sasl",
		"kafka://a?replication_factor=0":              "url.replication_factor",
		"kafka://a?compression=brotli":                "url.compression",
		"kafka://a?linger=2s":                         "url.linger",
		"kafka://a?group_session_timeout=10ms":        "url.group_session_timeout",
		"kafka://a:99999":                             "url",
		"kafka://a?prefix=x&prefix=y":                 "url.prefix",
	}
	for raw, field := range cases {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		_, err = parseURL(u)
		var ve *driver.ValidationError
		if !errors.As(err, &ve) || ve.Field != field || !errors.Is(err, driver.ErrInvalid) {
			t.Errorf("%s: error %v; want a validation error for %s", raw, err, field)
		}
	}
}

// FuzzParseURL checks that any URL either parses into a configuration
// franz-go accepts or fails with a validation error, never panicking.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"kafka://a:9092", "kafka://u:p@a,b?sasl=plain&prefix=x.", "kafka://a?tls=true&tls_insecure_skip_verify=1",
		"kafka://a?brokers=[::1]:1&linger=1ms", "kafka://a?group_session_timeout=1s&compression=lz4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		c, err := parseURL(u)
		if err != nil {
			var ve *driver.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("%q: error %v is not a validation error", raw, err)
			}
			return
		}
		if len(c.brokers) == 0 || len(c.prefix) > maxPrefixLen {
			t.Fatalf("%q: parsed %+v", raw, c)
		}
		if c.tlsCA == "" && c.tlsCert == "" {
			opts, err := c.clientOptions()
			if err != nil {
				t.Fatalf("%q: %v", raw, err)
			}
			cl, err := kgo.NewClient(opts...)
			if err != nil {
				t.Fatalf("%q: franz-go refuses the options: %v", raw, err)
			}
			cl.Close()
		}
	})
}

// FuzzHeaders checks that courier headers survive the trip through Kafka
// record headers, and that any Kafka headers decode.
func FuzzHeaders(f *testing.F) {
	f.Add("traceparent", "00-abc-def-01", "k", "")
	f.Add("", "x", "a", "\xff")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		h := map[string]string{}
		if k1 != "" {
			h[k1] = v1
		}
		if k2 != "" {
			h[k2] = v2
		}
		got := decodeHeaders(encodeHeaders(h))
		if len(h) == 0 && got != nil || len(h) > 0 && !reflect.DeepEqual(got, h) {
			t.Fatalf("headers %q came back as %q", h, got)
		}
		raw := []kgo.RecordHeader{{Key: k1, Value: []byte(v1)}, {Key: k2, Value: []byte(v2)}, {Key: k1, Value: []byte(v2)}}
		for k := range decodeHeaders(raw) {
			if k == "" {
				t.Fatal("decoded an empty header name")
			}
		}
	})
}

func TestRecordTime(t *testing.T) {
	mark := time.Unix(100, 400_000) // 100s + 0.4ms
	stored := time.UnixMilli(mark.UnixMilli())
	if got := recordTime(stored); got.Before(mark) || got.UnixMilli() != stored.UnixMilli() {
		t.Fatalf("recordTime(%v) = %v; want the last instant of its millisecond", stored, got)
	}
}

func TestOffsetMetadata(t *testing.T) {
	for _, k := range []driver.PositionKind{driver.FromEarliest, driver.FromLatest} {
		if got, ok := parseOffsetMetadata(offsetMetadata(k)); !ok || got != k {
			t.Fatalf("round trip of %s gave %s %v", k, got, ok)
		}
	}
	if _, ok := parseOffsetMetadata("from a Java consumer"); ok {
		t.Fatal("foreign metadata parsed")
	}
}
