package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/courier-io/courier/ui"
)

// TestUIRoutes checks that the server mounts the dashboard: /ui/ serves
// the page without credentials even with authentication on (the page
// holds no data), with the dashboard's security headers, and /ui
// redirects there; the API behind it still needs a token.
func TestUIRoutes(t *testing.T) {
	s := newTestServer(t, WithIdentities(Identity{Name: "ops", TokenHash: HashToken("ops-token"),
		Allow: []Grant{{Actions: []Action{ActionAdmin}, Resource: "*"}}}))
	for _, p := range []string{"GET /ui", "GET /ui/"} {
		if !slices.Contains(s.mux.patterns, p) {
			t.Fatalf("the server does not route %q: routes() in server.go must call s.uiRoutes()", p)
		}
	}

	w := call(s, http.MethodGet, "/ui/", "", "")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /ui/ without a token: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if !strings.Contains(w.Body.String(), "js/app.js") {
		t.Errorf("GET /ui/ is not the dashboard:\n%s", w.Body)
	}
	if got := w.Header().Get("Content-Security-Policy"); got != ui.ContentSecurityPolicy {
		t.Errorf("Content-Security-Policy %q", got)
	}
	if w.Header().Get("X-Frame-Options") != "DENY" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Frame-Options %q, X-Content-Type-Options %q", w.Header().Get("X-Frame-Options"), w.Header().Get("X-Content-Type-Options"))
	}
	if w := call(s, http.MethodGet, "/ui/js/app.js", "", ""); w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("GET /ui/js/app.js: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	if w := call(s, http.MethodGet, "/ui/missing.js", "", ""); w.Code != http.StatusNotFound {
		t.Errorf("GET /ui/missing.js: %d, want 404", w.Code)
	}
	if w := call(s, http.MethodGet, "/ui", "", ""); w.Code != http.StatusMovedPermanently || w.Header().Get("Location") != "/ui/" {
		t.Errorf("GET /ui: %d to %q, want 301 to /ui/", w.Code, w.Header().Get("Location"))
	}
	// The page is public; what it shows is not.
	if w := call(s, http.MethodGet, "/v1/queues", "", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /v1/queues without a token: %d, want 401", w.Code)
	}
}
