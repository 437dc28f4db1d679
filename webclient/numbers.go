package webclient

import (
	"context"
	"net/http"
	"time"

	"github.com/dialroom/dialroom"
)

type numberResponse struct {
	Number    string     `json:"number"`
	Formatted string     `json:"formatted"`
	State     string     `json:"state"`
	IssuedAt  time.Time  `json:"issued_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	JoinURL   string     `json:"join_url"`
	LiveRoom  bool       `json:"live_room"`
}

func (s *Server) numberJSON(r *http.Request, n *dialroom.Number) numberResponse {
	out := numberResponse{Number: n.Digits, Formatted: n.Formatted(), State: n.State(s.cfg.Now()),
		IssuedAt: n.IssuedAt.UTC(), JoinURL: s.baseURL(r) + "/join?n=" + n.Digits,
		LiveRoom: s.cfg.Engine.Lookup(n.Digits) != nil}
	if !n.ExpiresAt.IsZero() {
		t := n.ExpiresAt.UTC()
		out.ExpiresAt = &t
	}
	return out
}

// baseURL is PublicURL, or the scheme and host the request came in on.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// maxIssueAttempts bounds retries when random digits hit a live number. With 8
// random digits a clash is rare; in per-operator mode (4 random digits, 10,000
// numbers per operator) it can happen, and 50 tries make a failure mean the
// operator's space is nearly full, not bad luck.
const maxIssueAttempts = 50

// Issue issues a new number to the operator under the current numbering rules
// and stores it (patent claim 1: stored against the operator's login ID).
func (s *Server) Issue(ctx context.Context, op *dialroom.Operator) (*dialroom.Number, error) {
	rules := s.cfg.Numbering()
	stem := ""
	if rules.PerOperator() {
		if !rules.StemValid(op.FixedStem) {
			st, err := rules.NewStem(s.cfg.Rand)
			if err != nil {
				return nil, err
			}
			op.FixedStem = st
			if err := s.cfg.Store.UpdateOperator(ctx, op); err != nil {
				return nil, err
			}
		}
		stem = op.FixedStem
	}
	now := s.cfg.Now().UTC()
	for range maxIssueAttempts {
		digits, err := rules.Generate(s.cfg.Rand, stem)
		if err != nil {
			return nil, err
		}
		n := &dialroom.Number{Digits: digits, Operator: op.Login, IssuedAt: now}
		if lt := rules.Lifetime(); lt > 0 {
			n.ExpiresAt = now.Add(lt)
		}
		err = s.cfg.Store.CreateNumber(ctx, n)
		if err == nil {
			s.log.Info("number issued", "operator", op.Login, "number", n.Formatted())
			return n, nil
		}
		if dialroom.ErrorCode(err) != dialroom.ECONFLICT {
			return nil, err
		}
	}
	return nil, dialroom.Errorf(dialroom.ECONFLICT, "No free number could be found. Revoke numbers you no longer need, or ask the admin to widen the numbering rules.")
}

func (s *Server) handleIssueNumber(w http.ResponseWriter, r *http.Request) {
	n, err := s.Issue(r.Context(), operatorFrom(r.Context()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.numberJSON(r, n))
}

func (s *Server) handleListNumbers(w http.ResponseWriter, r *http.Request) {
	ns, err := s.cfg.Store.ListNumbers(r.Context(), operatorFrom(r.Context()).Login)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]numberResponse, 0, len(ns))
	for _, n := range ns {
		out = append(out, s.numberJSON(r, n))
	}
	writeJSON(w, http.StatusOK, map[string]any{"numbers": out})
}

func (s *Server) handleRevokeNumber(w http.ResponseWriter, r *http.Request) {
	op := operatorFrom(r.Context())
	digits, err := dialroom.NormalizeNumber(r.PathValue("number"))
	if err != nil {
		s.writeError(w, r, dialroom.Errorf(dialroom.ENOTFOUND, "You have no live number %s.", r.PathValue("number")))
		return
	}
	if err := s.cfg.Store.RevokeNumber(r.Context(), op.Login, digits, s.cfg.Now().UTC()); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.cfg.Engine.EndRoom(digits, "The operator closed this number.")
	s.log.Info("number revoked", "operator", op.Login, "number", dialroom.FormatNumber(digits))
	w.WriteHeader(http.StatusNoContent)
}
