package ui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/courier-io/courier/ui"
)

// Mounting the dashboard on a mux of one's own. server.Server does this
// at /ui/ already; the page expects the courier API on the same origin.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("GET "+ui.Prefix, ui.Handler())

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/ui/", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"), w.Header().Get("X-Frame-Options"))
	// Output: 200 text/html; charset=utf-8 DENY
}
