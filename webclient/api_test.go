package webclient

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
)

func TestLogin(t *testing.T) {
	h := newHarness(t)
	h.operator("alice", "Alice Operator")

	ok := h.do(request{method: "POST", path: "/api/login", body: map[string]string{"login": "alice", "password": testPassword}})
	if ok.status != http.StatusOK {
		t.Fatalf("login: %d %s", ok.status, ok.body)
	}
	var me struct{ Login, Name string }
	ok.decode(t, &me)
	if me.Login != "alice" || me.Name != "Alice Operator" {
		t.Errorf("login answer = %+v", me)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: ok.header}).Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || cookie.Value == "" || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/", cookie)
	}

	me = struct{ Login, Name string }{}
	r := h.do(request{method: "GET", path: "/api/me", cookie: cookie.Value})
	if r.status != http.StatusOK {
		t.Fatalf("/api/me: %d %s", r.status, r.body)
	}
	r.decode(t, &me)
	if me.Login != "alice" || me.Name != "Alice Operator" {
		t.Errorf("/api/me = %+v", me)
	}

	// Wrong password and unknown login: one answer, byte for byte.
	wrong := h.do(request{method: "POST", path: "/api/login", body: map[string]string{"login": "alice", "password": "not the password"}})
	unknown := h.do(request{method: "POST", path: "/api/login", body: map[string]string{"login": "mallory", "password": "not the password"}})
	for name, r := range map[string]response{"wrong password": wrong, "unknown login": unknown} {
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, r.status)
		}
		if e := r.apiError(t); e.Error.Code != dialroom.EUNAUTHORIZED {
			t.Errorf("%s: code %q", name, e.Error.Code)
		}
		if len(r.header.Values("Set-Cookie")) != 0 {
			t.Errorf("%s: a cookie was set", name)
		}
	}
	if !bytes.Equal(wrong.body, unknown.body) {
		t.Errorf("wrong password and unknown login answer differently:\n%s\n%s", wrong.body, unknown.body)
	}

	for name, body := range map[string]any{"not JSON": "{", "empty password": map[string]string{"login": "alice"}} {
		if r := h.do(request{method: "POST", path: "/api/login", body: body}); r.status != http.StatusBadRequest || r.apiError(t).Error.Code != dialroom.EINVALID {
			t.Errorf("%s: %d %s, want 400 invalid", name, r.status, r.body)
		}
	}

	// Without a session, or with a made-up one, nothing but 401.
	for name, c := range map[string]string{"no cookie": "", "unknown token": "bm90IGEgdG9rZW4"} {
		if r := h.do(request{method: "GET", path: "/api/me", cookie: c}); r.status != http.StatusUnauthorized || r.apiError(t).Error.Code != dialroom.EUNAUTHORIZED {
			t.Errorf("/api/me with %s: %d %s, want 401", name, r.status, r.body)
		}
	}

	// Logout ends the session for good.
	if r := h.do(request{method: "POST", path: "/api/logout", cookie: cookie.Value}); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if r := h.do(request{method: "GET", path: "/api/me", cookie: cookie.Value}); r.status != http.StatusUnauthorized {
		t.Errorf("/api/me after logout: %d, want 401", r.status)
	}
}

func TestLoginThrottle(t *testing.T) {
	h := newHarness(t)
	h.operator("alice", "Alice")
	bad := map[string]string{"login": "alice", "password": "guess guess guess"}
	for i := range 5 {
		if r := h.do(request{method: "POST", path: "/api/login", body: bad}); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s, want 401", i+1, r.status, r.body)
		}
	}
	// Locked out now, even with the right password.
	for _, pw := range []string{"guess guess guess", testPassword} {
		r := h.do(request{method: "POST", path: "/api/login", body: map[string]string{"login": "alice", "password": pw}})
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("after 5 failures: %d %s, want 429", r.status, r.body)
		}
		if e := r.apiError(t); e.Error.Code != dialroom.ETHROTTLED {
			t.Errorf("code %q, want %q", e.Error.Code, dialroom.ETHROTTLED)
		}
		secs, err := strconv.Atoi(r.header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 600 {
			t.Errorf("Retry-After = %q, want 1..600 seconds", r.header.Get("Retry-After"))
		}
	}
}

