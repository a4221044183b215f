package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/courier-io/courier/server"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// writeFile writes a config file named name in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// env is an environment for Sources.LookupEnv.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

const sampleYAML = `
addr: 127.0.0.1:9000
backend: mem://
auth:
  tokens:
    - name: orders
      hash: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      allow:
        - actions: [publish, consume]
          resource: queue:orders-*
      rate: 50
      burst: 100
    - name: billing
      client_certs: ["uri:spiffe://example.org/billing"]
      allow:
        - {actions: [admin], resource: "bus:billing"}
tls:
  cert: /etc/courier/cert.pem
  key: /etc/courier/key.pem
limits:
  max_request_bytes: 8MiB
  max_batch: 100
  read_timeout: 30s
metrics:
  public: true
`

const sampleTOML = `
addr = "127.0.0.1:9000"
backend = "mem://"

[[auth.tokens]]
name = "orders"
hash = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
rate = 50
burst = 100
  [[auth.tokens.allow]]
  actions = ["publish", "consume"]
  resource = "queue:orders-*"

[[auth.tokens]]
name = "billing"
client_certs = ["uri:spiffe://example.org/billing"]
  [[auth.tokens.allow]]
  actions = ["admin"]
  resource = "bus:billing"

[tls]
cert = "/etc/courier/cert.pem"
key = "/etc/courier/key.pem"

[limits]
max_request_bytes = "8MiB"
max_batch = 100
read_timeout = "30s"

[metrics]
public = true
`

