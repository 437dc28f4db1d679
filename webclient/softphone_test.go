package webclient

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
)

// fakeSoftphone stands in for the SIP side (a unit test of this package).
type fakeSoftphone struct{}

func (fakeSoftphone) Realm() string { return "dialroom" }
func (fakeSoftphone) Credentials(login, password string) dialroom.SIPCredentials {
	return dialroom.SIPCredentials{Realm: "dialroom", HA1MD5: "md5:" + login + ":" + password, HA1SHA256: "sha:" + login}
}
func (fakeSoftphone) Bindings(login string) []SoftphoneBinding {
	if login != "alice" {
		return nil
	}
	return []SoftphoneBinding{{Contact: "sip:alice@192.0.2.1:5070", Source: "192.0.2.1:5070", Transport: "UDP", Expires: time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)}}
}
func (fakeSoftphone) Servers() []string { return []string{"sip:203.0.113.7:5060;transport=udp"} }

// TestSoftphoneAPI: an operator sees their softphone setup, sets a
// softphone password with their console password (only the derived
// credentials are stored), cannot with a wrong console password or their
// console password as the softphone's, and removes it again.
func TestSoftphoneAPI(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Softphone = fakeSoftphone{} })
	h.operator("alice", "Alice")
	cookie := h.session("alice")

	var got softphoneResponse
	res := h.do(request{method: "GET", path: "/api/softphone", cookie: cookie})
	if res.status != http.StatusOK {
		t.Fatalf("GET: %d %s", res.status, res.body)
	}
	res.decode(t, &got)
	if got.User != "alice" || got.Realm != "dialroom" || got.PasswordSet || len(got.Registrations) != 1 || len(got.Servers) != 1 {
		t.Errorf("GET = %+v", got)
	}

	res = h.do(request{method: "PUT", path: "/api/softphone", cookie: cookie, body: map[string]string{"password": "softphone secret 1", "current_password": "wrong one"}})
	if res.status != http.StatusForbidden || res.apiError(t).Error.Code != dialroom.EDENIED {
		t.Errorf("a wrong console password: %d %s, want 403", res.status, res.body)
	}
	res = h.do(request{method: "PUT", path: "/api/softphone", cookie: cookie, body: map[string]string{"password": testPassword, "current_password": testPassword}})
	if res.status != http.StatusBadRequest {
		t.Errorf("the console password as the softphone's: %d %s, want 400", res.status, res.body)
	}
	res = h.do(request{method: "PUT", path: "/api/softphone", cookie: cookie, body: map[string]string{"password": "short", "current_password": testPassword}})
	if res.status != http.StatusBadRequest {
		t.Errorf("a short softphone password: %d %s, want 400", res.status, res.body)
	}
	res = h.do(request{method: "PUT", path: "/api/softphone", cookie: cookie, body: map[string]string{"password": "softphone secret 1", "current_password": testPassword}})
	if res.status != http.StatusOK {
		t.Fatalf("PUT: %d %s", res.status, res.body)
	}
	res.decode(t, &got)
	op, err := h.db.OperatorByLogin(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !got.PasswordSet || op.SIP.HA1MD5 != "md5:alice:softphone secret 1" || op.SIP.Realm != "dialroom" {
		t.Errorf("after PUT: response %+v, stored %+v", got, op.SIP)
	}

	res = h.do(request{method: "DELETE", path: "/api/softphone", cookie: cookie, body: map[string]string{"current_password": testPassword}})
	if res.status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", res.status, res.body)
	}
	if op, _ = h.db.OperatorByLogin(context.Background(), "alice"); op.SIP.Set() {
		t.Errorf("after DELETE the credentials stay: %+v", op.SIP)
	}
	if res := h.do(request{method: "GET", path: "/api/softphone"}); res.status != http.StatusUnauthorized {
		t.Errorf("without a session: %d", res.status)
	}
}

// TestSoftphoneAPIWithoutSIP: without a telephone side the API says so.
func TestSoftphoneAPIWithoutSIP(t *testing.T) {
	h := newHarness(t)
	h.operator("alice", "Alice")
	res := h.do(request{method: "GET", path: "/api/softphone", cookie: h.session("alice")})
	if res.status != http.StatusNotFound {
		t.Errorf("GET without SIP: %d %s, want 404 with a reason", res.status, res.body)
	}
}
