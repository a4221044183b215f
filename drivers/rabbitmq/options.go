package rabbitmq

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/courier-io/courier/driver"
)

// Defaults of the URL options.
const (
	defaultNamespace         = "courier"
	defaultPublishers        = 4
	defaultHoldLimit         = 29 * time.Minute
	defaultReconnectWait     = time.Second
	defaultReconnectAttempts = 0 // forever
	maxNamespaceLen          = 64
)

// config is what parseURL makes of an amqp:// or amqps:// URL.
type config struct {
	// amqpURL is the URL handed to amqp091-go: the scheme, credentials,
	// host, vhost and the client's own query options, without courier's.
	amqpURL string
	// redacted is the URL with its password hidden, for logs and errors.
	redacted string
	// namespace prefixes every RabbitMQ object the driver creates.
	namespace string
	// publishers is the number of confirm-mode channels sends use.
	publishers int
	// holdLimit is the longest the driver keeps a delivery unacknowledged.
	holdLimit time.Duration
	// reconnectWait is the pause between reconnect attempts.
	reconnectWait time.Duration
	// reconnectAttempts bounds reconnect attempts per outage; 0 is forever.
	reconnectAttempts int
	// tlsInsecure skips verification of the server's certificate.
	tlsInsecure bool
}

// clientOptions are the query options amqp091-go reads itself; they pass
// through unchanged.
var clientOptions = map[string]bool{
	"heartbeat": true, "connection_timeout": true, "channel_max": true,
	"certfile": true, "keyfile": true, "cacertfile": true,
	"server_name_indication": true, "auth_mechanism": true,
}

// parseURL validates u and splits its options between courier and the
// RabbitMQ client. Errors wrap driver.ErrInvalid and name the offending
// part as "url" or "url.<option>".
func parseURL(u *url.URL) (config, error) {
	cfg := config{
		namespace:         defaultNamespace,
		publishers:        defaultPublishers,
		holdLimit:         defaultHoldLimit,
		reconnectWait:     defaultReconnectWait,
		reconnectAttempts: defaultReconnectAttempts,
	}
	if u.Scheme != "amqp" && u.Scheme != "amqps" {
		return cfg, driver.Invalid("url", "scheme %q; use amqp or amqps", u.Scheme)
	}
	if u.Opaque != "" {
		return cfg, driver.Invalid("url", "write %s://host[:port][/vhost]", u.Scheme)
	}
	if u.Fragment != "" {
		return cfg, driver.Invalid("url", "a fragment (#%s) has no meaning here", u.Fragment)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, driver.Invalid("url", "query: %v", err)
	}
	pass := url.Values{}
	for key, vals := range q {
		if len(vals) != 1 && key != "auth_mechanism" {
			return cfg, driver.Invalid("url."+key, "given %d times; give it once", len(vals))
		}
		v := vals[0]
		field := "url." + key
		switch key {
		case "namespace":
			if err := validNamespace(v); err != nil {
				return cfg, driver.Invalid(field, "%v", err)
			}
			cfg.namespace = v
		case "publishers":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 64 {
				return cfg, driver.Invalid(field, "%q: use a whole number from 1 to 64", v)
			}
			cfg.publishers = n
		case "hold_limit":
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Second || d > driver.MaxVisibilityTimeout {
				return cfg, driver.Invalid(field, "%q: use a duration from 1s to %v", v, driver.MaxVisibilityTimeout)
			}
			cfg.holdLimit = d
		case "reconnect_wait":
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Millisecond || d > time.Hour {
				return cfg, driver.Invalid(field, "%q: use a duration from 1ms to 1h", v)
			}
			cfg.reconnectWait = d
		case "reconnect_attempts":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1_000_000 {
				return cfg, driver.Invalid(field, "%q: use a whole number from 0 (forever) to 1000000", v)
			}
			cfg.reconnectAttempts = n
		case "tls_insecure_skip_verify":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return cfg, driver.Invalid(field, "%q: use true or false", v)
			}
			if b && u.Scheme != "amqps" {
				return cfg, driver.Invalid(field, "applies to amqps:// only")
			}
			cfg.tlsInsecure = b
		default:
			if !clientOptions[key] {
				return cfg, driver.Invalid(field, "unknown option; courier's are namespace, publishers, hold_limit, reconnect_wait, reconnect_attempts, tls_insecure_skip_verify, and RabbitMQ's are %s", strings.Join(sortedKeys(clientOptions), ", "))
			}
			pass[key] = vals
		}
	}
	rest := *u
	rest.RawQuery = pass.Encode()
	rest.Fragment = ""
	cfg.amqpURL = rest.String()
	if _, err := amqp.ParseURI(cfg.amqpURL); err != nil {
		return cfg, driver.Invalid("url", "%v", err)
	}
	cfg.redacted = rest.Redacted()
	return cfg, nil
}

// validNamespace accepts 1..64 characters from A-Z a-z 0-9 '-' and '_'.
// Dots are refused so that a namespace can never be confused with the
// dotted parts of the object names built from it.
func validNamespace(ns string) error {
	if ns == "" || len(ns) > maxNamespaceLen {
		return fmt.Errorf("%q: use 1 to %d characters", ns, maxNamespaceLen)
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%q has character %q; allowed are letters, digits, '-' and '_'", ns, c)
		}
	}
	return nil
}

// tlsConfig returns the TLS settings of an amqps:// URL, or nil for
// amqp:// (amqp091-go then builds them from certfile, keyfile, cacertfile
// and server_name_indication).
func (cfg config) tlsConfig() (*tls.Config, error) {
	if !cfg.tlsInsecure {
		return nil, nil
	}
	uri, err := amqp.ParseURI(cfg.amqpURL)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{InsecureSkipVerify: true, ServerName: uri.ServerName, MinVersion: tls.VersionTLS12} //nolint:gosec // asked for by the URL
	if uri.CertFile != "" && uri.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(uri.CertFile, uri.KeyFile)
		if err != nil {
			return nil, driver.Invalid("url.certfile", "%v", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
