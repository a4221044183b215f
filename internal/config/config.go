// Package config is the configuration of `courier serve`: the model
// (Config), its defaults, loading from a file (YAML or TOML, by
// extension), environment variables and command-line flags with the
// precedence flags > environment > file > defaults (Load), validation
// that names the key at fault (*Error), and the redacted YAML that
// `courier serve --print-config` prints (Config.YAML). Settings is the
// one table of the keys that the environment and flags can set;
// docs/server.md is the reference of every key.
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/courier-io/courier/server"
)

// Config is the effective configuration of a server. Its yaml tags are
// the keys of the config file (TOML uses the same names).
type Config struct {
	// Addr is where to listen, host:port.
	Addr string `yaml:"addr"`
	// Data is the directory of the embedded engine; Backend a backend URL
	// instead. Setting one at a layer clears the other.
	Data    string `yaml:"data"`
	Backend string `yaml:"backend"`
	Auth    Auth   `yaml:"auth"`
	TLS     TLS    `yaml:"tls"`
	Limits  Limits `yaml:"limits"`
	// WebSocket configures /v1/ws.
	WebSocket WebSocket `yaml:"websocket"`
	Metrics   Metrics   `yaml:"metrics"`
	Log       Log       `yaml:"log"`
	Tracing   Tracing   `yaml:"tracing"`
	History   History   `yaml:"history"`
	Readyz    Readyz    `yaml:"readyz"`
	// AWS configures the AWS-compatible endpoints (docs/aws.md).
	AWS AWS `yaml:"aws"`
}

// AWS configures the AWS-compatible SQS, SNS, EventBridge and Kinesis
// endpoints.
type AWS struct {
	// Enabled serves them on the server's port.
	Enabled bool `yaml:"enabled"`
	// Region and AccountID are those of ARNs, queue URLs and events.
	Region    string `yaml:"region"`
	AccountID string `yaml:"account_id"`
	// AccessKeys are the SigV4 keys accepted with authentication on, each
	// acting as an identity (from the config file only).
	AccessKeys []AWSAccessKey `yaml:"access_keys,omitempty"`
}

// AWSAccessKey is an AWS access key of an identity. Its secret comes from
// a file, never from the config file itself.
type AWSAccessKey struct {
	// ID is the access key ID clients sign with.
	ID string `yaml:"id"`
	// SecretFile holds the secret access key; Load reads it into Secret.
	SecretFile string `yaml:"secret_file"`
	Secret     Secret `yaml:"-"`
	// Identity names an entry of auth.tokens, or "admin" for the
	// bootstrap admin token's identity.
	Identity string `yaml:"identity"`
}

// Auth configures authentication and authorization.
type Auth struct {
	// InsecureNoAuth serves without authentication on any address.
	InsecureNoAuth bool `yaml:"insecure_no_auth"`
	// AdminToken is the bootstrap admin token, from COURIER_ADMIN_TOKEN
	// or read from AdminTokenFile; never from the file itself.
	AdminToken     Secret `yaml:"admin_token,omitempty"`
	AdminTokenFile string `yaml:"admin_token_file"`
	// Tokens are the identities, from the config file only.
	Tokens []Token `yaml:"tokens,omitempty"`
}

// Token is one identity: a hashed bearer token and/or client
// certificate names, with grants and a rate.
type Token struct {
	Name        string   `yaml:"name"`
	Hash        string   `yaml:"hash,omitempty"`
	ClientCerts []string `yaml:"client_certs,omitempty"`
	Allow       []Grant  `yaml:"allow"`
	Rate        float64  `yaml:"rate,omitempty"`
	Burst       int      `yaml:"burst,omitempty"`
}

// Grant allows actions on the resources that match a pattern.
type Grant struct {
	Actions  []string `yaml:"actions"`
	Resource string   `yaml:"resource"`
}

// TLS configures TLS: both files, or neither for plain HTTP.
type TLS struct {
	Cert     string `yaml:"cert"`
	Key      string `yaml:"key"`
	ClientCA string `yaml:"client_ca"`
}

