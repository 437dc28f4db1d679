package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// apiClient is an operator's HTTP client with a cookie jar.
type apiClient struct {
	t    testing.TB
	base string
	http *http.Client
}

func newAPIClient(t testing.TB, base string) *apiClient {
	jar, _ := cookiejar.New(nil)
	return &apiClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// do sends a JSON request and decodes the JSON answer into out (if non-nil),
// returning the status.
func (c *apiClient) do(method, path string, body, out any) int {
	c.t.Helper()
	var rd bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = *bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, &rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			c.t.Fatalf("%s %s: decoding: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func (c *apiClient) login(login, password string) {
	c.t.Helper()
	if st := c.do("POST", "/api/login", map[string]string{"login": login, "password": password}, nil); st != http.StatusOK {
		c.t.Fatalf("login %s: status %d", login, st)
	}
}

type numberJSON struct {
	Number    string `json:"number"`
	Formatted string `json:"formatted"`
	State     string `json:"state"`
	JoinURL   string `json:"join_url"`
}

func (c *apiClient) issue() numberJSON {
	c.t.Helper()
	var n numberJSON
	if st := c.do("POST", "/api/numbers", nil, &n); st != http.StatusCreated {
		c.t.Fatalf("issue: status %d", st)
	}
	return n
}

// wsClient is a signalling client without media, enough for lobby and
// membership flows.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
}

func dialWS(t testing.TB, base string, jar http.CookieJar) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {base}}}
	if jar != nil {
		opts.HTTPClient = &http.Client{Jar: jar}
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws", opts)
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

func (w *wsClient) send(msg map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(msg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.conn.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("send %v: %v", msg, err)
	}
}

// await reads messages until one of type typ arrives and returns it.
func (w *wsClient) await(typ string) map[string]any {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, b, err := w.conn.Read(ctx)
		if err != nil {
			w.t.Fatalf("waiting for %q: %v", typ, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			w.t.Fatalf("bad JSON %s", b)
		}
		if m["type"] == typ {
			return m
		}
	}
}

// TestRestartKeepsOperatorsAndNumbers: a restart keeps operators, sessions and
// live numbers; a conference in progress ends cleanly with a message to everyone.
func TestRestartKeepsOperatorsAndNumbers(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, nil)
	password := srv.AdminPassword
	api := newAPIClient(t, srv.URL())
	api.login("admin", password)
	n := api.issue()

	op := dialWS(t, srv.URL(), api.http.Jar)
	op.await("hello")
	op.send(map[string]any{"type": "host", "number": n.Number})
	op.await("hosting")
	guest := dialWS(t, srv.URL(), nil)
	guest.await("hello")
	guest.send(map[string]any{"type": "join", "number": n.Formatted, "name": "Restart Guest"})
	guest.await("waiting")
	req := op.await("join_request")["request"].(map[string]any)
	op.send(map[string]any{"type": "admit", "request": req["id"]})
	guest.await("admitted")

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for who, c := range map[string]*wsClient{"operator": op, "guest": guest} {
		if msg := c.await("ended"); !strings.Contains(msg["message"].(string), "shutting down") {
			t.Errorf("%s was told %q on shutdown", who, msg["message"])
		}
	}

	again := startServer(t, dir, nil)
	if again.AdminPassword != "" {
		t.Errorf("second start created another admin: %s", again.stdout)
	}
	api2 := newAPIClient(t, again.URL())
	api2.login("admin", password)
	var list struct {
		Numbers []numberJSON `json:"numbers"`
	}
	api2.do("GET", "/api/numbers", nil, &list)
	if len(list.Numbers) != 1 || list.Numbers[0].Number != n.Number || list.Numbers[0].State != "active" {
		t.Fatalf("numbers after restart: %+v, want %s active", list.Numbers, n.Number)
	}
	// The conference that the shutdown ended left call records: the guest's
	// address masked, nothing of their name.
	var calls struct {
		Calls []struct {
			Role, Kind, Party, Outcome, Reason string
		} `json:"calls"`
	}
	if st := api2.do("GET", "/api/calls", nil, &calls); st != http.StatusOK {
		t.Fatalf("GET /api/calls: %d", st)
	}
	var guestRecord bool
	for _, c := range calls.Calls {
		if c.Role == "guest" {
			guestRecord = true
			if c.Party != "127.0.0.x" || c.Outcome != "admitted" || c.Reason != "ended" || c.Kind != "browser" {
				t.Errorf("guest call record %+v, want party 127.0.0.x, admitted, ended, browser", c)
			}
		}
		if strings.Contains(c.Party, "Restart Guest") {
			t.Errorf("a call record keeps the guest's name: %+v", c)
		}
	}
	if !guestRecord || len(calls.Calls) != 2 {
		t.Errorf("call records after the shutdown: %+v, want the operator's and the guest's", calls.Calls)
	}

	g2 := dialWS(t, again.URL(), nil)
	g2.await("hello")
	g2.send(map[string]any{"type": "join", "number": n.Number})
	g2.await("waiting")
}

