package webclient

import (
	"embed"
	"io/fs"
	"net/http"
)

// staticFiles is the browser UI: plain HTML, CSS and JavaScript modules, no
// build step (see docs/architecture.md).
//
//go:embed static
var staticFiles embed.FS

func (s *Server) staticRoutes(m *http.ServeMux) {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	files := http.FileServerFS(sub)
	m.Handle("GET /static/", http.StripPrefix("/static/", noListing(files)))
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, sub, name)
		}
	}
	m.HandleFunc("GET /{$}", page("join.html"))
	m.HandleFunc("GET /join", page("join.html"))
	m.HandleFunc("GET /console", page("console.html"))
}

// noListing hides directory listings of the embedded files.
func noListing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || r.URL.Path[len(r.URL.Path)-1] == '/' {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
