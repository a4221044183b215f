package client_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/courier-io/courier"
	"github.com/courier-io/courier/internal/servertest"
	"github.com/courier-io/courier/server"
)

// TestBearerToken opens a server that requires a token: without one the
// client is refused; with COURIER_TOKEN or the token_file option it works.
func TestBearerToken(t *testing.T) {
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) { testBearerToken(t, c.prefix) })
	}
}

func testBearerToken(t *testing.T, prefix string) {
	ctx := context.Background()
	const token = "s3cret-token"
	hs := servertest.Start(t, "mem://", server.WithIdentities(server.Identity{
		Name: "app", TokenHash: server.HashToken(token),
		Allow: []server.Grant{{Actions: []server.Action{server.ActionAdmin}, Resource: "*"}},
	}))

	t.Setenv("COURIER_TOKEN", "")
	if b, err := courier.Open(ctx, prefix+hs.URL); err == nil {
		b.Close()
		t.Fatal("a client without a token was let in")
	}
	t.Setenv("COURIER_TOKEN", token)
	b, err := courier.Open(ctx, prefix+hs.URL)
	if err != nil {
		t.Fatalf("with COURIER_TOKEN: %v", err)
	}
	if _, err := b.CreateQueue(ctx, "q"); err != nil {
		t.Fatalf("a call with the token: %v", err)
	}
	b.Close()

	t.Setenv("COURIER_TOKEN", "wrong")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err = courier.Open(ctx, prefix+hs.URL+"?token_file="+file)
	if err != nil {
		t.Fatalf("with token_file (over a wrong COURIER_TOKEN): %v", err)
	}
	if _, err := b.Queue("q").Info(ctx); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := courier.Open(ctx, prefix+hs.URL+"?token_file="+filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing token file was accepted")
	}
}
