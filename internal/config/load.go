package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/courier-io/courier/awsapi/gateway"
	"github.com/courier-io/courier/awsapi/services"
	"github.com/courier-io/courier/driver"
	"github.com/courier-io/courier/server"
)

// Sources are where Load reads the settings beyond the defaults.
type Sources struct {
	// File is the config file's path; empty for none.
	File string
	// LookupEnv reads an environment variable (os.LookupEnv); nil reads
	// none.
	LookupEnv func(string) (string, bool)
	// Flags holds the values of the flags given on the command line, by
	// key ("limits.max_batch"), as text.
	Flags map[string]string
}

// Load returns the effective configuration: the defaults, overridden by
// the file, then by the environment, then by flags. It reads the admin
// token file, and checks the result with Validate.
func Load(src Sources) (*Config, error) {
	c := Defaults()
	// origin records where each key was set last, for errors.
	origin := map[string]string{}
	if src.File != "" {
		format, err := FormatOf(src.File)
		if err != nil {
			return nil, &Error{Key: "(file)", Source: src.File, Reason: err.Error()}
		}
		data, err := os.ReadFile(src.File)
		if err != nil {
			return nil, &Error{Key: "(file)", Source: src.File, Reason: err.Error()}
		}
		set, err := decodeFile(c, data, format, src.File)
		if err != nil {
			return nil, err
		}
		if err := layered(c, set, src.File, origin); err != nil {
			return nil, err
		}
	}
	if src.LookupEnv != nil {
		set := map[string]bool{}
		for _, s := range Settings {
			v, ok := src.LookupEnv(s.Env)
			if !ok {
				continue
			}
			if err := setString(c, s.Key, v); err != nil {
				return nil, &Error{Key: s.Key, Source: s.Env, Reason: err.Error()}
			}
			set[s.Key] = true
			origin[s.Key] = s.Env
		}
		if err := layered(c, set, "the environment", origin); err != nil {
			return nil, err
		}
	}
	set := map[string]bool{}
	for _, s := range Settings {
		v, ok := src.Flags[s.Key]
		if !ok {
			continue
		}
		if s.Flag == "" {
			return nil, &Error{Key: s.Key, Reason: "is a secret: set it with " + s.Env + ", not a flag"}
		}
		if err := setString(c, s.Key, v); err != nil {
			return nil, &Error{Key: s.Key, Source: "--" + s.Flag, Reason: err.Error()}
		}
		set[s.Key] = true
		origin[s.Key] = "--" + s.Flag
	}
	if err := layered(c, set, "the flags", origin); err != nil {
		return nil, err
	}
	if err := c.readAdminTokenFile(); err != nil {
		return nil, withOrigin(err, origin)
	}
	if err := c.readAWSSecrets(); err != nil {
		return nil, withOrigin(err, origin)
	}
	if err := c.Validate(); err != nil {
		return nil, withOrigin(err, origin)
	}
	return c, nil
}

// layered applies the rules between the keys one layer set: data and
// backend exclude each other, and setting one (to something) clears the
// other's value from lower layers.
func layered(c *Config, set map[string]bool, layer string, origin map[string]string) error {
	for k := range set {
		if _, seen := origin[k]; !seen {
			origin[k] = layer
		}
	}
	data, backend := set["data"] && c.Data != "", set["backend"] && c.Backend != ""
	switch {
	case data && backend:
		return &Error{Key: "backend", Source: layer, Reason: "data and backend exclude each other: data DIR is short for backend file://DIR"}
	case data:
		c.Backend = ""
	case backend:
		c.Data = ""
	}
	return nil
}

