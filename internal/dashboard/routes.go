package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

// assets are the page, its script and its style sheet.
//
//go:embed assets
var assets embed.FS

// routes serves the page at /, its event stream at /events and, once the
// run is over, the run folder's report under /report/.
func (s *Server) routes() http.Handler {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", noStore(http.FileServerFS(static)))
	mux.HandleFunc("GET /events", s.log.serveEvents)
	mux.HandleFunc("GET /report/", s.serveReport)
	return mux
}

// serveReport serves the run folder (index.html, plots, summary.json)
// once the report is written; until then it says when it will be.
func (s *Server) serveReport(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	dir := s.report
	s.mu.Unlock()
	if dir == "" {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "the report is written when the run ends; the live view is at /", http.StatusServiceUnavailable)
		return
	}
	http.StripPrefix("/report/", http.FileServer(http.Dir(dir))).ServeHTTP(w, r)
}

// noStore keeps browsers from caching the page across runs: a binary of
// another version may serve another page at the same address.
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
