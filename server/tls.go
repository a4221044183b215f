package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync/atomic"
)

// CertReloader serves a certificate and key pair from files and loads
// them again on Reload (courier serve calls it on SIGHUP), so that a
// renewed certificate takes effect without a restart. Handshakes in
// progress keep the pair they started with.
type CertReloader struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

// NewCertReloader loads the pair certFile, keyFile (PEM). It fails when
// they cannot be read or do not match.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	c := &CertReloader{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload loads the pair from the files again. On failure (a file
// missing, unreadable, or a key that does not match the certificate) it
// keeps serving the pair it had and returns the error.
func (c *CertReloader) Reload() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("loading the TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.current.Store(&pair)
	return nil
}

// GetCertificate returns the pair loaded last; it is a
// tls.Config.GetCertificate.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load(), nil
}

// TLSConfig returns the server side of TLS: at least TLS 1.2, HTTP/2 and
// HTTP/1.1 by ALPN, the certificate of certs. With a clientCAFile (PEM,
// one or more CA certificates), clients may present a certificate signed
// by one of them, which then authenticates them (Identity.ClientCerts);
// a certificate that does not verify fails the handshake, and clients
// without one authenticate by token.
func TLSConfig(certs *CertReloader, clientCAFile string) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: certs.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the client CA file %s holds no PEM certificate", clientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}