// withOrigin adds to an *Error the source of its key, or of the closest
// key above it that was set.
func withOrigin(err error, origin map[string]string) error {
	var e *Error
	if !errors.As(err, &e) || e.Source != "" {
		return err
	}
	for k := e.Key; k != ""; {
		if src, ok := origin[k]; ok {
			e.Source = src
			break
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return e
}

// readAdminTokenFile reads auth.admin_token_file into auth.admin_token.
func (c *Config) readAdminTokenFile() error {
	a := &c.Auth
	if a.AdminTokenFile == "" {
		return nil
	}
	if a.AdminToken != "" {
		return &Error{Key: "auth.admin_token_file", Reason: "excludes COURIER_ADMIN_TOKEN: give the admin token one way"}
	}
	token, err := readSecretFile("auth.admin_token_file", a.AdminTokenFile)
	a.AdminToken = token
	return err
}

// readSecretFile reads the secret in the file at path, named by the
// config key that gave it; an unreadable or empty file is an error.
func readSecretFile(key, path string) (Secret, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", &Error{Key: key, Reason: err.Error()}
	}
	secret := strings.TrimSpace(string(data))
	if secret == "" {
		return "", &Error{Key: key, Reason: path + " is empty"}
	}
	return Secret(secret), nil
}

// readAWSSecrets reads the secret of each aws.access_keys entry from its
// secret_file.
func (c *Config) readAWSSecrets() error {
	for i := range c.AWS.AccessKeys {
		k := &c.AWS.AccessKeys[i]
		key := fmt.Sprintf("aws.access_keys[%d].secret_file", i)
		if k.SecretFile == "" {
			return &Error{Key: key, Reason: "is empty: name the file that holds the secret access key"}
		}
		secret, err := readSecretFile(key, k.SecretFile)
		if err != nil {
			return err
		}
		k.Secret = secret
	}
	return nil
}

// validateAWS checks the aws section.
func (c *Config) validateAWS() error {
	a := c.AWS
	if a.Region == "" || len(a.Region) > 32 || strings.Trim(a.Region, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return &Error{Key: "aws.region", Reason: fmt.Sprintf("%q is not a region name (lower-case letters, digits and '-', as us-east-1)", a.Region)}
	}
	if !gateway.ValidAccountID(a.AccountID) {
		return &Error{Key: "aws.account_id", Reason: fmt.Sprintf("%q is not 12 digits", a.AccountID)}
	}
	if len(a.AccessKeys) > 0 && !c.AuthEnabled() {
		return &Error{Key: "aws.access_keys", Reason: "are set, but authentication is off: access keys act as identities of auth.tokens (or the admin token), so configure those"}
	}
	names := map[string]bool{}
	if c.Auth.AdminToken != "" {
		names[adminName] = true
	}
	for _, t := range c.Auth.Tokens {
		names[t.Name] = true
	}
	ids := map[string]int{}
	for i, k := range a.AccessKeys {
		key := fmt.Sprintf("aws.access_keys[%d]", i)
		if len(k.ID) < 4 || len(k.ID) > 128 || strings.Trim(k.ID, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
			return &Error{Key: key + ".id", Reason: fmt.Sprintf("%q is not an access key ID (4 to 128 letters and digits)", k.ID)}
		}
		if j, dup := ids[k.ID]; dup {
			return &Error{Key: key + ".id", Reason: fmt.Sprintf("%q is also the id of aws.access_keys[%d]", k.ID, j)}
		}
		ids[k.ID] = i
		if !names[k.Identity] {
			return &Error{Key: key + ".identity", Reason: fmt.Sprintf("%q names no identity: give the name of an auth.tokens entry, or %q for the admin token", k.Identity, adminName)}
		}
	}
	return nil
}

// AWSConfig returns the aws section for server.WithAWS, without the
// services (the caller picks them).
func (c *Config) AWSConfig() server.AWSConfig {
	cfg := server.AWSConfig{Region: c.AWS.Region, AccountID: c.AWS.AccountID}
	for _, k := range c.AWS.AccessKeys {
		cfg.AccessKeys = append(cfg.AccessKeys, server.AWSAccessKey{ID: k.ID, Secret: string(k.Secret), Identity: k.Identity})
	}
	return cfg
}

// minAdminToken is the shortest admin token accepted.
const minAdminToken = 16

// AuthEnabled reports whether the server authenticates requests: when
// there are tokens or an admin token.
func (c *Config) AuthEnabled() bool { return len(c.Auth.Tokens) > 0 || c.Auth.AdminToken != "" }

// Validate checks c; the error is an *Error naming the key at fault.
// It includes the rule that a server without authentication listens
// only on a loopback address unless auth.insecure_no_auth is set.
func (c *Config) Validate() error {
	if c.Addr == "" {
		return &Error{Key: "addr", Reason: "is empty; give host:port, as 127.0.0.1:7410"}
	}
	if c.Data == "" && c.Backend == "" {
		return &Error{Key: "data", Reason: "is empty and so is backend: name a data directory or a backend URL"}
	}
	a := c.Auth
	if a.AdminToken != "" && len(a.AdminToken) < minAdminToken {
		return &Error{Key: "auth.admin_token", Reason: fmt.Sprintf("is %d characters long; an admin token has at least %d (openssl rand -hex 32 makes one)", len(a.AdminToken), minAdminToken)}
	}
	if a.InsecureNoAuth && c.AuthEnabled() {
		return &Error{Key: "auth.insecure_no_auth", Reason: "is set, but so are tokens or an admin token: authentication cannot be both off and on"}
	}
	names := map[string]int{}
	for i, t := range a.Tokens {
		key := fmt.Sprintf("auth.tokens[%d]", i)
		if err := t.identity().Validate(); err != nil {
			var ve *driver.ValidationError
			if errors.As(err, &ve) {
				return &Error{Key: key + "." + ve.Field, Reason: ve.Reason}
			}
			return &Error{Key: key, Reason: err.Error()}
		}
		if j, dup := names[t.Name]; dup {
			return &Error{Key: key + ".name", Reason: fmt.Sprintf("%q is also the name of auth.tokens[%d]", t.Name, j)}
		}
		if t.Name == adminName && a.AdminToken != "" {
			return &Error{Key: key + ".name", Reason: fmt.Sprintf("%q is the name of the bootstrap admin token", adminName)}
		}
		names[t.Name] = i
	}
	if !c.AuthEnabled() && !a.InsecureNoAuth {
		host, _, err := net.SplitHostPort(c.Addr)
		if err != nil {
			return &Error{Key: "addr", Reason: fmt.Sprintf("%q is not host:port: %v", c.Addr, err)}
		}
		if !isLoopback(host) {
			return &Error{Key: "addr", Reason: fmt.Sprintf("refusing to serve without authentication on %s, which is not a loopback address: "+
				"configure tokens (auth.tokens) or an admin token (COURIER_ADMIN_TOKEN, --admin-token-file), "+
				"or pass --insecure-no-auth to serve anyone who can connect", c.Addr)}
		}
	}
	t := c.TLS
	switch {
	case (t.Cert == "") != (t.Key == ""):
		key := "tls.key"
		if t.Cert == "" {
			key = "tls.cert"
		}
		return &Error{Key: key, Reason: "is empty: TLS needs both tls.cert and tls.key"}
	case t.ClientCA != "" && t.Cert == "":
		return &Error{Key: "tls.client_ca", Reason: "needs TLS: set tls.cert and tls.key too"}
	}
	if err := c.Limits.validate(); err != nil {
		return err
	}
	if err := c.WSConfig().Validate(); err != nil {
		var ve *driver.ValidationError
		if errors.As(err, &ve) {
			return &Error{Key: "websocket." + ve.Field, Reason: ve.Reason}
		}
		return &Error{Key: "websocket", Reason: err.Error()}
	}
	if err := c.validateObservability(); err != nil {
		return err
	}
	if err := c.validateAWS(); err != nil {
		return err
	}
	for i, p := range c.WebSocket.OriginPatterns {
		if _, err := path.Match(p, ""); err != nil {
			return &Error{Key: fmt.Sprintf("websocket.origin_patterns[%d]", i), Reason: fmt.Sprintf("%q is not a pattern: %v", p, err)}
		}
	}
	return nil
}

// WSConfig returns the WebSocket settings of c for server.WithWebSocket.
func (c *Config) WSConfig() server.WSConfig {
	w := c.WebSocket
	return server.WSConfig{
		PingInterval: time.Duration(w.PingInterval), PongTimeout: time.Duration(w.PongTimeout),
		WriteTimeout: time.Duration(w.WriteTimeout), CloseTimeout: time.Duration(w.CloseTimeout),
		MaxFrameBytes: int(w.MaxFrameBytes), QueueFrames: w.QueueFrames, QueueBytes: int(w.QueueBytes),
		MaxSubscriptions: w.MaxSubscriptions, MaxConnections: w.MaxConnections, MaxCredit: w.MaxCredit,
		TailBuffer: w.TailBuffer, OriginPatterns: w.OriginPatterns,
	}
}

// isLoopback reports whether host (of host:port) is a loopback address:
// localhost, 127.0.0.0/8 or ::1. An empty host (all interfaces) is not.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (l Limits) validate() error {
	sizes := []struct {
		key      string
		v        Size
		min, max Size
	}{
		{"limits.max_request_bytes", l.MaxRequestBytes, 1 << 10, server.MaxRequestBytes},
		{"limits.max_message_bytes", l.MaxMessageBytes, 1 << 10, driver.MaxMessageSizeLimit},
		{"limits.max_header_bytes", l.MaxHeaderBytes, 1 << 10, 1 << 20},
	}
	for _, s := range sizes {
		if s.v < s.min || s.v > s.max {
			return &Error{Key: s.key, Reason: fmt.Sprintf("%s is out of range; accepted is %s to %s", s.v, s.min, s.max)}
		}
	}
	ints := []struct {
		key      string
		v        int
		min, max int
	}{
		{"limits.max_batch", l.MaxBatch, 1, driver.MaxBatch},
		{"limits.max_connections", l.MaxConnections, 0, math.MaxInt32},
		{"limits.max_streams", l.MaxStreams, 0, math.MaxInt32},
		{"limits.burst", l.Burst, 0, math.MaxInt32},
	}
	for _, s := range ints {
		if s.v < s.min || s.v > s.max {
			return &Error{Key: s.key, Reason: fmt.Sprintf("%d is out of range; accepted is %d to %d", s.v, s.min, s.max)}
		}
	}
	if l.Rate < 0 || math.IsNaN(l.Rate) || math.IsInf(l.Rate, 0) {
		return &Error{Key: "limits.rate", Reason: fmt.Sprintf("%v is out of range; accepted is 0 (no limit) or more requests per second", l.Rate)}
	}
	durations := []struct {
		key string
		v   Duration
		min Duration
	}{
		{"limits.read_header_timeout", l.ReadHeaderTimeout, Duration(time.Millisecond)},
		{"limits.read_timeout", l.ReadTimeout, 0},
		{"limits.idle_timeout", l.IdleTimeout, Duration(time.Millisecond)},
	}
	for _, d := range durations {
		if d.v < d.min {
			return &Error{Key: d.key, Reason: fmt.Sprintf("%v is out of range; accepted is %v or more", time.Duration(d.v), time.Duration(d.min))}
		}
	}
	return nil
}

