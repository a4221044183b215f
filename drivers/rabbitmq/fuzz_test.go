package rabbitmq

import (
	"errors"
	"maps"
	"net/url"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier/driver"
)

// FuzzHeaders checks that any user headers survive the trip through an
// AMQP header table, whether they travel as fields or packed.
func FuzzHeaders(f *testing.F) {
	f.Add("traceparent", "00-abc-01", "x-custom", "v", "courier-sent", "")
	f.Add("", "", "k", "", string(make([]byte, 300)), "long")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		h := map[string]string{}
		for _, kv := range [][2]string{{k1, v1}, {k2, v2}, {k3, v3}} {
			if kv[0] != "" {
				h[kv[0]] = kv[1]
			}
		}
		tab := amqp.Table{}
		encodeHeaders(tab, h)
		got, err := decodeHeaders(tab)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) == 0 && len(got) == 0 {
			return
		}
		if !maps.Equal(got, h) {
			t.Fatalf("headers %q came back as %q", h, got)
		}
	})
}

// FuzzOverflow checks that the packed-header decoder rejects or accepts
// any bytes without panicking, and re-encodes what it accepts.
func FuzzOverflow(f *testing.F) {
	f.Add(appendPair(nil, "a", "b"))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h := map[string]string{}
		if err := decodeOverflow(b, h); err != nil {
			if !errors.Is(err, errOverflow) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		var again []byte
		for k, v := range h {
			again = appendPair(again, k, v)
		}
		h2 := map[string]string{}
		if err := decodeOverflow(again, h2); err != nil || !maps.Equal(h, h2) {
			t.Fatalf("re-encoded %q decoded as %q (%v)", h, h2, err)
		}
	})
}

// FuzzParseURL checks that the URL parser never panics and that what it
// accepts is a URL amqp091-go accepts too, or else names the field.
func FuzzParseURL(f *testing.F) {
	f.Add("amqp://guest:guest@127.0.0.1:5672/")
	f.Add("amqps://u:p@host/vh?namespace=a-b&publishers=2&hold_limit=5m&tls_insecure_skip_verify=true")
	f.Add("amqp://h/?reconnect_wait=10ms&reconnect_attempts=3&heartbeat=5")
	f.Add("amqp://h/?bogus=1")
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		cfg, err := parseURL(u)
		if err != nil {
			var ve *driver.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, driver.ErrInvalid) {
				t.Fatalf("error %v is not a validation error", err)
			}
			return
		}
		if _, err := amqp.ParseURI(cfg.amqpURL); err != nil {
			t.Fatalf("accepted %q but the client refuses %q: %v", raw, cfg.amqpURL, err)
		}
		if validNamespace(cfg.namespace) != nil || cfg.publishers < 1 || cfg.holdLimit <= 0 {
			t.Fatalf("accepted %q with config %+v", raw, cfg)
		}
	})
}
