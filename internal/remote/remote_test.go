package remote

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/courier-io/courier/driver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	t.Setenv("COURIER_TOKEN", " env-token ")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url, base, token string
		tls              bool
	}{
		{"http://127.0.0.1:7410", "http://127.0.0.1:7410", "env-token", false},
		{"http://h:1/prefix/", "http://h:1/prefix", "env-token", false},
		{"rest+https://h:1", "https://h:1", "env-token", true},
		{"http://h:1?token_file=" + url.QueryEscape(file), "http://h:1", "file-token", false},
	} {
		u, _ := url.Parse(c.url)
		s, err := Parse(u)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if s.Base != c.base || s.Token != c.token || (s.TLS != nil) != c.tls {
			t.Errorf("%s: %+v", c.url, s)
		}
	}
	for _, bad := range []string{
		"http:///nohost", "http://h?nope=1", "http://h?ca_file=x", "https://h?ca_file=" + url.QueryEscape(file),
		"https://h?cert_file=x", "http://h?token_file=/nonexistent",
	} {
		u, _ := url.Parse(bad)
		if _, err := Parse(u); !errors.Is(err, driver.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", bad, err)
		}
	}
}

// FuzzParse checks that no URL makes Parse panic, and that what it
// accepts is an http or https base without a trailing slash.
func FuzzParse(f *testing.F) {
	f.Add("http://127.0.0.1:7410")
	f.Add("rest+https://h:1/p?ca_file=x&token_file=y")
	f.Add("https://[::1]:7410/?cert_file=a&key_file=b")
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		q := u.Query()
		for _, k := range []string{"token_file", "ca_file", "cert_file", "key_file"} {
			if q.Has(k) {
				return // files: not the parser's business
			}
		}
		s, err := Parse(u)
		if err != nil {
			if !errors.Is(err, driver.ErrInvalid) {
				t.Fatalf("%q: %v is not ErrInvalid", raw, err)
			}
			return
		}
		if !strings.HasPrefix(s.Base, "http://") && !strings.HasPrefix(s.Base, "https://") || strings.HasSuffix(s.Base, "/") {
			t.Fatalf("%q: base %q", raw, s.Base)
		}
	})
}