// adminName is the identity of the bootstrap admin token.
const adminName = "admin"

// identity is t as the server takes it.
func (t Token) identity() server.Identity {
	id := server.Identity{Name: t.Name, TokenHash: t.Hash, ClientCerts: t.ClientCerts, Rate: t.Rate, Burst: t.Burst}
	for _, g := range t.Allow {
		sg := server.Grant{Resource: g.Resource}
		for _, a := range g.Actions {
			sg.Actions = append(sg.Actions, server.Action(a))
		}
		id.Allow = append(id.Allow, sg)
	}
	return id
}

// Identities returns the identities of c for server.WithIdentities: the
// tokens, and the admin token as the identity "admin" with admin on
// everything. The admin token is hashed here; the server never holds it.
func (c *Config) Identities() []server.Identity {
	var ids []server.Identity
	if c.Auth.AdminToken != "" {
		ids = append(ids, server.Identity{
			Name:      adminName,
			TokenHash: server.HashToken(string(c.Auth.AdminToken)),
			Allow:     []server.Grant{{Actions: []server.Action{server.ActionAdmin}, Resource: "*"}},
		})
	}
	for _, t := range c.Auth.Tokens {
		ids = append(ids, t.identity())
	}
	return ids
}

// ServerLimits returns the limits of c for server.WithLimits.
func (c *Config) ServerLimits() server.Limits {
	l := c.Limits
	return server.Limits{
		MaxRequestBytes:   int64(l.MaxRequestBytes),
		MaxMessageBytes:   int(l.MaxMessageBytes),
		MaxBatch:          l.MaxBatch,
		MaxConnections:    l.MaxConnections,
		MaxStreams:        l.MaxStreams,
		Rate:              l.Rate,
		Burst:             l.Burst,
		MaxHeaderBytes:    int(l.MaxHeaderBytes),
		ReadHeaderTimeout: time.Duration(l.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(l.ReadTimeout),
		IdleTimeout:       time.Duration(l.IdleTimeout),
	}
}

// ServerOptions returns the options of server.New that c sets:
// identities when authentication is on, limits, and public endpoints.
func (c *Config) ServerOptions() []server.Option {
	opts := []server.Option{server.WithLimits(c.ServerLimits()), server.WithWebSocket(c.WSConfig())}
	if c.History.Interval > 0 {
		opts = append(opts, server.WithHistory(server.HistoryConfig{Interval: time.Duration(c.History.Interval), Keep: c.History.Keep}))
	}
	if c.AuthEnabled() {
		opts = append(opts, server.WithIdentities(c.Identities()...))
	}
	if c.Metrics.Public {
		opts = append(opts, server.WithPublicMetrics())
	}
	if c.Readyz.Public {
		opts = append(opts, server.WithPublicReadyz())
	}
	if c.AWS.Enabled {
		aws := c.AWSConfig()
		aws.Services = services.All()
		opts = append(opts, server.WithAWS(aws))
	}
	return opts
}

// YAML returns c as a YAML config file, with secrets redacted: what
// `courier serve --print-config` prints.
func (c *Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Parse decodes a config file's content in format over the defaults and
// validates it, without reading files or the environment (an
// admin_token_file is named, not read).
func Parse(data []byte, format Format) (*Config, error) {
	c := Defaults()
	set, err := decodeFile(c, data, format, "(file)")
	if err != nil {
		return nil, err
	}
	if err := layered(c, set, "(file)", map[string]string{}); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// validateObservability checks the log, tracing and history settings.
func (c *Config) validateObservability() error {
	oneOf := func(key, v string, accepted ...string) error {
		if slices.Contains(accepted, v) {
			return nil
		}
		return &Error{Key: key, Reason: fmt.Sprintf("%q is not one of %s", v, strings.Join(accepted, ", "))}
	}
	if err := oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error"); err != nil {
		return err
	}
	if err := oneOf("log.format", c.Log.Format, "text", "json"); err != nil {
		return err
	}
	if err := oneOf("tracing.exporter", c.Tracing.Exporter, "none", "otlp-grpc", "otlp-http", "stdout"); err != nil {
		return err
	}
	if r := c.Tracing.SampleRatio; r < 0 || r > 1 || math.IsNaN(r) {
		return &Error{Key: "tracing.sample_ratio", Reason: fmt.Sprintf("%v is out of range; accepted is 0 to 1", r)}
	}
	if d := time.Duration(c.History.Interval); d != 0 && (d < 100*time.Millisecond || d > time.Hour) {
		return &Error{Key: "history.interval", Reason: fmt.Sprintf("%v is out of range; accepted is 0 (off) or 100ms to 1h", d)}
	}
	if k := c.History.Keep; k < 1 || k > 100000 {
		return &Error{Key: "history.keep", Reason: fmt.Sprintf("%d is out of range; accepted is 1 to 100000", k)}
	}
	return nil
}

// LogLevel returns the slog level of log.level.
func (c *Config) LogLevel() slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(c.Log.Level)) // validated
	return l
}
