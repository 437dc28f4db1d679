package webclient

import (
	"net/http"
	"strconv"
	"time"

	"github.com/dialroom/dialroom"
)

type callResponse struct {
	Number   string     `json:"number"`
	Kind     string     `json:"kind"`
	Role     string     `json:"role"`
	Party    string     `json:"party"`
	Outcome  string     `json:"outcome"`
	Reason   string     `json:"reason"`
	Rule     string     `json:"rule,omitempty"`
	Started  time.Time  `json:"started"`
	Admitted *time.Time `json:"admitted,omitempty"`
	Ended    time.Time  `json:"ended"`
	Seconds  float64    `json:"seconds"`
}

// maxCallRecords bounds one listing; the console shows the recent history.
const maxCallRecords = 500

// handleListCalls lists the operator's call records, newest first: who
// (masked) came to which number, how it ended, and for how long.
func (s *Server) handleListCalls(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxCallRecords {
			s.writeError(w, r, dialroom.Errorf(dialroom.EINVALID, "limit is a number from 1 to %d.", maxCallRecords))
			return
		}
		limit = n
	}
	recs, err := s.cfg.Store.ListCallRecords(r.Context(), operatorFrom(r.Context()).Login, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]callResponse, 0, len(recs))
	for _, c := range recs {
		cr := callResponse{Number: c.Number, Kind: c.Kind, Role: c.Role, Party: c.Party, Outcome: c.Outcome,
			Reason: c.Reason, Rule: c.Rule, Started: c.Started.UTC(), Ended: c.Ended.UTC(),
			Seconds: c.Ended.Sub(c.Started).Round(time.Second).Seconds()}
		if !c.Admitted.IsZero() {
			a := c.Admitted.UTC()
			cr.Admitted = &a
		}
		out = append(out, cr)
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": out})
}