// Limits are server.Limits in the config file's units.
type Limits struct {
	MaxRequestBytes   Size     `yaml:"max_request_bytes"`
	MaxMessageBytes   Size     `yaml:"max_message_bytes"`
	MaxBatch          int      `yaml:"max_batch"`
	MaxConnections    int      `yaml:"max_connections"`
	MaxStreams        int      `yaml:"max_streams"`
	Rate              float64  `yaml:"rate"`
	Burst             int      `yaml:"burst"`
	MaxHeaderBytes    Size     `yaml:"max_header_bytes"`
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
}

// WebSocket is server.WSConfig in the config file's units.
type WebSocket struct {
	PingInterval     Duration `yaml:"ping_interval"`
	PongTimeout      Duration `yaml:"pong_timeout"`
	WriteTimeout     Duration `yaml:"write_timeout"`
	CloseTimeout     Duration `yaml:"close_timeout"`
	MaxFrameBytes    Size     `yaml:"max_frame_bytes"`
	QueueFrames      int      `yaml:"queue_frames"`
	QueueBytes       Size     `yaml:"queue_bytes"`
	MaxSubscriptions int      `yaml:"max_subscriptions"`
	MaxConnections   int      `yaml:"max_connections"`
	MaxCredit        int      `yaml:"max_credit"`
	TailBuffer       int      `yaml:"tail_buffer"`
	// OriginPatterns are the browser origins allowed besides the server's
	// own host (path.Match patterns; comma-separated in the environment
	// and flags).
	OriginPatterns []string `yaml:"origin_patterns"`
}

// Log configures the server's log (log/slog on standard error).
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// Tracing configures the export of OpenTelemetry traces. Off (none) by
// default: then nothing is traced and tracing costs nothing.
type Tracing struct {
	// Exporter is none, otlp-grpc, otlp-http or stdout.
	Exporter string `yaml:"exporter"`
	// Endpoint is the OTLP collector's host:port (default: the exporter's
	// standard one, localhost:4317 for gRPC and localhost:4318 for HTTP).
	Endpoint string `yaml:"endpoint"`
	// Insecure sends OTLP without TLS.
	Insecure bool `yaml:"insecure"`
	// SampleRatio is the share of new traces recorded, 0..1; traces
	// started by a caller follow the caller's decision.
	SampleRatio float64 `yaml:"sample_ratio"`
}

// History configures the sampler behind GET /v1/history (the
// dashboard's charts).
type History struct {
	// Interval is the time between samples; 0 turns the sampler off.
	Interval Duration `yaml:"interval"`
	// Keep is how many samples each series keeps.
	Keep int `yaml:"keep"`
}

// Metrics configures GET /metrics.
type Metrics struct {
	// Public opens /metrics to unauthenticated scrapers.
	Public bool `yaml:"public"`
}

// Readyz configures GET /readyz.
type Readyz struct {
	// Public opens /readyz to unauthenticated probes.
	Public bool `yaml:"public"`
}

// Defaults returns the configuration of `courier serve` with nothing set.
func Defaults() *Config {
	return &Config{
		Addr: "127.0.0.1:7410",
		Data: "./courier-data",
		Limits: Limits{
			MaxRequestBytes:   server.MaxRequestBytes,
			MaxMessageBytes:   1 << 20,
			MaxBatch:          1000,
			MaxConnections:    10000,
			MaxStreams:        5000,
			MaxHeaderBytes:    64 << 10,
			ReadHeaderTimeout: Duration(10 * time.Second),
			ReadTimeout:       Duration(time.Minute),
			IdleTimeout:       Duration(2 * time.Minute),
		},
		WebSocket: WebSocket{
			PingInterval:     Duration(server.DefaultWSPingInterval),
			PongTimeout:      Duration(server.DefaultWSPongTimeout),
			WriteTimeout:     Duration(server.DefaultWSWriteTimeout),
			CloseTimeout:     Duration(server.DefaultWSCloseTimeout),
			MaxFrameBytes:    server.DefaultWSMaxFrameBytes,
			QueueFrames:      server.DefaultWSQueueFrames,
			QueueBytes:       server.DefaultWSQueueBytes,
			MaxSubscriptions: server.DefaultWSMaxSubscriptions,
			MaxConnections:   server.DefaultWSMaxConnections,
			MaxCredit:        server.DefaultWSMaxCredit,
			TailBuffer:       server.DefaultWSTailBuffer,
			OriginPatterns:   []string{},
		},
		Log:     Log{Level: "info", Format: "text"},
		Tracing: Tracing{Exporter: "none", SampleRatio: 1},
		History: History{Interval: Duration(5 * time.Second), Keep: 360},
		AWS:     AWS{Enabled: true, Region: "us-east-1", AccountID: "000000000000"},
	}
}

