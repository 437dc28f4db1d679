package webclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/dialroom/dialroom"
)

// The library's HTTP API (docs/api.md "Materials"). Every route needs the
// operator's session and looks the material up by id *and* owner on every
// request: another operator's material answers 404 exactly like a missing
// one, page URLs included.

func (s *Server) libraryRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /api/materials", s.requireOperator(s.handleUploadMaterial))
	m.HandleFunc("GET /api/materials", s.requireOperator(s.handleListMaterials))
	m.HandleFunc("GET /api/materials/{id}", s.requireOperator(s.handleGetMaterial))
	m.HandleFunc("DELETE /api/materials/{id}", s.requireOperator(s.handleDeleteMaterial))
	m.HandleFunc("GET /api/materials/{id}/pages/{n}", s.requireOperator(s.handleMaterialImage(Converter.PagePath)))
	m.HandleFunc("GET /api/materials/{id}/thumbs/{n}", s.requireOperator(s.handleMaterialImage(Converter.ThumbPath)))
}

// jsonMaterial is a material as the API shows it.
type jsonMaterial struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	State   string    `json:"state"`
	Type    string    `json:"type,omitempty"`
	Pages   int       `json:"pages"`
	Bytes   int64     `json:"bytes"`
	Error   string    `json:"error,omitempty"`
	Created time.Time `json:"created"`
	// Progress is set while the material converts.
	Progress *jsonProgress `json:"progress,omitempty"`
	// Thumb is the URL of page 1's thumbnail once ready.
	Thumb string `json:"thumb,omitempty"`
}

// jsonProgress is "page done of total"; queued while it waits for a worker,
// and total 0 until the converter has counted the pages.
type jsonProgress struct {
	Queued bool `json:"queued"`
	Done   int  `json:"done"`
	Total  int  `json:"total"`
}

type materialsResponse struct {
	Materials []jsonMaterial `json:"materials"`
	Limits    jsonLimits     `json:"limits"`
	// Available is false when this server cannot convert (no poppler):
	// the console says so instead of offering an upload that must fail.
	Available bool `json:"available"`
}

type jsonLimits struct {
	MaxBytes int64 `json:"max_bytes"`
	MaxPages int   `json:"max_pages"`
}

func (s *Server) toJSONMaterial(m *dialroom.Material) jsonMaterial {
	j := jsonMaterial{ID: m.ID, Name: m.Name, State: m.State, Type: m.Type, Pages: m.Pages, Bytes: m.Bytes,
		Error: m.Error, Created: m.Created}
	switch m.State {
	case dialroom.MaterialConverting:
		p := &jsonProgress{Queued: true}
		if started, done, total, ok := s.lib.progress(m.ID); ok {
			p.Queued, p.Done, p.Total = !started, done, total
		}
		j.Progress = p
	case dialroom.MaterialReady:
		j.Thumb = "/api/materials/" + m.ID + "/thumbs/1"
	}
	return j
}

// handleUploadMaterial takes the file as the request body and its name from
// the query (?name=slides.pdf, URL-encoded: any language, no header
// encoding rules), spools it, stores the material as converting and answers
// 202 at once; the conversion runs in the background.
func (s *Server) handleUploadMaterial(w http.ResponseWriter, r *http.Request) {
	op := operatorFrom(r.Context())
	limit := s.lib.limits.MaxBytes
	// Refused before a byte is read when the browser says how large it is.
	if r.ContentLength > limit {
		s.writeTooLarge(w, r, limit)
		return
	}
	name := materialName(r.URL.Query().Get("name"))
	j, err := s.lib.reserve(op.Login, name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, ok := s.receiveUpload(w, r, j, limit)
	if !ok {
		return
	}
	m := &dialroom.Material{ID: j.id, Operator: op.Login, Name: name, Bytes: n}
	if err := s.cfg.Store.CreateMaterial(r.Context(), m); err != nil {
		s.lib.release(j)
		s.writeError(w, r, err)
		return
	}
	if err := s.lib.enqueue(j); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.cfg.Store.FailMaterial(ctx, j.id, msgInterrupted)
		cancel()
		s.lib.release(j)
		s.writeError(w, r, err)
		return
	}
	s.log.Info("material uploaded", "operator", op.Login, "material", m.ID, "bytes", n)
	writeJSON(w, http.StatusAccepted, s.toJSONMaterial(m))
}

