package webclient

import (
	"net/http"
	"testing"
	"time"
)

func TestTrunksAPI(t *testing.T) {
	until := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	h := newHarness(t, func(c *Config) {
		c.Trunks = func() []TrunkStatus {
			return []TrunkStatus{
				{Name: "carrier", State: "registered", LastStatus: 200, RegisteredUntil: until},
				{Name: "backup", State: "failing", LastStatus: 403, LastReason: "Wrong Password"},
			}
		}
	})
	h.operator("alice", "Alice")
	if r := h.do(request{method: "GET", path: "/api/trunks"}); r.status != http.StatusUnauthorized {
		t.Errorf("without a session: %d, want 401", r.status)
	}
	r := h.do(request{method: "GET", path: "/api/trunks", cookie: h.session("alice")})
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	var body struct {
		Trunks []struct {
			Name            string     `json:"name"`
			State           string     `json:"state"`
			LastStatus      int        `json:"last_status"`
			LastReason      string     `json:"last_reason"`
			RegisteredUntil *time.Time `json:"registered_until"`
		} `json:"trunks"`
	}
	r.decode(t, &body)
	if len(body.Trunks) != 2 || body.Trunks[0].State != "registered" || body.Trunks[0].RegisteredUntil == nil ||
		!body.Trunks[0].RegisteredUntil.Equal(until) || body.Trunks[1].LastReason != "Wrong Password" ||
		body.Trunks[1].LastStatus != 403 || body.Trunks[1].RegisteredUntil != nil {
		t.Errorf("trunks %+v", body.Trunks)
	}
}
