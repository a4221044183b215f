package services_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestJavaScriptSDK runs testdata/jssdk/smoke.mjs, the main actions of
// the four services through the AWS SDK for JavaScript v3, against the
// server with authentication on: a second SDK, with its own serializers,
// signer and checksum checks. It needs node and npm (and the npm
// registry): set COURIER_AWS_JS_SDK=1 to run it.
func TestJavaScriptSDK(t *testing.T) {
	if os.Getenv("COURIER_AWS_JS_SDK") != "1" {
		t.Skip("set COURIER_AWS_JS_SDK=1 to install the AWS SDK for JavaScript with npm and run it")
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json", "smoke.mjs"} {
		data, err := os.ReadFile(filepath.Join("testdata", "jssdk", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	npm := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	npm.Dir = dir
	if out, err := npm.CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	st := newStack(t)
	node := exec.CommandContext(ctx, "node", "smoke.mjs", st.url, "AKIDOPS", "secret-of-ops")
	node.Dir = dir
	out, err := node.CombinedOutput()
	if err != nil {
		t.Fatalf("the JavaScript SDK failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ok records 2") {
		t.Fatalf("the smoke script did not finish:\n%s", out)
	}
	t.Logf("%s", out)
}