// receiveUpload spools the request body (at most limit bytes) for the
// reserved job j and returns its size. On failure (too large: 413, empty:
// 400, a read error) it has answered the request and released j, and ok is
// false. Library uploads and files dropped into a room share it.
func (s *Server) receiveUpload(w http.ResponseWriter, r *http.Request, j *conversion, limit int64) (n int64, ok bool) {
	n, err := s.lib.spool(j, http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		s.lib.release(j)
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.writeTooLarge(w, r, limit)
			return 0, false
		}
		s.writeError(w, r, fmt.Errorf("materials: reading an upload: %w", err))
		return 0, false
	}
	if n == 0 {
		s.lib.release(j)
		s.writeError(w, r, dialroom.Errorf(dialroom.EINVALID, "The file is empty."))
		return 0, false
	}
	return n, true
}

// writeTooLarge answers 413 (not the 400 of EINVALID): the status says why
// even to a client that stopped sending when the server stopped reading.
func (s *Server) writeTooLarge(w http.ResponseWriter, _ *http.Request, limit int64) {
	w.Header().Set("Connection", "close") // the rest of the body is not read
	writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"error": map[string]string{
		"code": dialroom.EINVALID, "message": fmt.Sprintf("The file is larger than %s MB, the most this server accepts.", megabytes(limit))}})
}

// megabytes formats n bytes in MiB, the way people call them MB: "50", "0.5".
func megabytes(n int64) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'g', 4, 64)
}

// handleListMaterials returns the operator's library, newest first, with
// the limits the console checks before uploading.
func (s *Server) handleListMaterials(w http.ResponseWriter, r *http.Request) {
	list, err := s.cfg.Store.ListMaterials(r.Context(), operatorFrom(r.Context()).Login)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := materialsResponse{Materials: make([]jsonMaterial, 0, len(list)), Available: s.lib.conv != nil,
		Limits: jsonLimits{MaxBytes: s.lib.limits.MaxBytes, MaxPages: s.lib.limits.MaxPages}}
	for _, m := range list {
		out.Materials = append(out.Materials, s.toJSONMaterial(m))
	}
	writeJSON(w, http.StatusOK, out)
}

// material returns the request's {id} if it is the operator's, or ENOTFOUND.
func (s *Server) material(r *http.Request) (*dialroom.Material, error) {
	id := r.PathValue("id")
	if !validMaterialID(id) {
		return nil, dialroom.Errorf(dialroom.ENOTFOUND, "There is no such material.")
	}
	return s.cfg.Store.Material(r.Context(), operatorFrom(r.Context()).Login, id)
}

func (s *Server) handleGetMaterial(w http.ResponseWriter, r *http.Request) {
	m, err := s.material(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toJSONMaterial(m))
}

// handleDeleteMaterial removes the row first (from then on no request can
// reach the material), then stops its conversion if one is queued or
// running, then removes its page images.
func (s *Server) handleDeleteMaterial(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validMaterialID(id) {
		s.writeError(w, r, dialroom.Errorf(dialroom.ENOTFOUND, "There is no such material."))
		return
	}
	m, err := s.cfg.Store.DeleteMaterial(r.Context(), operatorFrom(r.Context()).Login, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.lib.cancelJob(m.ID)
	if m.Document != "" && s.lib.conv != nil {
		if err := s.lib.conv.Remove(m.Document); err != nil && dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
			s.log.Error("materials: removing pages", "material", m.ID, "err", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleMaterialImage serves page {n} (from 1) of a ready material, as the
// page image or its thumbnail (pathOf says which).
func (s *Server) handleMaterialImage(pathOf func(Converter, string, int) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, err := s.material(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 1 || n > m.Pages || m.State != dialroom.MaterialReady || s.lib.conv == nil {
			s.writeError(w, r, dialroom.Errorf(dialroom.ENOTFOUND, "There is no such page."))
			return
		}
		path, err := pathOf(s.lib.conv, m.Document, n)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		// The bytes behind a URL never change (ids are never reused), but
		// only this operator may see them: their browser may keep them a
		// while, shared caches never.
		if !s.servePageImage(w, r, path, "private, max-age=3600") {
			s.writeError(w, r, dialroom.Errorf(dialroom.ENOTFOUND, "There is no such page."))
		}
	}
}