// TestYAMLAndTOML checks that both formats read the same keys into the
// same configuration.
func TestYAMLAndTOML(t *testing.T) {
	y, err := Load(Sources{File: writeFile(t, "courier.yaml", sampleYAML)})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := Load(Sources{File: writeFile(t, "courier.toml", sampleTOML)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(y, tm) {
		t.Fatalf("YAML and TOML differ:\n%+v\n%+v", y, tm)
	}
	if y.Data != "" || y.Backend != "mem://" || y.Limits.MaxRequestBytes != 8<<20 || y.Limits.MaxBatch != 100 ||
		y.Limits.ReadTimeout != Duration(30*time.Second) || y.Limits.IdleTimeout != Defaults().Limits.IdleTimeout ||
		!y.Metrics.Public || len(y.Auth.Tokens) != 2 || y.Auth.Tokens[0].Allow[0].Resource != "queue:orders-*" {
		t.Fatalf("decoded %+v", y)
	}
	ids := y.Identities()
	if len(ids) != 2 || ids[0].Name != "orders" || ids[0].Allow[0].Actions[1] != server.ActionConsume || ids[1].ClientCerts[0] != "uri:spiffe://example.org/billing" {
		t.Fatalf("identities %+v", ids)
	}
}

// TestPrecedence checks flags > environment > file > defaults, key by key.
func TestPrecedence(t *testing.T) {
	file := writeFile(t, "c.yaml", `
limits:
  max_batch: 5
  max_streams: 7
  idle_timeout: 1m
  max_connections: 11
`)
	c, err := Load(Sources{
		File:      file,
		LookupEnv: env(map[string]string{"COURIER_MAX_BATCH": "6", "COURIER_MAX_STREAMS": "8", "COURIER_RATE_LIMIT": "2.5"}),
		Flags:     map[string]string{"limits.max_batch": "9", "limits.max_header_bytes": "16KiB"},
	})
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limits
	want := Defaults().Limits
	want.MaxBatch = 9   // flag over env and file
	want.MaxStreams = 8 // env over file
	want.IdleTimeout = Duration(time.Minute)
	want.MaxConnections = 11       // file over default
	want.Rate = 2.5                // env over default
	want.MaxHeaderBytes = 16 << 10 // flag over default
	if l != want {
		t.Fatalf("limits %+v\nwant   %+v", l, want)
	}
}

// TestDataAndBackend checks that data and backend exclude each other in
// one layer, and that a higher layer's one replaces a lower layer's other.
func TestDataAndBackend(t *testing.T) {
	file := writeFile(t, "c.yaml", "backend: mem://\n")
	c, err := Load(Sources{File: file, Flags: map[string]string{"data": "/srv/courier"}})
	if err != nil || c.Data != "/srv/courier" || c.Backend != "" {
		t.Fatalf("data flag over a backend in the file: %+v, %v", c, err)
	}
	c, err = Load(Sources{LookupEnv: env(map[string]string{"COURIER_BACKEND": "mem://"})})
	if err != nil || c.Data != "" || c.Backend != "mem://" {
		t.Fatalf("backend in the environment over the default data: %+v, %v", c, err)
	}
	_, err = Load(Sources{Flags: map[string]string{"data": "d", "backend": "mem://"}})
	if err == nil || !strings.Contains(err.Error(), "exclude each other") {
		t.Fatalf("both flags: %v", err)
	}
}

// TestErrors checks that an invalid configuration is refused with an
// error that starts with the key at fault and says where it was set.
func TestErrors(t *testing.T) {
	tokens := func(allow string) string {
		return `
auth:
  tokens:
    - {name: a, hash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", allow: [{actions: [admin], resource: "*"}]}
    - {name: b, hash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", allow: [{actions: [admin], resource: "*"}]}
    - name: c
      hash: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      allow: ` + allow + "\n"
	}
	for _, c := range []struct {
		name   string
		file   string // YAML
		env    map[string]string
		flags  map[string]string
		key    string
		reason string
	}{
		{name: "resource", file: tokens(`[{actions: [publish], resource: "queues:orders"}]`), key: "auth.tokens[2].allow[0].resource", reason: "unknown resource kind"},
		{name: "action", file: tokens(`[{actions: [publish, write], resource: "queue:orders"}]`), key: "auth.tokens[2].allow[0].actions[1]", reason: `unknown action "write"`},
		{name: "no grants", file: tokens(`[]`), key: "auth.tokens[2].allow", reason: "could do nothing"},
		{name: "unknown key", file: "limits:\n  max_bach: 3\n", key: "limits.max_bach", reason: "unknown key; accepted here: max_request_bytes"},
		{name: "type", file: "limits:\n  max_batch: lots\n", key: "limits.max_batch", reason: `expected an integer, got "lots"`},
		{name: "list", file: "auth:\n  tokens: {name: x}\n", key: "auth.tokens", reason: "expected a list"},
		{name: "duration", file: "limits:\n  idle_timeout: 5\n", key: "limits.idle_timeout", reason: "expected a duration"},
		{name: "range", file: "limits:\n  max_batch: 1001\n", key: "limits.max_batch", reason: "1001 is out of range; accepted is 1 to 1000"},
		{name: "size", file: "limits:\n  max_request_bytes: 1TiB\n", key: "limits.max_request_bytes", reason: "not a size"},
		{name: "log level", env: map[string]string{"COURIER_LOG_LEVEL": "loud"}, key: "log.level", reason: `"loud" is not one of debug, info, warn, error`},
		{name: "exporter", flags: map[string]string{"tracing.exporter": "jaeger"}, key: "tracing.exporter", reason: "is not one of none"},
		{name: "sample ratio", file: "tracing:\n  sample_ratio: 2\n", key: "tracing.sample_ratio", reason: "out of range"},
		{name: "history interval", file: "history:\n  interval: 1ms\n", key: "history.interval", reason: "0 (off) or 100ms to 1h"},
		{name: "websocket range", file: "websocket:\n  max_frame_bytes: 10\n", key: "websocket.max_frame_bytes", reason: "10 is out of range"},
		{name: "websocket origin", env: map[string]string{"COURIER_WS_ORIGIN_PATTERNS": "ok.example.com, [bad"}, key: "websocket.origin_patterns[1]", reason: "is not a pattern"},
		{name: "plaintext hash", file: "auth:\n  tokens:\n    - {name: x, hash: s3cret, allow: [{actions: [admin], resource: '*'}]}\n", key: "auth.tokens[0].hash", reason: `must start with "sha256:"`},
		{name: "plaintext admin token", file: "auth:\n  admin_token: s3cret-s3cret-s3cret\n", key: "auth.admin_token", reason: "never holds a plaintext token"},
		{name: "duplicate name", file: "auth:\n  tokens:\n    - {name: x, hash: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', allow: [{actions: [admin], resource: '*'}]}\n    - {name: x, client_certs: ['cn:x'], allow: [{actions: [admin], resource: '*'}]}\n", key: "auth.tokens[1].name", reason: "also the name of auth.tokens[0]"},
		{name: "not a mapping", file: "- a\n- b\n", key: "(file)", reason: "expected a mapping"},
		{name: "syntax", file: "limits: [\n", key: "(file)", reason: "not valid YAML"},
		{name: "env type", env: map[string]string{"COURIER_MAX_STREAMS": "many"}, key: "limits.max_streams", reason: `"many" is not an integer (set by COURIER_MAX_STREAMS)`},
		{name: "flag type", flags: map[string]string{"limits.read_timeout": "soon"}, key: "limits.read_timeout", reason: `(set by --read-timeout)`},
		{name: "env range", env: map[string]string{"COURIER_MAX_MESSAGE_BYTES": "2MiB"}, key: "limits.max_message_bytes", reason: "2MiB is out of range; accepted is 1KiB to 1MiB (set by COURIER_MAX_MESSAGE_BYTES)"},
		{name: "non-loopback without auth", flags: map[string]string{"addr": "0.0.0.0:7410"}, key: "addr", reason: "refusing to serve without authentication on 0.0.0.0:7410"},
		{name: "all interfaces without auth", env: map[string]string{"COURIER_ADDR": ":7410"}, key: "addr", reason: "to serve anyone who can connect (set by COURIER_ADDR)"},
		{name: "insecure and tokens", file: tokens(`[{actions: [admin], resource: "*"}]`), flags: map[string]string{"auth.insecure_no_auth": "true"}, key: "auth.insecure_no_auth", reason: "cannot be both off and on"},
		{name: "short admin token", env: map[string]string{"COURIER_ADMIN_TOKEN": "short"}, key: "auth.admin_token", reason: "at least 16"},
		{name: "admin token twice", env: map[string]string{"COURIER_ADMIN_TOKEN": "0123456789abcdef0123", "COURIER_ADMIN_TOKEN_FILE": "/nonexistent"}, key: "auth.admin_token_file", reason: "excludes COURIER_ADMIN_TOKEN"},
		{name: "admin token file", flags: map[string]string{"auth.admin_token_file": "/nonexistent/token"}, key: "auth.admin_token_file", reason: "no such file"},
		{name: "admin token as flag", flags: map[string]string{"auth.admin_token": "0123456789abcdef0123"}, key: "auth.admin_token", reason: "is a secret"},
		{name: "tls half", flags: map[string]string{"tls.cert": "c.pem"}, key: "tls.key", reason: "needs both"},
		{name: "client ca without tls", env: map[string]string{"COURIER_TLS_CLIENT_CA": "ca.pem"}, key: "tls.client_ca", reason: "needs TLS"},
		{name: "aws region", env: map[string]string{"COURIER_AWS_REGION": "US East"}, key: "aws.region", reason: "is not a region name"},
		{name: "aws account", flags: map[string]string{"aws.account_id": "12345"}, key: "aws.account_id", reason: "is not 12 digits"},
		{name: "aws keys without auth", file: "aws:\n  access_keys:\n    - {id: AKIDEXAMPLE, secret_file: /dev/null, identity: a}\n", key: "aws.access_keys[0].secret_file", reason: "is empty"},
		{name: "aws key secret file", file: "aws:\n  access_keys:\n    - {id: AKIDEXAMPLE, secret_file: /nonexistent/secret, identity: a}\n", key: "aws.access_keys[0].secret_file", reason: "no such file"},
		{name: "aws key needs auth", file: "aws:\n  access_keys:\n    - {id: AKIDEXAMPLE, secret_file: " + writeFile(t, "secret", "s3cret\n") + ", identity: a}\n", key: "aws.access_keys", reason: "authentication is off"},
		{name: "aws key identity", file: tokens(`[{actions: [admin], resource: "*"}]`) + "aws:\n  access_keys:\n    - {id: AKIDEXAMPLE, secret_file: " + writeFile(t, "secret", "s3cret\n") + ", identity: nobody}\n", key: "aws.access_keys[0].identity", reason: `"nobody" names no identity`},
		{name: "aws key id", file: tokens(`[{actions: [admin], resource: "*"}]`) + "aws:\n  access_keys:\n    - {id: 'AK/ID', secret_file: " + writeFile(t, "secret", "s3cret\n") + ", identity: a}\n", key: "aws.access_keys[0].id", reason: "is not an access key ID"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := Sources{LookupEnv: env(c.env), Flags: c.flags}
			if c.file != "" {
				src.File = writeFile(t, "courier.yaml", c.file)
			}
			_, err := Load(src)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Load = %v, want an *Error", err)
			}
			if e.Key != c.key || !strings.HasPrefix(err.Error(), c.key+": ") || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("error %q (key %q), want key %q and %q", err, e.Key, c.key, c.reason)
			}
			if c.file != "" && e.Key != "(file)" && !strings.Contains(err.Error(), "courier.yaml") && len(c.env) == 0 && len(c.flags) == 0 {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestAuthModes checks when authentication is on and where a server
// without it may listen.
func TestAuthModes(t *testing.T) {
	tokenFile := writeFile(t, "token", "0123456789abcdef0123456789abcdef\n")
	for _, c := range []struct {
		name  string
		env   map[string]string
		flags map[string]string
		auth  bool
	}{
		{"loopback default", nil, nil, false},
		{"localhost", nil, map[string]string{"addr": "localhost:7410"}, false},
		{"ipv6 loopback", nil, map[string]string{"addr": "[::1]:7410"}, false},
		{"insecure anywhere", nil, map[string]string{"addr": "0.0.0.0:7410", "auth.insecure_no_auth": "true"}, false},
		{"admin token from env", map[string]string{"COURIER_ADMIN_TOKEN": "0123456789abcdef0123", "COURIER_ADDR": "0.0.0.0:7410"}, nil, true},
		{"admin token file", nil, map[string]string{"auth.admin_token_file": tokenFile, "addr": "0.0.0.0:7410"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(Sources{LookupEnv: env(c.env), Flags: c.flags})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AuthEnabled() != c.auth {
				t.Fatalf("AuthEnabled = %v", cfg.AuthEnabled())
			}
			ids := cfg.Identities()
			if c.auth && (len(ids) != 1 || ids[0].Name != "admin" || ids[0].TokenHash == "" || strings.Contains(ids[0].TokenHash, "0123456789abcdef")) {
				t.Fatalf("identities %+v", ids)
			}
		})
	}
	cfg, err := Load(Sources{Flags: map[string]string{"auth.admin_token_file": tokenFile}})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Identities()[0].TokenHash; got != server.HashToken("0123456789abcdef0123456789abcdef") {
		t.Fatalf("the admin token file's token hashes to %s: the trailing newline was kept", got)
	}
}

// TestYAMLOutput checks --print-config's output: every key, secrets
// redacted, and a file that loads back to the same configuration.
func TestYAMLOutput(t *testing.T) {
	secret := "0123456789abcdef-very-secret"
	c, err := Load(Sources{
		File:      writeFile(t, "c.yaml", sampleYAML),
		LookupEnv: env(map[string]string{"COURIER_ADMIN_TOKEN": secret}),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	if strings.Contains(text, secret) || !strings.Contains(text, "admin_token: "+Redacted) {
		t.Fatalf("the admin token is not redacted:\n%s", text)
	}
	for _, s := range Settings {
		last := s.Key[strings.LastIndexByte(s.Key, '.')+1:]
		if !strings.Contains(text, last+":") {
			t.Errorf("the output lacks %s:\n%s", s.Key, text)
		}
	}
	if !strings.Contains(text, "max_request_bytes: 8MiB") || !strings.Contains(text, "read_timeout: 30s") {
		t.Errorf("sizes and durations are not written as in a file:\n%s", text)
	}
	// Without the secret (a file never holds it), it reads back the same.
	c.Auth.AdminToken = ""
	out, _ = c.YAML()
	back, err := Parse(out, YAML)
	if err != nil {
		t.Fatalf("reading the output back: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("read back %+v\nwant      %+v", back, c)
	}
	if s := Secret(secret); strings.Contains(s.String()+s.GoString(), secret) {
		t.Fatal("a Secret prints itself")
	}
}

// TestSettingsComplete checks that Settings covers every key of Config
// but the token list, and that each key has its environment variable and
// text form.
func TestSettingsComplete(t *testing.T) {
	covered := map[string]bool{}
	for _, s := range Settings {
		if covered[s.Key] {
			t.Errorf("%s is listed twice", s.Key)
		}
		covered[s.Key] = true
		if _, typ := Defaults().Text(s.Key); typ == "" {
			t.Errorf("%s is no key of Config", s.Key)
		}
		if !strings.HasPrefix(s.Env, "COURIER_") || s.Help == "" {
			t.Errorf("%s: env %q, help %q", s.Key, s.Env, s.Help)
		}
	}
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := range typ.NumField() {
			key := join(prefix, tagName(typ.Field(i)))
			switch {
			case key == "auth.tokens", key == "aws.access_keys":
			case typ.Field(i).Type.Kind() == reflect.Struct:
				walk(key, typ.Field(i).Type)
			case !covered[key]:
				t.Errorf("%s is not in Settings: the environment and flags cannot set it", key)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
}

func TestSize(t *testing.T) {
	for in, want := range map[string]Size{"0": 0, "100": 100, "64MiB": 64 << 20, "64 mib": 64 << 20, "1KiB": 1024, "2GiB": 2 << 30, "10B": 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MiB", "-1", "1.5MiB", "1TiB", "99999999999GiB", "x"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	for s, want := range map[Size]string{0: "0", 1000: "1000", 1024: "1KiB", 64 << 20: "64MiB", 3 << 30: "3GiB"} {
		if got := s.String(); got != want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(s), got, want)
		}
	}
}

// FuzzParse checks that no file makes Parse panic, and that a file it
// accepts prints as YAML that parses back to the same configuration.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sampleYAML), "yaml")
	f.Add([]byte(sampleTOML), "toml")
	f.Add([]byte("limits: {max_batch: 3, idle_timeout: 1s}\n"), "yaml")
	f.Add([]byte("a: &a [*a]\n"), "yaml")
	f.Add([]byte("[limits]\nmax_batch = 1e3\n"), "toml")
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		fm := YAML
		if format == "toml" {
			fm = TOML
		}
		c, err := Parse(data, fm)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Key == "" {
				t.Fatalf("an error that names no key: %v", err)
			}
			return
		}
		out, err := c.YAML()
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(out, YAML)
		if err != nil {
			t.Fatalf("the output does not parse back: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("read back %+v\nwant      %+v\n%s", back, c, out)
		}
	})
}

// TestDocumented checks that docs/server.md lists every key with its
// environment variable, flag and default, and the keys of a token.
func TestDocumented(t *testing.T) {
	data, err := os.ReadFile("../../docs/server.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	d := Defaults()
	for _, s := range Settings {
		flag := "—"
		if s.Flag != "" {
			flag = "`--" + s.Flag + "`"
		}
		def, _ := d.Text(s.Key)
		if def == "" {
			def = "(empty)"
		} else {
			def = "`" + def + "`"
		}
		if row := "| `" + s.Key + "` | `" + s.Env + "` | " + flag + " | " + def + " |"; !strings.Contains(doc, row) {
			t.Errorf("docs/server.md lacks the row %s", row)
		}
	}
	for _, key := range []string{"name", "hash", "client_certs", "allow", "allow[].actions", "allow[].resource", "rate"} {
		if !strings.Contains(doc, "| `auth.tokens[]."+key+"`") {
			t.Errorf("docs/server.md lacks auth.tokens[].%s", key)
		}
	}
}

// TestAWSAccessKeys checks that an access key's secret comes from its
// file and reaches the server's AWS configuration, and that printing the
// configuration does not show it.
func TestAWSAccessKeys(t *testing.T) {
	secret := writeFile(t, "secret", "wJalrXUtnFEMI/K7MDENG\n")
	file := writeFile(t, "courier.yaml", `
auth:
  tokens:
    - {name: writer, hash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", allow: [{actions: [publish], resource: "queue:*"}]}
aws:
  region: eu-west-1
  access_keys:
    - {id: AKIDWRITER, secret_file: `+secret+`, identity: writer}
`)
	c, err := Load(Sources{File: file})
	if err != nil {
		t.Fatal(err)
	}
	got := c.AWSConfig()
	if got.Region != "eu-west-1" || got.AccountID != "000000000000" || len(got.AccessKeys) != 1 ||
		got.AccessKeys[0].Secret != "wJalrXUtnFEMI/K7MDENG" || got.AccessKeys[0].Identity != "writer" {
		t.Errorf("AWSConfig = %+v", got)
	}
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "wJalrXUtnFEMI") {
		t.Errorf("the printed configuration shows the secret:\n%s", out)
	}
}
