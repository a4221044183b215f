package ui_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/courier-io/courier/ui"
)

// get asks h for path with method and returns the recorded answer.
func get(h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// checkSecurityHeaders checks the headers every answer of the handler has.
func checkSecurityHeaders(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	for k, want := range map[string]string{
		"Content-Security-Policy": ui.ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s: %s = %q, want %q", what, k, got, want)
		}
	}
}

// TestDashboardHandler checks what the handler serves: the page at /ui/,
// each asset with its media type, 404 for anything else, 405 for other
// methods, revalidation by ETag, and the security headers on every
// answer.
func TestDashboardHandler(t *testing.T) {
	h := ui.Handler()
	for path, ctype := range map[string]string{
		"/ui/":                     "text/html; charset=utf-8",
		"/ui/index.html":           "text/html; charset=utf-8",
		"/ui/style.css":            "text/css; charset=utf-8",
		"/ui/favicon.svg":          "image/svg+xml",
		"/ui/js/app.js":            "text/javascript; charset=utf-8",
		"/ui/js/pages/overview.js": "text/javascript; charset=utf-8",
		"/ui/js/pages/queues.js":   "text/javascript; charset=utf-8",
		"/ui/js/pages/topics.js":   "text/javascript; charset=utf-8",
		"/ui/js/pages/streams.js":  "text/javascript; charset=utf-8",
		"/ui/js/pages/buses.js":    "text/javascript; charset=utf-8",
		"/ui/js/chart.js":          "text/javascript; charset=utf-8",
		"/ui/js/live.js":           "text/javascript; charset=utf-8",
		"/ui/js/api.js":            "text/javascript; charset=utf-8",
		"/ui/js/dialog.js":         "text/javascript; charset=utf-8",
		"/ui/js/history.js":        "text/javascript; charset=utf-8",
		"/ui/js/dom.js":            "text/javascript; charset=utf-8",
		"/ui/js/pages/common.js":   "text/javascript; charset=utf-8",
		"/ui/js/pages/tail.js":     "text/javascript; charset=utf-8",
	} {
		w := get(h, http.MethodGet, path, nil)
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, w.Code, w.Body)
			continue
		}
		if got := w.Header().Get("Content-Type"); got != ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, ctype)
		}
		if w.Header().Get("ETag") == "" || w.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: ETag %q, Cache-Control %q; want an ETag and no-cache", path, w.Header().Get("ETag"), w.Header().Get("Cache-Control"))
		}
		checkSecurityHeaders(t, "GET "+path, w)
	}

	page := get(h, http.MethodGet, "/ui/", nil)
	if body := page.Body.String(); !strings.Contains(body, `<script type="module" src="js/app.js"></script>`) {
		t.Errorf("GET /ui/ is not the dashboard page:\n%s", body)
	}
	if w := get(h, http.MethodHead, "/ui/", nil); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD /ui/: %d with %d bytes", w.Code, w.Body.Len())
	}
	if w := get(h, http.MethodGet, "/ui/", http.Header{"If-None-Match": {page.Header().Get("ETag")}}); w.Code != http.StatusNotModified {
		t.Errorf("GET /ui/ with its ETag: %d, want 304", w.Code)
	}

	for _, path := range []string{"/ui/nope.js", "/ui/js/", "/ui/js", "/ui/assets/index.html", "/ui/js/app.js.map", "/elsewhere", "/ui"} {
		w := get(h, http.MethodGet, path, nil)
		if w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, w.Code)
		}
		checkSecurityHeaders(t, "GET "+path, w)
	}
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		w := get(h, method, "/ui/", nil)
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /ui/: %d, Allow %q; want 405 with Allow: GET, HEAD", method, w.Code, w.Header().Get("Allow"))
		}
		checkSecurityHeaders(t, method+" /ui/", w)
	}
}

// importRE finds the module paths of static imports.
var importRE = regexp.MustCompile(`(?m)^import\s[^;]*?from\s+"([^"]+)";`)

// TestDashboardModulesResolve follows the imports of the page's modules
// from app.js and checks that each one is served, so a renamed module
// fails here and not only in a browser; and that no module loads anything
// from another origin, which the Content-Security-Policy would block.
func TestDashboardModulesResolve(t *testing.T) {
	h := ui.Handler()
	seen := map[string]bool{}
	queue := []string{"/ui/js/app.js"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		w := get(h, http.MethodGet, p, nil)
		if w.Code != http.StatusOK {
			t.Errorf("%s is imported but answers %d", p, w.Code)
			continue
		}
		// The SVG namespace is a name, not a resource.
		src := strings.ReplaceAll(w.Body.String(), `"http://www.w3.org/2000/svg"`, "")
		if strings.Contains(src, "http://") || strings.Contains(src, "https://") {
			t.Errorf("%s names an absolute URL; the page may load only from its own origin", p)
		}
		for _, m := range importRE.FindAllStringSubmatch(src, -1) {
			spec := m[1]
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				t.Errorf("%s imports %q: only relative module paths resolve without a build step", p, spec)
				continue
			}
			dir := p[:strings.LastIndex(p, "/")+1]
			queue = append(queue, resolve(dir, spec))
		}
	}
	if len(seen) < 10 {
		t.Errorf("only %d modules reached from app.js: %v", len(seen), seen)
	}
}

// resolve joins a relative module path to the directory of its importer.
func resolve(dir, spec string) string {
	parts := strings.Split(strings.TrimSuffix(dir, "/"), "/")
	for _, s := range strings.Split(spec, "/") {
		switch s {
		case ".":
		case "..":
			parts = parts[:len(parts)-1]
		default:
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}
