package server

import (
	"net/http"

	"github.com/courier-io/courier/ui"
)

// uiRoutes mounts the web dashboard (package ui) at /ui/, and redirects
// /ui there. Its files are public (accessTable): they hold no data, and
// the page asks the API with the user's token like any other client, so
// every read and action is checked as usual.
func (s *Server) uiRoutes() {
	s.mux.Handle("GET "+ui.Prefix, ui.Handler())
	s.mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, ui.Prefix, http.StatusMovedPermanently)
	})
}
