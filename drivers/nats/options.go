package nats

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/courier-io/courier/driver"
)

// config is a parsed courier NATS URL; see the package documentation for
// each option and its default.
type config struct {
	servers        []string // nats:// or tls:// URLs, first the URL's host
	prefix         string
	replicas       int
	storage        jetstream.StorageType
	name           string
	user, password string
	token          string
	credsFile      string
	nkeyFile       string
	tls            bool
	tlsCA          string
	tlsCert        string
	tlsKey         string
	connectTimeout time.Duration
	reconnectWait  time.Duration
	maxReconnects  int
	metaTTL        time.Duration
	domain         string
}

// Defaults of the URL options.
const (
	defaultPrefix         = "courier"
	defaultPort           = "4222"
	defaultConnectTimeout = 5 * time.Second
	defaultReconnectWait  = 500 * time.Millisecond
	defaultMetaTTL        = 2 * time.Second
	maxPrefixLen          = 32
)

// urlOptions lists the query options parseURL accepts.
var urlOptions = []string{"servers", "prefix", "replicas", "storage", "name", "token", "creds", "nkey",
	"tls", "tls_ca", "tls_cert", "tls_key", "connect_timeout", "reconnect_wait", "max_reconnects", "meta_ttl", "domain"}

// parseURL reads a nats:// or nats+tls:// URL. Errors are
// *driver.ValidationError values naming the offending part ("url",
// "url.<option>").
func parseURL(u *url.URL) (config, error) {
	cfg := config{
		prefix:         defaultPrefix,
		replicas:       1,
		storage:        jetstream.FileStorage,
		name:           "courier",
		connectTimeout: defaultConnectTimeout,
		reconnectWait:  defaultReconnectWait,
		maxReconnects:  -1,
		metaTTL:        defaultMetaTTL,
	}
	switch u.Scheme {
	case "nats":
	case "nats+tls":
		cfg.tls = true
	default:
		return cfg, driver.Invalid("url", "scheme %q; the NATS driver serves nats:// and nats+tls://", u.Scheme)
	}
	if u.Opaque != "" {
		return cfg, driver.Invalid("url", "write the URL as %s://host:port", u.Scheme)
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, driver.Invalid("url", "path %q: the NATS URL takes no path; use the prefix option to separate namespaces", u.Path)
	}
	if u.Fragment != "" {
		return cfg, driver.Invalid("url", "fragment %q is not accepted", u.Fragment)
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			cfg.user, cfg.password = u.User.Username(), p
		} else {
			cfg.token = u.User.Username()
		}
	}
	hosts := []string{u.Host}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, driver.Invalid("url", "query: %v", err)
	}
	for k, vs := range q {
		if !slices.Contains(urlOptions, k) {
			return cfg, driver.Invalid("url."+k, "unknown option; accepted are %s", strings.Join(urlOptions, ", "))
		}
		if len(vs) != 1 {
			return cfg, driver.Invalid("url."+k, "given %d times; give it once", len(vs))
		}
	}
	get := func(k string) (string, bool) {
		vs, ok := q[k]
		if !ok {
			return "", false
		}
		return vs[0], true
	}
	if v, ok := get("servers"); ok {
		for h := range strings.SplitSeq(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hosts = append(hosts, h)
			}
		}
	}
	if v, ok := get("prefix"); ok {
		if err := checkPrefix(v); err != nil {
			return cfg, err
		}
		cfg.prefix = v
	}
	if v, ok := get("replicas"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5 {
			return cfg, driver.Invalid("url.replicas", "%q: accepted is 1 to 5", v)
		}
		cfg.replicas = n
	}
	if v, ok := get("storage"); ok {
		switch v {
		case "file":
			cfg.storage = jetstream.FileStorage
		case "memory":
			cfg.storage = jetstream.MemoryStorage
		default:
			return cfg, driver.Invalid("url.storage", "%q: use file or memory", v)
		}
	}
	if v, ok := get("name"); ok {
		cfg.name = v
	}
	if v, ok := get("token"); ok {
		if cfg.token != "" || cfg.user != "" {
			return cfg, driver.Invalid("url.token", "the URL already carries credentials before '@'")
		}
		cfg.token = v
	}
	if v, ok := get("creds"); ok {
		cfg.credsFile = v
	}
	if v, ok := get("nkey"); ok {
		cfg.nkeyFile = v
	}
	if v, ok := get("tls"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return cfg, driver.Invalid("url.tls", "%q: use true or false", v)
		}
		if !b && u.Scheme == "nats+tls" {
			return cfg, driver.Invalid("url.tls", "nats+tls:// always uses TLS")
		}
		cfg.tls = b
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"tls_ca", &cfg.tlsCA}, {"tls_cert", &cfg.tlsCert}, {"tls_key", &cfg.tlsKey}} {
		if v, ok := get(f.key); ok {
			if v == "" {
				return cfg, driver.Invalid("url."+f.key, "empty file name")
			}
			*f.dst = v
			cfg.tls = true
		}
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return cfg, driver.Invalid("url.tls_cert", "tls_cert and tls_key go together")
	}
	for _, f := range []struct {
		key      string
		dst      *time.Duration
		min, max time.Duration
	}{
		{"connect_timeout", &cfg.connectTimeout, time.Millisecond, time.Minute},
		{"reconnect_wait", &cfg.reconnectWait, time.Millisecond, time.Minute},
		{"meta_ttl", &cfg.metaTTL, 0, time.Minute},
	} {
		if v, ok := get(f.key); ok {
			d, err := time.ParseDuration(v)
			if err != nil || d < f.min || d > f.max {
				return cfg, driver.Invalid("url."+f.key, "%q: accepted is a duration from %v to %v", v, f.min, f.max)
			}
			*f.dst = d
		}
	}
	if v, ok := get("max_reconnects"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1 {
			return cfg, driver.Invalid("url.max_reconnects", "%q: accepted is -1 (forever) or a count", v)
		}
		cfg.maxReconnects = n
	}
	if v, ok := get("domain"); ok {
		if v == "" || strings.ContainsAny(v, " \t.*>") {
			return cfg, driver.Invalid("url.domain", "%q is not a JetStream domain name", v)
		}
		cfg.domain = v
	}
	scheme := "nats://"
	if cfg.tls {
		scheme = "tls://"
	}
	for i, h := range hosts {
		field := "url"
		if i > 0 {
			field = "url.servers"
		}
		hp, err := hostPort(h)
		if err != nil {
			return cfg, driver.Invalid(field, "%v", err)
		}
		cfg.servers = append(cfg.servers, scheme+hp)
	}
	return cfg, nil
}

