package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/courier-io/courier/driver"
)

// config is a parsed kafka:// URL; see the package documentation for each
// option and its default.
type config struct {
	brokers       []string // host:port seeds
	prefix        string
	clientID      string
	tls           bool
	tlsCA         string
	tlsCert       string
	tlsKey        string
	tlsServerName string
	tlsInsecure   bool
	sasl          string // "", plain, scram-sha-256, scram-sha-512
	user          string
	password      string
	replication   int
	compression   string
	linger        time.Duration
	dialTimeout   time.Duration
	groupSession  time.Duration
	metaMaxAge    time.Duration
}

// Defaults of the URL options.
const (
	defaultPort         = "9092"
	defaultClientID     = "courier"
	defaultDialTimeout  = 10 * time.Second
	defaultGroupSession = 10 * time.Second
	defaultMetaMaxAge   = 5 * time.Second
	maxPrefixLen        = 64
)

// urlOptions lists the query options parseURL accepts.
var urlOptions = []string{"brokers", "prefix", "client_id", "tls", "tls_ca", "tls_cert", "tls_key",
	"tls_server_name", "tls_insecure_skip_verify", "sasl", "replication_factor", "compression", "linger",
	"dial_timeout", "group_session_timeout", "metadata_max_age"}

// parseURL reads a kafka:// URL. Errors are *driver.ValidationError values
// naming the offending part ("url", "url.<option>").
func parseURL(u *url.URL) (config, error) {
	cfg := config{
		clientID:     defaultClientID,
		replication:  -1,
		compression:  "none",
		dialTimeout:  defaultDialTimeout,
		groupSession: defaultGroupSession,
		metaMaxAge:   defaultMetaMaxAge,
	}
	if u.Scheme != "kafka" {
		return cfg, driver.Invalid("url", "scheme %q; the Kafka driver serves kafka://", u.Scheme)
	}
	if u.Opaque != "" {
		return cfg, driver.Invalid("url", "write the URL as kafka://host:port")
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, driver.Invalid("url", "path %q: the Kafka URL takes no path; use the prefix option to separate namespaces", u.Path)
	}
	if u.Fragment != "" {
		return cfg, driver.Invalid("url", "the Kafka URL takes no fragment")
	}
	if u.User != nil {
		cfg.user = u.User.Username()
		cfg.password, _ = u.User.Password()
	}
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
	if u.Host != "" {
		for _, h := range strings.Split(u.Host, ",") {
			hp, err := hostPort(h)
			if err != nil {
				return cfg, driver.Invalid("url", "broker %q: %v", h, err)
			}
			cfg.brokers = append(cfg.brokers, hp)
		}
	}
	if s := q.Get("brokers"); s != "" {
		for _, h := range strings.Split(s, ",") {
			hp, err := hostPort(h)
			if err != nil {
				return cfg, driver.Invalid("url.brokers", "broker %q: %v", h, err)
			}
			cfg.brokers = append(cfg.brokers, hp)
		}
	}
	if len(cfg.brokers) == 0 {
		return cfg, driver.Invalid("url", "no broker; write kafka://host:port[,host2:port2]")
	}
	if q.Has("prefix") {
		cfg.prefix = q.Get("prefix")
		if len(cfg.prefix) > maxPrefixLen {
			return cfg, driver.Invalid("url.prefix", "is %d characters; the limit is %d", len(cfg.prefix), maxPrefixLen)
		}
		for i := 0; i < len(cfg.prefix); i++ {
			if !topicChar(cfg.prefix[i]) {
				return cfg, driver.Invalid("url.prefix", "has character %q at position %d; allowed are letters, digits, '-', '_' and '.'", cfg.prefix[i], i)
			}
		}
	}
	if q.Has("client_id") {
		cfg.clientID = q.Get("client_id")
		if cfg.clientID == "" || len(cfg.clientID) > 255 {
			return cfg, driver.Invalid("url.client_id", "must be 1 to 255 characters")
		}
	}
	if cfg.tls, err = boolOption(q, "tls", false); err != nil {
		return cfg, err
	}
	cfg.tlsCA, cfg.tlsCert, cfg.tlsKey, cfg.tlsServerName = q.Get("tls_ca"), q.Get("tls_cert"), q.Get("tls_key"), q.Get("tls_server_name")
	if cfg.tlsInsecure, err = boolOption(q, "tls_insecure_skip_verify", false); err != nil {
		return cfg, err
	}
	if !cfg.tls && (cfg.tlsCA != "" || cfg.tlsCert != "" || cfg.tlsKey != "" || cfg.tlsServerName != "" || cfg.tlsInsecure) {
		return cfg, driver.Invalid("url.tls", "tls_* options need tls=true")
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return cfg, driver.Invalid("url.tls_cert", "tls_cert and tls_key go together")
	}
	switch m := strings.ToLower(q.Get("sasl")); m {
	case "":
		if cfg.user != "" {
			return cfg, driver.Invalid("url.sasl", "the URL has a user; choose a mechanism with sasl=plain, scram-sha-256 or scram-sha-512")
		}
	case "plain", "scram-sha-256", "scram-sha-512":
		if cfg.user == "" {
			return cfg, driver.Invalid("url", "sasl=%s needs a user and password: kafka://user:password@host:port", m)
		}
		cfg.sasl = m
	default:
		return cfg, driver.Invalid("url.sasl", "%q; accepted are plain, scram-sha-256 and scram-sha-512", q.Get("sasl"))
	}
	if s := q.Get("replication_factor"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < -1 || n == 0 || n > 32767 {
			return cfg, driver.Invalid("url.replication_factor", "%q; accepted is -1 (the broker's default) or 1 to 32767", s)
		}
		cfg.replication = n
	}
	if s := q.Get("compression"); s != "" {
		switch s {
		case "none", "gzip", "snappy", "lz4", "zstd":
			cfg.compression = s
		default:
			return cfg, driver.Invalid("url.compression", "%q; accepted are none, gzip, snappy, lz4 and zstd", s)
		}
	}
	if cfg.linger, err = durationOption(q, "linger", 0, 0, time.Second); err != nil {
		return cfg, err
	}
	if cfg.dialTimeout, err = durationOption(q, "dial_timeout", defaultDialTimeout, 100*time.Millisecond, 5*time.Minute); err != nil {
		return cfg, err
	}
	if cfg.groupSession, err = durationOption(q, "group_session_timeout", defaultGroupSession, time.Second, 30*time.Minute); err != nil {
		return cfg, err
	}
	if cfg.metaMaxAge, err = durationOption(q, "metadata_max_age", defaultMetaMaxAge, 10*time.Millisecond, time.Hour); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// hostPort checks one broker address and adds the default port.
func hostPort(h string) (string, error) {
	if h == "" {
		return "", fmt.Errorf("empty address")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return net.JoinHostPort(strings.Trim(h, "[]"), defaultPort), nil
		}
		return "", err
	}
	if host == "" {
		return "", fmt.Errorf("empty host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q is not 1 to 65535", port)
	}
	return net.JoinHostPort(host, port), nil
}

func topicChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func boolOption(q url.Values, name string, def bool) (bool, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return def, driver.Invalid("url."+name, "%q is not a boolean; use true or false", s)
	}
	return v, nil
}

func durationOption(q url.Values, name string, def, lo, hi time.Duration) (time.Duration, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < lo || d > hi {
		return def, driver.Invalid("url."+name, "%q; accepted is a duration from %v to %v", s, lo, hi)
	}
	return d, nil
}

// clientOptions turns the configuration into franz-go options: seeds,
// TLS, SASL and the producer settings courier's semantics need (acks from
// all in-sync replicas with the idempotent producer, partitions chosen by
// the driver).
func (c config) clientOptions() ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.brokers...),
		kgo.ClientID(c.clientID),
		kgo.DialTimeout(c.dialTimeout),
		kgo.MetadataMinAge(min(c.metaMaxAge, 5*time.Second)),
		kgo.MetadataMaxAge(max(c.metaMaxAge, 10*time.Second)),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(c.linger),
		kgo.ProducerBatchMaxBytes(maxBatchBytes),
		kgo.MaxBufferedRecords(100000),
		// A produce is retried until the caller's context ends, across
		// reconnects; the idempotent producer keeps retries from
		// duplicating or reordering records.
		kgo.RecordDeliveryTimeout(0),
		kgo.RecordRetries(1 << 30),
		kgo.UnknownTopicRetries(0),
	}
	switch c.compression {
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	if c.tls {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if m := c.saslMechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// tlsConfig builds the TLS settings from the tls_* options.
func (c config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.tlsServerName, InsecureSkipVerify: c.tlsInsecure} //nolint:gosec // opt-in
	if c.tlsCA != "" {
		pem, err := os.ReadFile(c.tlsCA)
		if err != nil {
			return nil, driver.Invalid("url.tls_ca", "%v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, driver.Invalid("url.tls_ca", "%s holds no PEM certificate", c.tlsCA)
		}
		tc.RootCAs = pool
	}
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			return nil, driver.Invalid("url.tls_cert", "%v", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// saslMechanism returns the franz-go mechanism of the sasl option, or nil.
func (c config) saslMechanism() sasl.Mechanism {
	switch c.sasl {
	case "plain":
		return plain.Auth{User: c.user, Pass: c.password}.AsMechanism()
	case "scram-sha-256":
		return scram.Auth{User: c.user, Pass: c.password}.AsSha256Mechanism()
	case "scram-sha-512":
		return scram.Auth{User: c.user, Pass: c.password}.AsSha512Mechanism()
	}
	return nil
}
