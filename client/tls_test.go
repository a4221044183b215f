package client_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/servertest"
	"github.com/courier-io/courier/internal/testcert"
	"github.com/courier-io/courier/server"
)

// TestHTTPS checks https:// with a CA from the URL option ca_file or from
// COURIER_CA_FILE, and that a server the client cannot verify is refused.
func TestHTTPS(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { testHTTPS(t, c.prefix) })
	}
}

func testHTTPS(t *testing.T, prefix string) {
	ca := testcert.NewCA(t, "courier-test")
	addr := strings.TrimPrefix(servertest.StartTLS(t, "mem://", ca.Server("server"), ca.File).URL, "https://")
	use := func(b *courier.Broker, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if _, err := b.CreateQueue(t.Context(), "q"); err != nil {
			t.Fatal(err)
		}
	}
	use(courier.Open(t.Context(), prefix+"https://"+addr+"?ca_file="+url.QueryEscape(ca.File)))

	if _, err := courier.Open(t.Context(), prefix+"https://"+addr); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a server signed by an unknown CA: %v", err)
	}
	t.Setenv("COURIER_CA_FILE", ca.File)
	use(courier.Open(t.Context(), prefix+"https://"+addr))

	for _, bad := range []string{
		prefix + "https://" + addr + "?ca_file=/nonexistent.pem",
		prefix + "https://" + addr + "?cert_file=" + url.QueryEscape(ca.File), // no key_file
		prefix + "https://" + addr + "?insecure=true",
		prefix + "http://" + addr + "?ca_file=" + url.QueryEscape(ca.File),
	} {
		if _, err := courier.Open(t.Context(), bad); !errors.Is(err, courier.ErrInvalid) {
			t.Errorf("Open(%s) = %v, want ErrInvalid", bad, err)
		}
	}
}

// TestHTTPSClientCertificate checks that cert_file and key_file present a
// client certificate that authenticates the client.
func TestHTTPSClientCertificate(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { testHTTPSClientCertificate(t, c.prefix) })
	}
}

func testHTTPSClientCertificate(t *testing.T, prefix string) {
	ca := testcert.NewCA(t, "courier-test")
	client := ca.Client("client", "orders-service")
	srv := servertest.StartTLS(t, "mem://", ca.Server("server"), ca.File, server.WithIdentities(server.Identity{
		Name: "orders", ClientCerts: []string{"cn:orders-service"},
		Allow: []server.Grant{{Actions: []server.Action{server.ActionAdmin}, Resource: "queue:orders"}},
	}))
	base := prefix + srv.URL + "?ca_file=" + url.QueryEscape(ca.File)
	if _, err := courier.Open(t.Context(), base); err == nil || !strings.Contains(err.Error(), "unauthenticated") {
		t.Fatalf("without a client certificate: %v", err)
	}
	t.Setenv("COURIER_CERT_FILE", client.CertFile)
	t.Setenv("COURIER_KEY_FILE", client.KeyFile)
	b, err := courier.Open(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.CreateQueue(t.Context(), "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateQueue(t.Context(), "billing"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("a queue the identity may not manage: %v", err)
	}
}
