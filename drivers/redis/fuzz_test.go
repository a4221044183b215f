package redis

import (
	"bytes"
	"maps"
	"net/url"
	"strings"
	"testing"

	"github.com/courier-io/courier/driver"
)

// FuzzBlob checks that decoding never panics on stored bytes and that
// every message survives an encode and decode.
func FuzzBlob(f *testing.F) {
	f.Add([]byte{}, "g", "d", "k", "v", []byte("body"))
	f.Add([]byte{1, 0, 0, 0}, "", "", "", "", []byte{})
	f.Add([]byte{1, 5, 'a'}, "group|x", "dedup", "traceparent", "00-abc", []byte{0xff, 0})
	f.Add([]byte{1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, "", "", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, raw []byte, group, dedup, hk, hv string, body []byte) {
		_, _ = decodeBlob(raw)
		m := driver.Message{Body: body, Group: group}
		if hk != "" {
			m.Headers = map[string]string{hk: hv, hk + "2": hv}
		}
		enc := appendBlob(nil, &m, dedup)
		b, err := decodeBlob(enc)
		if err != nil {
			t.Fatalf("decoding a blob just encoded: %v", err)
		}
		if b.group != group || b.dedup != dedup || !bytes.Equal(b.body, body) || !maps.Equal(b.headers, m.Headers) {
			t.Fatalf("round trip changed the message: %+v", b)
		}
	})
}

// FuzzMeta checks the metadata parser.
func FuzzMeta(f *testing.F) {
	f.Add("1700000000000|000000000000000a|7|00000000000000ff|src|topic|group|with|bars", "2|1700000000100")
	f.Add("1||||||", "")
	f.Add("", "x")
	f.Add("||||||", "|")
	f.Add("1|||||g\n\x01\x00\x00\x00body", "1|2|d")
	f.Fuzz(func(t *testing.T, s, r string) {
		_, _, _ = parseValue(s, r)
		m, err := parseMeta(s, r)
		if err == nil && m.receives < 0 {
			t.Fatalf("negative receive count from %q", r)
		}
	})
}

// FuzzReceipt checks that receipts parse back to what was encoded and
// that anything else is refused without a panic.
func FuzzReceipt(f *testing.F) {
	f.Add("12.000000000000002a.1")
	f.Add("not-a-receipt")
	f.Add("1..1")
	f.Add("99999999999999999999.0000000000000000.99999999999")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseReceipt(s)
		if err != nil {
			return
		}
		if got := encodeReceipt(r.gen, r.id, r.receives); got != s {
			t.Fatalf("receipt %q parsed to %+v, which encodes as %q", s, r, got)
		}
	})
}

// FuzzLive checks the parser of messages on a topic's live channel.
func FuzzLive(f *testing.F) {
	f.Add("000000000000002a|1700000000000|3|\x01\x00\x00\x00body")
	f.Add("000000000000002a|1||")
	f.Add(liveDeleted)
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseLive(s)
		if err == nil && !isID(l.id) {
			t.Fatalf("accepted id %q", l.id)
		}
	})
}

// FuzzURL checks the URL option parser: it never panics, and what it
// accepts has a valid prefix and persistence mode.
func FuzzURL(f *testing.F) {
	f.Add("redis://127.0.0.1:6379/0")
	f.Add("rediss://user:pass@host:6380/2?prefix=app:courier&persistent=yes&skip_verify=true")
	f.Add("redis://h/0?prefix=&pool_size=x")
	f.Add("redis://h?ca_file=/nonexistent")
	f.Add("redis://h/0?dial_timeout=2s&max_retries=-1&persistent=auto")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		cfg, err := parseURL(u)
		if err != nil {
			return
		}
		if validatePrefix(cfg.prefix) != nil || !strings.Contains("auto yes no", cfg.persistent) || cfg.opts == nil {
			t.Fatalf("accepted %q as %+v", s, cfg)
		}
	})
}

// FuzzRecordBlob checks the stream record decoder and the round trip.
func FuzzRecordBlob(f *testing.F) {
	f.Add([]byte{2, 3, 'k', 'e', 'y', 0, 'v'}, []byte("key"), "h", "v", []byte("value"))
	f.Add([]byte{2, 0xff, 0xff, 0x7f}, []byte{}, "", "", []byte{})
	f.Add([]byte{1, 0, 0, 0}, []byte(nil), "traceparent", "00-1", []byte{0})
	f.Fuzz(func(t *testing.T, raw, key []byte, hk, hv string, value []byte) {
		_, _, _, _ = decodeRecordBlob(raw)
		r := driver.Record{Key: key, Value: value}
		if hk != "" {
			r.Headers = map[string]string{hk: hv}
		}
		k, h, v, err := decodeRecordBlob(appendRecordBlob(nil, &r))
		if err != nil {
			t.Fatalf("decoding a record just encoded: %v", err)
		}
		if !bytes.Equal(k, key) || !bytes.Equal(v, value) || !maps.Equal(h, r.Headers) {
			t.Fatalf("round trip changed the record: %q %v %q", k, h, v)
		}
	})
}
