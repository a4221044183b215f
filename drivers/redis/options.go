package redis

import (
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/courier-io/courier/driver"
)

// Persistence modes of the URL option persistent.
const (
	persistAuto = "auto" // read the server's configuration at open
	persistYes  = "yes"  // the operator vouches that every write is fsync'd
	persistNo   = "no"   // declare the backend not persistent
)

// config is a parsed URL: go-redis's options plus courier's own.
type config struct {
	opts       *redis.Options
	prefix     string
	persistent string
}

// courierOptions are the URL options this driver reads itself; all others
// go to go-redis's ParseURL.
var courierOptions = []string{"prefix", "persistent", "ca_file", "cert_file", "key_file"}

const defaultPrefix = "courier"

// maxPrefixLen bounds the key prefix.
const maxPrefixLen = 64

// parseURL parses a redis:// or rediss:// URL. Errors wrap ErrInvalid and
// name the offending option.
func parseURL(u *url.URL) (*config, error) {
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, driver.Invalid("url", "scheme %q; use redis:// or rediss://", u.Scheme)
	}
	if u.Opaque != "" {
		return nil, driver.Invalid("url", "%s: needs a host, as in %s://127.0.0.1:6379/0", u.Scheme, u.Scheme)
	}
	q := u.Query()
	cfg := &config{prefix: defaultPrefix, persistent: persistAuto}
	if q.Has("prefix") {
		cfg.prefix = q.Get("prefix")
		if err := validatePrefix(cfg.prefix); err != nil {
			return nil, err
		}
	}
	if q.Has("persistent") {
		switch p := q.Get("persistent"); p {
		case persistAuto, persistYes, persistNo:
			cfg.persistent = p
		default:
			return nil, driver.Invalid("persistent", "%q; use %s, %s or %s", p, persistAuto, persistYes, persistNo)
		}
	}
	files := map[string]string{}
	for _, name := range []string{"ca_file", "cert_file", "key_file"} {
		if q.Has(name) {
			if u.Scheme != "rediss" {
				return nil, driver.Invalid(name, "is a TLS option; use rediss://")
			}
			files[name] = q.Get(name)
		}
	}
	for _, name := range courierOptions {
		q.Del(name)
	}
	rest := *u
	rest.RawQuery = q.Encode()
	opts, err := redis.ParseURL(rest.String())
	if err != nil {
		return nil, driver.Invalid("url", "%s", strings.TrimPrefix(err.Error(), "redis: "))
	}
	if opts.TLSConfig != nil {
		if err := loadTLS(opts.TLSConfig, files); err != nil {
			return nil, err
		}
	}
	// Deadlines of the caller's context bound every command; the URL's
	// read and write timeouts still apply to calls without one.
	opts.ContextTimeoutEnabled = true
	cfg.opts = opts
	return cfg, nil
}

// validatePrefix accepts 1..64 characters from letters, digits and
// "._:-".
func validatePrefix(p string) error {
	if p == "" || len(p) > maxPrefixLen {
		return driver.Invalid("prefix", "is %d characters; use 1 to %d", len(p), maxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return driver.Invalid("prefix", "has character %q at position %d; allowed are letters, digits, '.', '_', ':' and '-'", c, i)
		}
	}
	return nil
}

// loadTLS adds the CA and client certificate of the URL's files to cfg.
func loadTLS(cfg *tls.Config, files map[string]string) error {
	if f := files["ca_file"]; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return driver.Invalid("ca_file", "reading the CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return driver.Invalid("ca_file", "%s holds no PEM certificate", f)
		}
		cfg.RootCAs = pool
	}
	cert, key := files["cert_file"], files["key_file"]
	switch {
	case cert != "" && key != "":
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return driver.Invalid("cert_file", "loading the client certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case cert != "" || key != "":
		return driver.Invalid("cert_file", "a client certificate needs both cert_file and key_file")
	}
	return nil
}
