package server_test

import (
	"crypto/tls"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/courier-io/courier/internal/servertest"
	"github.com/courier-io/courier/internal/testcert"
	"github.com/courier-io/courier/server"
)

// tlsGet makes one request on a new connection with the client TLS
// configuration cfg and returns the answer's status and the serial of
// the server's certificate.
func tlsGet(t *testing.T, cfg *tls.Config, url, token string) (int, int64, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.TLS.PeerCertificates[0].SerialNumber.Int64(), nil
}

// TestTLSReload checks that the server answers over TLS 1.2 and later
// only, serves a renewed pair after Reload, and keeps the pair it has
// when a reload fails.
func TestTLSReload(t *testing.T) {
	ca := testcert.NewCA(t, "courier-test")
	first, second := ca.Server("first"), ca.Server("second")
	live := ca.Server("live")
	first.CopyTo(t, live)
	srv := servertest.StartTLS(t, "mem://", live, "")
	url, certs := srv.URL, srv.Certs
	client := &tls.Config{RootCAs: ca.Pool}

	status, serial, err := tlsGet(t, client, url+"/healthz", "")
	if err != nil || status != http.StatusOK || serial != first.Serial {
		t.Fatalf("first pair: status %d, serial %d (want %d), %v", status, serial, first.Serial, err)
	}
	// HTTP/2 by ALPN.
	tr := &http.Transport{TLSClientConfig: client.Clone(), ForceAttemptHTTP2: true}
	resp, err := (&http.Client{Transport: tr}).Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tr.CloseIdleConnections()
	if resp.ProtoMajor != 2 {
		t.Errorf("over TLS the server speaks %s, want HTTP/2", resp.Proto)
	}

	if _, _, err := tlsGet(t, &tls.Config{RootCAs: ca.Pool, MaxVersion: tls.VersionTLS11}, url+"/healthz", ""); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	if _, _, err := tlsGet(t, &tls.Config{}, url+"/healthz", ""); err == nil {
		t.Fatal("a client that does not trust the CA was served")
	}

	second.CopyTo(t, live)
	if err := certs.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, serial, err := tlsGet(t, client, url+"/healthz", ""); err != nil || serial != second.Serial {
		t.Fatalf("after the reload: serial %d (want %d), %v", serial, second.Serial, err)
	}

	if err := os.WriteFile(live.CertFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := certs.Reload(); err == nil || !strings.Contains(err.Error(), live.CertFile) {
		t.Fatalf("reloading a broken pair: %v", err)
	}
	if _, serial, err := tlsGet(t, client, url+"/healthz", ""); err != nil || serial != second.Serial {
		t.Fatalf("after a failed reload: serial %d (want %d, kept), %v", serial, second.Serial, err)
	}
}

// TestMTLSIdentity checks that a verified client certificate
// authenticates as the identity its URI or common name maps to, and that
// a bearer token still works beside it.
func TestMTLSIdentity(t *testing.T) {
	ca := testcert.NewCA(t, "courier-test")
	other := testcert.NewCA(t, "other")
	orders := ca.Client("orders", "orders-service", "spiffe://example.org/orders")
	billing := ca.Client("billing", "billing-service")
	nobody := ca.Client("nobody", "nobody")
	forged := other.Client("forged", "orders-service", "spiffe://example.org/orders")
	url := servertest.StartTLS(t, "mem://", ca.Server("server"), ca.File, server.WithIdentities(
		server.Identity{Name: "orders", ClientCerts: []string{"uri:spiffe://example.org/orders"},
			Allow: []server.Grant{{Actions: []server.Action{server.ActionManage}, Resource: "queue:orders"}}},
		server.Identity{Name: "billing", ClientCerts: []string{"cn:billing-service"},
			Allow: []server.Grant{{Actions: []server.Action{server.ActionManage}, Resource: "queue:billing"}}},
		server.Identity{Name: "admin", TokenHash: server.HashToken("admin-token"),
			Allow: []server.Grant{{Actions: []server.Action{server.ActionAdmin}, Resource: "*"}}},
	)).URL
	withCert := func(p testcert.Pair) *tls.Config {
		pair, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
		if err != nil {
			t.Fatal(err)
		}
		return &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{pair}}
	}
	for _, c := range []struct {
		name  string
		cfg   *tls.Config
		token string
		path  string
		want  int
	}{
		{"uri identity", withCert(orders), "", "/v1/queues/orders", http.StatusNotFound},
		{"uri identity elsewhere", withCert(orders), "", "/v1/queues/billing", http.StatusForbidden},
		{"cn identity", withCert(billing), "", "/v1/queues/billing", http.StatusNotFound},
		{"unmapped certificate", withCert(nobody), "", "/v1/queues/orders", http.StatusUnauthorized},
		{"no certificate", &tls.Config{RootCAs: ca.Pool}, "", "/v1/queues/orders", http.StatusUnauthorized},
		{"token without certificate", &tls.Config{RootCAs: ca.Pool}, "admin-token", "/v1/queues/orders", http.StatusNotFound},
		{"token wins over certificate", withCert(orders), "admin-token", "/v1/queues/billing", http.StatusNotFound},
	} {
		status, _, err := tlsGet(t, c.cfg, url+c.path, c.token)
		if err != nil || status != c.want {
			t.Errorf("%s: GET %s answered %d (%v), want %d", c.name, c.path, status, err, c.want)
		}
	}
	// A certificate of another CA authenticates nobody: the client does
	// not offer it (the server names its CAs), or the handshake fails.
	if status, _, err := tlsGet(t, withCert(forged), url+"/v1/queues/orders", ""); err == nil && status != http.StatusUnauthorized {
		t.Fatalf("a certificate of an unknown CA was accepted: %d", status)
	}
	forgedCfg := withCert(forged)
	forgedCfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return &forgedCfg.Certificates[0], nil // offered anyway
	}
	if status, _, err := tlsGet(t, forgedCfg, url+"/v1/queues/orders", ""); err == nil && status != http.StatusUnauthorized {
		t.Fatalf("a certificate of an unknown CA, offered anyway, was accepted: %d", status)
	}
}