// TestOperatorCommands drives `dialroom operator …` against the database serve uses.
func TestOperatorCommands(t *testing.T) {
	dir := t.TempDir()
	runCmd := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(args, strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}
	if code, _, errs := runCmd("short\n", "operator", "add", "bob", "--data", dir); code != 1 || !strings.Contains(errs, "at least 10") {
		t.Errorf("short password: exit %d, %q", code, errs)
	}
	if code, out, errs := runCmd("a good long password\n", "operator", "add", "bob", "--name", "Bob Smith", "--data", dir); code != 0 {
		t.Fatalf("add: exit %d %s %s", code, out, errs)
	}
	if code, _, errs := runCmd("a good long password\n", "operator", "add", "bob", "--data", dir); code != 1 || !strings.Contains(errs, "exists") && !strings.Contains(errs, "conflict") {
		t.Errorf("duplicate add: exit %d, %q", code, errs)
	}
	if code, out, _ := runCmd("", "operator", "list", "--data", dir); code != 0 || !strings.Contains(out, "bob") || !strings.Contains(out, "Bob Smith") {
		t.Errorf("list: exit %d, %q", code, out)
	}
	if code, _, _ := runCmd("another long password\n", "operator", "passwd", "bob", "--data", dir); code != 0 {
		t.Errorf("passwd: exit %d", code)
	}
	if code, out, errs := runCmd("softphone password 1\n", "operator", "sip-password", "bob", "--data", dir); code != 0 || !strings.Contains(out, `register as "bob" in realm "dialroom"`) {
		t.Errorf("sip-password: exit %d, %q %q", code, out, errs)
	}
	if code, out, _ := runCmd("", "operator", "list", "--data", dir); code != 0 || !strings.Contains(out, "realm dialroom") {
		t.Errorf("list after sip-password: exit %d, %q", code, out)
	}
	if code, out, _ := runCmd("", "operator", "sip-password", "bob", "--clear", "--data", dir); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("sip-password --clear: exit %d, %q", code, out)
	}
	if code, out, _ := runCmd("", "operator", "list", "--data", dir); code != 0 || strings.Contains(out, "realm dialroom") {
		t.Errorf("list after --clear still shows a softphone: %q", out)
	}
	// The server on the same data directory accepts the new password.
	srv := startServer(t, dir, nil)
	newAPIClient(t, srv.URL()).login("bob", "another long password")
	srv.Close()
	if code, _, _ := runCmd("", "operator", "remove", "bob", "--data", dir); code != 0 {
		t.Errorf("remove: exit %d", code)
	}
	if code, _, _ := runCmd("", "operator", "frobnicate", "--data", dir); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}
	if code, _, _ := runCmd("", "serve", "--help"); code != 0 {
		t.Errorf("serve --help: exit %d, want 0", code)
	}
	if code, _, _ := runCmd("", "bogus"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}