// hostPort checks one server address and adds the default port.
func hostPort(h string) (string, error) {
	if h == "" {
		return "127.0.0.1:" + defaultPort, nil
	}
	if strings.ContainsAny(h, "/@?#, ") {
		return "", fmt.Errorf("server %q: want host or host:port", h)
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port: a bare host name or a bracketed IPv6 address.
		if strings.Contains(strings.Trim(h, "[]"), ":") && !strings.HasPrefix(h, "[") {
			return "", fmt.Errorf("server %q: write IPv6 addresses in brackets", h)
		}
		return net.JoinHostPort(strings.Trim(h, "[]"), defaultPort), nil
	}
	if host == "" {
		return "", fmt.Errorf("server %q has no host", h)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("server %q: port %q is not a number from 1 to 65535", h, port)
	}
	return net.JoinHostPort(host, port), nil
}

// checkPrefix accepts 1..32 characters from A-Z a-z 0-9 '-' and '_'.
func checkPrefix(p string) error {
	if p == "" || len(p) > maxPrefixLen {
		return driver.Invalid("url.prefix", "%q: 1 to %d characters from A-Z a-z 0-9 '-' and '_'", p, maxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return driver.Invalid("url.prefix", "%q has character %q; allowed are A-Z a-z 0-9 '-' and '_'", p, c)
		}
	}
	return nil
}
