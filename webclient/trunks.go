package webclient

import (
	"net/http"
	"time"
)

// TrunkStatus is one carrier trunk's registration state as the console shows
// it (the sip side owns the state; Config.Trunks reads it).
type TrunkStatus struct {
	Name            string
	State           string // "registered", "registering", "failing" or "disabled"
	LastStatus      int    // SIP status of the last answer, 0 if none
	LastReason      string // the carrier's reason phrase or our explanation
	RegisteredUntil time.Time
}

type trunkResponse struct {
	Name            string     `json:"name"`
	State           string     `json:"state"`
	LastStatus      int        `json:"last_status,omitempty"`
	LastReason      string     `json:"last_reason,omitempty"`
	RegisteredUntil *time.Time `json:"registered_until,omitempty"`
}

// handleTrunks lists the trunks and whether each is registered, so an
// operator can tell at a glance whether phones can reach them.
func (s *Server) handleTrunks(w http.ResponseWriter, r *http.Request) {
	out := []trunkResponse{}
	if s.cfg.Trunks != nil {
		for _, t := range s.cfg.Trunks() {
			tr := trunkResponse{Name: t.Name, State: t.State, LastStatus: t.LastStatus, LastReason: t.LastReason}
			if !t.RegisteredUntil.IsZero() {
				u := t.RegisteredUntil.UTC()
				tr.RegisteredUntil = &u
			}
			out = append(out, tr)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"trunks": out})
}
