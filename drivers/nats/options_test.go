package nats

import (
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		url   string
		check func(c config) bool
	}{
		{"nats://", func(c config) bool {
			return slices.Equal(c.servers, []string{"nats://127.0.0.1:4222"}) && c.prefix == "courier" && c.replicas == 1 &&
				c.storage == jetstream.FileStorage && c.metaTTL == defaultMetaTTL && c.maxReconnects == -1
		}},
		{"nats://h1?servers=h2:4223,[::1]:4224", func(c config) bool {
			return slices.Equal(c.servers, []string{"nats://h1:4222", "nats://h2:4223", "nats://[::1]:4224"})
		}},
		{"nats+tls://h:1?tls_ca=/ca.pem", func(c config) bool { return c.tls && c.tlsCA == "/ca.pem" && c.servers[0] == "tls://h:1" }},
		{"nats://u:p@h", func(c config) bool { return c.user == "u" && c.password == "p" }},
		{"nats://tok@h", func(c config) bool { return c.token == "tok" }},
		{"nats://h?prefix=a-b_C&replicas=3&storage=memory&meta_ttl=0s&max_reconnects=5&reconnect_wait=1s&connect_timeout=2s&name=x&domain=hub",
			func(c config) bool {
				return c.prefix == "a-b_C" && c.replicas == 3 && c.storage == jetstream.MemoryStorage && c.metaTTL == 0 &&
					c.maxReconnects == 5 && c.reconnectWait == time.Second && c.connectTimeout == 2*time.Second && c.name == "x" && c.domain == "hub"
			}},
		{"nats://h?creds=/c&nkey=/k&tls=true", func(c config) bool { return c.credsFile == "/c" && c.nkeyFile == "/k" && c.tls }},
	}
	for _, g := range good {
		u, _ := url.Parse(g.url)
		c, err := parseURL(u)
		if err != nil || !g.check(c) {
			t.Errorf("parseURL(%q) = %+v, %v", g.url, c, err)
		}
	}
	bad := map[string]string{
		"http://h":                     "url",
		"nats://h/path":                "url",
		"nats://h?bogus=1":             "url.bogus",
		"nats://h?prefix=a.b":          "url.prefix",
		"nats://h?prefix=":             "url.prefix",
		"nats://h?replicas=9":          "url.replicas",
		"nats://h?storage=disk":        "url.storage",
		"nats://h?tls=maybe":           "url.tls",
		"nats+tls://h?tls=false":       "url.tls",
		"nats://h?tls_cert=/c":         "url.tls_cert",
		"nats://h?meta_ttl=forever":    "url.meta_ttl",
		"nats://h?max_reconnects=-2":   "url.max_reconnects",
		"nats://h?servers=a/b":         "url.servers",
		"nats://h:99999":               "url",
		"nats://u:p@h?token=t":         "url.token",
		"nats://h?prefix=a&prefix=b":   "url.prefix",
		"nats://h?domain=a.b":          "url.domain",
		"nats://h?connect_timeout=0ms": "url.connect_timeout",
	}
	for raw, field := range bad {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		_, err = parseURL(u)
		var ve *driver.ValidationError
		if !errors.As(err, &ve) || ve.Field != field || !errors.Is(err, driver.ErrInvalid) {
			t.Errorf("parseURL(%q) = %v; want an ErrInvalid naming %s", raw, err, field)
		}
	}
}

// FuzzParseURL checks that any URL is accepted with usable settings or
// rejected with a validation error, never a panic.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"nats://", "nats://u:p@h:4222?prefix=x&replicas=3", "nats+tls://h?tls_ca=a&servers=b,c:1",
		"nats://h?meta_ttl=1s&storage=memory", "nats://[::1]:4222", "nats://h?servers=,,", "nats://%zz"} {
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
				t.Fatalf("parseURL(%q) = %v; want a *driver.ValidationError", raw, err)
			}
			return
		}
		if len(c.servers) == 0 || checkPrefix(c.prefix) != nil || c.replicas < 1 || c.replicas > 5 {
			t.Fatalf("parseURL(%q) accepted unusable settings %+v", raw, c)
		}
		for _, s := range c.servers {
			if pu, err := url.Parse(s); err != nil || pu.Host == "" {
				t.Fatalf("parseURL(%q) produced server %q", raw, s)
			}
		}
	})
}