// numberJSON is the number object of docs/api.md.
type numberJSON struct {
	Number    string     `json:"number"`
	Formatted string     `json:"formatted"`
	State     string     `json:"state"`
	IssuedAt  time.Time  `json:"issued_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	JoinURL   string     `json:"join_url"`
	LiveRoom  bool       `json:"live_room"`
}

func TestNumbersAPI(t *testing.T) {
	h := newHarness(t)
	h.operator("alice", "Alice")
	bob := h.operator("bob", "Bob")
	cookie := h.session("alice")

	var issued []numberJSON
	for range 2 {
		r := h.do(request{method: "POST", path: "/api/numbers", cookie: cookie})
		if r.status != http.StatusCreated {
			t.Fatalf("POST /api/numbers: %d %s", r.status, r.body)
		}
		var n numberJSON
		r.decode(t, &n)
		issued = append(issued, n)
	}
	n := issued[0]
	if !regexp.MustCompile(`^0[1-9]0\d{8}$`).MatchString(n.Number) {
		t.Errorf("number %q is not 11 digits like 0X0XXXXXXXX", n.Number)
	}
	if want := n.Number[:3] + "-" + n.Number[3:7] + "-" + n.Number[7:]; n.Formatted != want {
		t.Errorf("formatted = %q, want %q", n.Formatted, want)
	}
	if want := h.ts.URL + "/join?n=" + n.Number; n.JoinURL != want {
		t.Errorf("join_url = %q, want %q", n.JoinURL, want)
	}
	if n.State != "active" || n.ExpiresAt != nil || n.LiveRoom || n.IssuedAt.IsZero() {
		t.Errorf("new number = %+v", n)
	}
	if stored, err := h.db.LiveNumber(t.Context(), n.Number, time.Now()); err != nil || stored.Operator != "alice" {
		t.Errorf("stored number = %+v, %v; want it stored against alice", stored, err)
	}

	list := func(cookie string) []numberJSON {
		t.Helper()
		r := h.do(request{method: "GET", path: "/api/numbers", cookie: cookie})
		if r.status != http.StatusOK {
			t.Fatalf("GET /api/numbers: %d %s", r.status, r.body)
		}
		var out struct {
			Numbers []numberJSON `json:"numbers"`
		}
		r.decode(t, &out)
		return out.Numbers
	}
	got := list(cookie)
	if len(got) != 2 || got[0].Number != issued[1].Number || got[1].Number != issued[0].Number {
		t.Fatalf("list = %+v, want the two numbers, newest first", got)
	}
	if other := list(h.session("bob")); len(other) != 0 {
		t.Errorf("bob sees alice's numbers: %+v", other)
	}

	// Another operator cannot revoke it, and cannot tell it exists.
	bobsNumber := h.issue(bob)
	if r := h.do(request{method: "DELETE", path: "/api/numbers/" + n.Number, cookie: h.session("bob")}); r.status != http.StatusNotFound {
		t.Errorf("bob revoking alice's number: %d %s, want 404", r.status, r.body)
	}
	if r := h.do(request{method: "DELETE", path: "/api/numbers/" + bobsNumber.Digits, cookie: cookie}); r.status != http.StatusNotFound {
		t.Errorf("alice revoking bob's number: %d %s, want 404", r.status, r.body)
	}

	if r := h.do(request{method: "DELETE", path: "/api/numbers/" + n.Formatted, cookie: cookie}); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s, want 204", r.status, r.body)
	}
	r := h.do(request{method: "DELETE", path: "/api/numbers/" + n.Number, cookie: cookie})
	if r.status != http.StatusNotFound || r.apiError(t).Error.Code != dialroom.ENOTFOUND {
		t.Errorf("second DELETE: %d %s, want 404 not_found", r.status, r.body)
	}
	if r := h.do(request{method: "DELETE", path: "/api/numbers/not-a-number", cookie: cookie}); r.status != http.StatusNotFound {
		t.Errorf("DELETE of garbage: %d %s, want 404", r.status, r.body)
	}
	got = list(cookie)
	if len(got) != 2 || got[1].Number != n.Number || got[1].State != "revoked" || got[0].State != "active" {
		t.Errorf("list after revoking = %+v", got)
	}
	if _, err := h.db.LiveNumber(t.Context(), n.Number, time.Now()); dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		t.Errorf("revoked number is still live: %v", err)
	}

	for _, req := range []request{
		{method: "POST", path: "/api/numbers"},
		{method: "GET", path: "/api/numbers"},
		{method: "DELETE", path: "/api/numbers/" + issued[1].Number},
	} {
		if r := h.do(req); r.status != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %d, want 401", req.method, req.path, r.status)
		}
	}
}

func TestNumberLifetime(t *testing.T) {
	h := newHarness(t)
	h.rules.lifetime = 24 * time.Hour
	h.operator("alice", "Alice")
	r := h.do(request{method: "POST", path: "/api/numbers", cookie: h.session("alice"), body: map[string]any{}})
	if r.status != http.StatusCreated {
		t.Fatalf("POST /api/numbers: %d %s", r.status, r.body)
	}
	var n numberJSON
	r.decode(t, &n)
	if n.ExpiresAt == nil || n.ExpiresAt.Sub(n.IssuedAt) != 24*time.Hour {
		t.Errorf("expires_at = %v, issued_at %v; want a day later", n.ExpiresAt, n.IssuedAt)
	}
}

func TestCrossSiteOrigin(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.AllowedOrigins = []string{"https://console.example.com/"} })
	h.operator("alice", "Alice")
	cookie := h.session("alice")

	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"https://evil.example", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{h.ts.URL, http.StatusCreated},
		{"https://console.example.com", http.StatusCreated},
		{"", http.StatusCreated}, // scripts send no Origin; browsers always do cross-site
	} {
		t.Run(tc.origin, func(t *testing.T) {
			r := h.do(request{method: "POST", path: "/api/numbers", cookie: cookie, origin: tc.origin})
			if r.status != tc.want {
				t.Fatalf("POST with Origin %q: %d %s, want %d", tc.origin, r.status, r.body, tc.want)
			}
			if tc.want == http.StatusForbidden && r.apiError(t).Error.Code != dialroom.EDENIED {
				t.Errorf("code = %s", r.body)
			}
		})
	}
	// A cross-site login or logout is refused too.
	if r := h.do(request{method: "POST", path: "/api/login", origin: "https://evil.example",
		body: map[string]string{"login": "alice", "password": testPassword}}); r.status != http.StatusForbidden {
		t.Errorf("cross-site login: %d, want 403", r.status)
	}
	// A cross-site GET is harmless and allowed.
	if r := h.do(request{method: "GET", path: "/api/me", cookie: cookie, origin: "https://evil.example"}); r.status != http.StatusOK {
		t.Errorf("cross-site GET: %d, want 200", r.status)
	}
}

func TestUnknownAPIPath(t *testing.T) {
	h := newHarness(t)
	for _, req := range []request{
		{method: "GET", path: "/api/nope"},
		{method: "POST", path: "/api/numbers/06012345678/extend"},
		{method: "GET", path: "/api/"},
	} {
		r := h.do(req)
		if r.status != http.StatusNotFound || r.apiError(t).Error.Code != dialroom.ENOTFOUND {
			t.Errorf("%s %s: %d %s, want 404 not_found JSON", req.method, req.path, r.status, r.body)
		}
	}
}

func TestHealthAndHeaders(t *testing.T) {
	h := newHarness(t)
	r := h.do(request{method: "GET", path: "/api/health"})
	var st struct{ Status string }
	r.decode(t, &st)
	if r.status != http.StatusOK || st.Status != "ok" {
		t.Errorf("health: %d %s", r.status, r.body)
	}
	if csp := r.header.Get("Content-Security-Policy"); csp == "" || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers missing: %v", r.header)
	}
	if r := h.do(request{method: "GET", path: "/join?n=06012345678"}); r.status != http.StatusOK {
		t.Errorf("join page: %d", r.status)
	}
}
