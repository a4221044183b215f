package rabbitmq

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
)

func TestParseURL(t *testing.T) {
	good := []struct {
		raw  string
		want func(config) bool
	}{
		{"amqp://guest:guest@127.0.0.1:5672/", func(c config) bool {
			return c.namespace == "courier" && c.publishers == 4 && c.holdLimit == 29*time.Minute && c.amqpURL == "amqp://guest:guest@127.0.0.1:5672/"
		}},
		{"amqp://h/vh?namespace=orders_1&publishers=8&hold_limit=10m&heartbeat=5", func(c config) bool {
			return c.namespace == "orders_1" && c.publishers == 8 && c.holdLimit == 10*time.Minute && c.amqpURL == "amqp://h/vh?heartbeat=5"
		}},
		{"amqps://u:secret@h/?tls_insecure_skip_verify=true&reconnect_wait=50ms&reconnect_attempts=7", func(c config) bool {
			return c.tlsInsecure && c.reconnectWait == 50*time.Millisecond && c.reconnectAttempts == 7 && c.redacted == "amqps://u:xxxxx@h/"
		}},
	}
	for _, g := range good {
		u, _ := url.Parse(g.raw)
		c, err := parseURL(u)
		if err != nil || !g.want(c) {
			t.Errorf("parseURL(%q) = %+v, %v", g.raw, c, err)
		}
	}
	bad := map[string]string{
		"http://h/":                               "url",
		"amqp://h/?namespace=a.b":                 "url.namespace",
		"amqp://h/?publishers=0":                  "url.publishers",
		"amqp://h/?hold_limit=1ms":                "url.hold_limit",
		"amqp://h/?reconnect_wait=x":              "url.reconnect_wait",
		"amqp://h/?reconnect_attempts=-1":         "url.reconnect_attempts",
		"amqp://h/?tls_insecure_skip_verify=true": "url.tls_insecure_skip_verify",
		"amqp://h/?nope=1":                        "url.nope",
		"amqp://h/?namespace=a&namespace=b":       "url.namespace",
		"amqp://h/?heartbeat=notanumber":          "url",
	}
	for raw, field := range bad {
		u, _ := url.Parse(raw)
		_, err := parseURL(u)
		var ve *driver.ValidationError
		if !errors.As(err, &ve) || ve.Field != field || !errors.Is(err, driver.ErrInvalid) {
			t.Errorf("parseURL(%q) = %v; want a validation error on %s", raw, err, field)
		}
	}
}

func TestRoundDelay(t *testing.T) {
	for d, want := range map[time.Duration]int64{
		time.Millisecond: 1, 99 * time.Millisecond: 99, 2 * time.Second: 2000, 1234 * time.Millisecond: 1300,
		time.Minute: 60000, 15 * time.Minute: 900000, 1500 * time.Microsecond: 2,
	} {
		if got := roundDelay(d); got != want {
			t.Errorf("roundDelay(%v) = %d; want %d", d, got, want)
		}
	}
}