// Setting is a key that the environment and a flag can set.
type Setting struct {
	// Key is the key in the file ("limits.max_batch").
	Key string
	// Env is the environment variable.
	Env string
	// Flag is the flag of courier serve, without dashes; empty for
	// secrets, which do not belong on a command line.
	Flag string
	// Help says what the key does, for --help and the docs.
	Help string
}

// Settings are the keys that the environment and flags can set: every
// key but auth.tokens and aws.access_keys, which only the file can hold.
var Settings = []Setting{
	{"addr", "COURIER_ADDR", "addr", "address to listen on, host:port (port 0 picks a free one)"},
	{"data", "COURIER_DATA", "data", "data directory of the embedded engine (created if missing)"},
	{"backend", "COURIER_BACKEND", "backend", "backend URL instead of data: file://DIR?sync=always|none|interval=D, mem://, ..."},
	{"auth.insecure_no_auth", "COURIER_INSECURE_NO_AUTH", "insecure-no-auth", "serve without authentication, also on a non-loopback address"},
	{"auth.admin_token", "COURIER_ADMIN_TOKEN", "", "bootstrap admin token (environment only); turns authentication on"},
	{"auth.admin_token_file", "COURIER_ADMIN_TOKEN_FILE", "admin-token-file", "file holding the bootstrap admin token; turns authentication on"},
	{"tls.cert", "COURIER_TLS_CERT", "tls-cert", "TLS certificate file (PEM); reloaded on SIGHUP"},
	{"tls.key", "COURIER_TLS_KEY", "tls-key", "TLS private key file (PEM); reloaded on SIGHUP"},
	{"tls.client_ca", "COURIER_TLS_CLIENT_CA", "tls-client-ca", "CA certificates (PEM) for client certificates (mTLS identities)"},
	{"limits.max_request_bytes", "COURIER_MAX_REQUEST_BYTES", "max-request-bytes", "largest request body (1KiB..64MiB)"},
	{"limits.max_message_bytes", "COURIER_MAX_MESSAGE_BYTES", "max-message-bytes", "largest message, record or event (1KiB..1MiB)"},
	{"limits.max_batch", "COURIER_MAX_BATCH", "max-batch", "most messages, records or events per write (1..1000)"},
	{"limits.max_connections", "COURIER_MAX_CONNECTIONS", "max-connections", "most open connections (0: no limit)"},
	{"limits.max_streams", "COURIER_MAX_STREAMS", "max-streams", "most long polls, tails and WebSocket sessions at once (0: no limit)"},
	{"limits.rate", "COURIER_RATE_LIMIT", "rate-limit", "requests per second per identity (0: no limit)"},
	{"limits.burst", "COURIER_RATE_BURST", "rate-burst", "requests an identity may make at once (0: the rate rounded up)"},
	{"limits.max_header_bytes", "COURIER_MAX_HEADER_BYTES", "max-header-bytes", "largest request line and headers (1KiB..1MiB)"},
	{"limits.read_header_timeout", "COURIER_READ_HEADER_TIMEOUT", "read-header-timeout", "time to read a request's headers"},
	{"limits.read_timeout", "COURIER_READ_TIMEOUT", "read-timeout", "time to read a whole request (0: none)"},
	{"limits.idle_timeout", "COURIER_IDLE_TIMEOUT", "idle-timeout", "time a keep-alive connection may idle"},
	{"websocket.ping_interval", "COURIER_WS_PING_INTERVAL", "ws-ping-interval", "how often /v1/ws pings each connection"},
	{"websocket.pong_timeout", "COURIER_WS_PONG_TIMEOUT", "ws-pong-timeout", "how long a ping waits for its pong before the connection is closed"},
	{"websocket.write_timeout", "COURIER_WS_WRITE_TIMEOUT", "ws-write-timeout", "how long one frame may take to write before a slow client is cut off"},
	{"websocket.close_timeout", "COURIER_WS_CLOSE_TIMEOUT", "ws-close-timeout", "how long the close handshake may take"},
	{"websocket.max_frame_bytes", "COURIER_WS_MAX_FRAME_BYTES", "ws-max-frame-bytes", "largest frame a client may send (1KiB..1GiB)"},
	{"websocket.queue_frames", "COURIER_WS_QUEUE_FRAMES", "ws-queue-frames", "most frames waiting to be written to one connection"},
	{"websocket.queue_bytes", "COURIER_WS_QUEUE_BYTES", "ws-queue-bytes", "most bytes waiting to be written to one connection"},
	{"websocket.max_subscriptions", "COURIER_WS_MAX_SUBSCRIPTIONS", "ws-max-subscriptions", "most subscriptions of one connection"},
	{"websocket.max_connections", "COURIER_WS_MAX_CONNECTIONS", "ws-max-connections", "most open WebSocket connections"},
	{"websocket.max_credit", "COURIER_WS_MAX_CREDIT", "ws-max-credit", "most credit a subscription may hold"},
	{"websocket.tail_buffer", "COURIER_WS_TAIL_BUFFER", "ws-tail-buffer", "buffer of a topic subscription that sets none"},
	{"websocket.origin_patterns", "COURIER_WS_ORIGIN_PATTERNS", "ws-origin-patterns", "browser origins allowed besides the server's host, comma-separated (*.example.com)"},
	{"metrics.public", "COURIER_METRICS_PUBLIC", "metrics-public", "serve /metrics without authentication"},
	{"log.level", "COURIER_LOG_LEVEL", "log-level", "log level: debug, info, warn or error"},
	{"log.format", "COURIER_LOG_FORMAT", "log-format", "log format: text or json"},
	{"tracing.exporter", "COURIER_TRACING_EXPORTER", "tracing-exporter", "trace exporter: none, otlp-grpc, otlp-http or stdout"},
	{"tracing.endpoint", "COURIER_TRACING_ENDPOINT", "tracing-endpoint", "OTLP collector host:port (default: the exporter's standard port on localhost)"},
	{"tracing.insecure", "COURIER_TRACING_INSECURE", "tracing-insecure", "send OTLP without TLS"},
	{"tracing.sample_ratio", "COURIER_TRACING_SAMPLE_RATIO", "tracing-sample-ratio", "share of new traces recorded, 0..1"},
	{"history.interval", "COURIER_HISTORY_INTERVAL", "history-interval", "time between the samples of /v1/history (0: off)"},
	{"history.keep", "COURIER_HISTORY_KEEP", "history-keep", "samples kept per series for /v1/history"},
	{"readyz.public", "COURIER_READYZ_PUBLIC", "readyz-public", "serve /readyz without authentication"},
	{"aws.enabled", "COURIER_AWS_ENABLED", "aws", "serve the AWS-compatible SQS, SNS, EventBridge and Kinesis endpoints"},
	{"aws.region", "COURIER_AWS_REGION", "aws-region", "region of ARNs and events of the AWS endpoints"},
	{"aws.account_id", "COURIER_AWS_ACCOUNT_ID", "aws-account-id", "12-digit account of ARNs and queue URLs of the AWS endpoints"},
}

