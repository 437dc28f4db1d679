package webclient

import (
	"net/http"
	"os"
)

// servePageImage serves the PNG at path (a page or thumbnail the converter
// wrote) with the Cache-Control the caller's authorisation allows, ranges
// and conditional requests included. It returns false, having written
// nothing, when the file cannot be opened: the caller answers 404 its way.
func (s *Server) servePageImage(w http.ResponseWriter, r *http.Request, path, cacheControl string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		s.writeError(w, r, err)
		return true
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", cacheControl)
	http.ServeContent(w, r, "", info.ModTime(), f)
	return true
}
