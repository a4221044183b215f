// Package remote reads the URL of a courier server as the Go clients take
// it (http://, https://, rest+http://, rest+https://): the address, the
// bearer token and the TLS settings, from the URL's options or the
// environment. The URL options win over the environment.
//
// Options:
//
//	token_file  a file holding the bearer token (else COURIER_TOKEN)
//	ca_file     PEM CA certificates to check the server's (else COURIER_CA_FILE; https only)
//	cert_file   a client certificate, PEM (else COURIER_CERT_FILE; https only)
//	key_file    its key, PEM (else COURIER_KEY_FILE; https only)
package remote

import (
	"crypto/tls"
	"crypto/x509"
	"net/url"
	"os"
	"strings"

	"github.com/courier-io/courier/driver"
)

// Server is where and how to reach a courier server.
type Server struct {
	// Base is "http://host:port[/prefix]" or "https://...", without a
	// trailing slash.
	Base string
	// Token is the bearer token; empty for none.
	Token string
	// TLS is the client's TLS configuration for https; nil for http.
	TLS *tls.Config
}

// Parse reads u. Its scheme ends in "http" or "https" (a prefix such as
// "rest+" selects the client, not the transport).
func Parse(u *url.URL) (Server, error) {
	if u.Host == "" {
		return Server{}, driver.Invalid("url", "%s:// needs a host, as in %s://127.0.0.1:7410", u.Scheme, u.Scheme)
	}
	secure := strings.HasSuffix(u.Scheme, "https")
	q := u.Query()
	var s Server
	var err error
	if s.Token, err = bearerToken(q); err != nil {
		return Server{}, err
	}
	if s.TLS, err = clientTLS(q, secure, u.Scheme); err != nil {
		return Server{}, err
	}
	transport := "http"
	if secure {
		transport = "https"
	}
	s.Base = strings.TrimRight(transport+"://"+u.Host+u.Path, "/")
	return s, nil
}

// bearerToken returns the token of the option token_file (which it
// removes from q) or of COURIER_TOKEN; "" for none.
func bearerToken(q url.Values) (string, error) {
	if !q.Has("token_file") {
		return strings.TrimSpace(os.Getenv("COURIER_TOKEN")), nil
	}
	file := q.Get("token_file")
	q.Del("token_file")
	data, err := os.ReadFile(file)
	if err != nil {
		return "", driver.Invalid("token_file", "reading the token: %v", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", driver.Invalid("token_file", "%s is empty", file)
	}
	return token, nil
}

// tlsOptions are the URL options of https and the environment variables
// that give them otherwise.
var tlsOptions = []struct{ option, env string }{
	{"ca_file", "COURIER_CA_FILE"}, {"cert_file", "COURIER_CERT_FILE"}, {"key_file", "COURIER_KEY_FILE"},
}

// clientTLS returns the TLS configuration of an https URL: at least TLS
// 1.2, the CA and client certificate of its options or the environment;
// nil for http. Options left in q are unknown and refused.
func clientTLS(q url.Values, secure bool, scheme string) (*tls.Config, error) {
	if !secure {
		if len(q) > 0 {
			return nil, driver.Invalid("url", "unknown options %q; %s:// takes only token_file (ca_file, cert_file and key_file are for https)", q.Encode(), scheme)
		}
		return nil, nil
	}
	files := map[string]string{}
	for _, o := range tlsOptions {
		if v := q.Get(o.option); v != "" {
			files[o.option] = v
		} else if v := os.Getenv(o.env); v != "" {
			files[o.option] = v
		}
		q.Del(o.option)
	}
	if len(q) > 0 {
		return nil, driver.Invalid("url", "unknown options %q; %s:// takes token_file, ca_file, cert_file and key_file", q.Encode(), scheme)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f := files["ca_file"]; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, driver.Invalid("ca_file", "reading the CA file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, driver.Invalid("ca_file", "%s holds no PEM certificate", f)
		}
		cfg.RootCAs = pool
	}
	cert, key := files["cert_file"], files["key_file"]
	switch {
	case cert != "" && key != "":
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, driver.Invalid("cert_file", "loading the client certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case cert != "" || key != "":
		return nil, driver.Invalid("cert_file", "a client certificate needs both cert_file and key_file")
	}
	return cfg, nil
}
