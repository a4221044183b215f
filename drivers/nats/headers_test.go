package nats

import (
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
)

// wire renders a header the way nats.go sends it and parses it back, so
// the test sees what another client would receive.
func wire(t testing.TB, h nats.Header) nats.Header {
	t.Helper()
	var b strings.Builder
	b.WriteString("NATS/1.0\r\n")
	for k, vs := range h {
		for _, v := range vs {
			// nats.go trims values and replaces CR and LF by spaces.
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(strings.Trim(v, " \t\r\n"))
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	out, err := nats.DecodeHeadersMsg([]byte(b.String()))
	if err != nil {
		t.Fatalf("decoding %q: %v", b.String(), err)
	}
	return out
}

func TestHeadersRoundTrip(t *testing.T) {
	in := map[string]string{
		"traceparent":  "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"content-type": "text/plain",
		"with space":   "v",
		"Nats-Msg-Id":  "not a dedup id",
		"courier-id":   "not an id",
		"k":            "  padded\r\nvalue%41 ",
		"unicode-ü":    "ü",
		"empty":        "",
		"colon:key":    "x",
	}
	h := nats.Header{}
	putUserHeaders(h, in)
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "nats-") {
			t.Fatalf("a user header reached NATS as %q", k)
		}
	}
	if h.Get("traceparent") == "" || h.Get("content-type") != "text/plain" {
		t.Fatalf("plain headers were escaped: %v", h)
	}
	if got := userHeaders(wire(t, h)); !maps.Equal(got, in) {
		t.Fatalf("round trip = %q; want %q", got, in)
	}
	if got := userHeaders(nats.Header{hID: {"x"}, hMsgID: {"y"}, "Nats-Expected-Stream": {"z"}}); got != nil {
		t.Fatalf("driver and JetStream headers leaked: %v", got)
	}
}

// FuzzHeaders checks that any header courier accepts (names and values
// valid UTF-8, names not empty) survives the trip through NATS.
func FuzzHeaders(f *testing.F) {
	f.Add("k", "v", "Courier-H-x", "%")
	f.Add("a b", " c ", "nats-msg-id", "\r\n")
	f.Add("ü", "\x00", "%41", "%zz")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		in := map[string]string{}
		for _, kv := range [][2]string{{k1, v1}, {k2, v2}} {
			if kv[0] == "" || !utf8.ValidString(kv[0]) || !utf8.ValidString(kv[1]) {
				continue
			}
			in[kv[0]] = kv[1]
		}
		h := nats.Header{}
		putUserHeaders(h, in)
		for k := range h {
			for i := 0; i < len(k); i++ {
				if c := k[i]; c < 0x21 || c > 0x7e || strings.IndexByte("\"()/,:;<=>?@[\\]{}", c) >= 0 {
					t.Fatalf("header name %q has a byte NATS refuses", k)
				}
			}
		}
		got := userHeaders(wire(t, h))
		if len(in) == 0 && got == nil {
			return
		}
		if !maps.Equal(got, in) {
			t.Fatalf("round trip of %q = %q", in, got)
		}
	})
}