// Duration is a time.Duration written as Go does ("10s", "1m30s").
type Duration time.Duration

// MarshalYAML writes d as text.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Size is a number of bytes, written as a number or with a binary unit:
// "64MiB", "512KiB", "1GiB", "100B".
type Size int64

var sizeUnits = []struct {
	name string
	n    int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize reads a Size.
func parseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range sizeUnits {
		if len(t) > len(u.name) && strings.EqualFold(t[len(t)-len(u.name):], u.name) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.name)]), u.n
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size: write bytes, or a number with KiB, MiB or GiB (\"64MiB\")", s)
	}
	return Size(n * mult), nil
}

// String writes s with the largest unit that divides it.
func (s Size) String() string {
	for _, u := range sizeUnits[:3] {
		if s != 0 && int64(s)%u.n == 0 {
			return strconv.FormatInt(int64(s)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalYAML writes s as String does.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// Secret is a value that is never printed: it marshals as "<redacted>".
type Secret string

// Redacted is what a Secret prints as.
const Redacted = "<redacted>"

// MarshalYAML redacts s.
func (s Secret) MarshalYAML() (any, error) {
	if s == "" {
		return "", nil
	}
	return Redacted, nil
}

// String redacts s, so that %v and %s do not show it either.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString redacts s for %#v.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }
