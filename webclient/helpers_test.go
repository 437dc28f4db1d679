package webclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/storage"
)

// waitTimeout guards every wait for a message: the tests wait on what the
// server sends and only fail after this long.
const waitTimeout = 10 * time.Second

// testRules is a deterministic NumberRules: 060 followed by a counter.
type testRules struct {
	next     atomic.Int64
	lifetime time.Duration
}

func (r *testRules) PerOperator() bool { return false }
func (r *testRules) NewStem(io.Reader) (string, error) {
	return "", errors.New("numbers are not per operator")
}
func (r *testRules) StemValid(string) bool   { return true }
func (r *testRules) Lifetime() time.Duration { return r.lifetime }
func (r *testRules) Generate(io.Reader, string) (string, error) {
	return fmt.Sprintf("060%08d", r.next.Add(1)), nil
}

// harness is a server assembled from the real pieces: a SQLite store in the
// test's temporary directory, a bridge engine, the webclient server behind
// httptest.
type harness struct {
	t      *testing.T
	db     *storage.DB
	engine *bridge.Engine
	rules  *testRules
	srv    *Server
	ts     *httptest.Server
}

// newHarness starts a server; configure may adjust its Config before New.
// Everything is closed at the end of the test.
func newHarness(t *testing.T, configure ...func(*Config)) *harness {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	db, err := storage.Open(filepath.Join(t.TempDir(), "dialroom.db"))
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	engine := bridge.NewEngine(bridge.Config{Logger: quiet})
	t.Cleanup(engine.Close)
	h := &harness{t: t, db: db, engine: engine, rules: &testRules{}}
	cfg := Config{Store: db, Engine: engine, Numbering: func() NumberRules { return h.rules }, Logger: quiet}
	for _, f := range configure {
		f(&cfg)
	}
	h.srv, err = New(cfg)
	if err != nil {
		t.Fatalf("webclient.New: %v", err)
	}
	h.ts = httptest.NewServer(h.srv.Handler())
	// Cleanups run last first: the server ends its sessions (closing their
	// sockets) before httptest waits for its handlers.
	t.Cleanup(h.ts.Close)
	t.Cleanup(func() {
		if err := h.srv.Close(); err != nil {
			t.Errorf("Server.Close: %v", err)
		}
	})
	return h
}

// passwordHashes caches argon2 hashes: each costs tens of milliseconds (far
// more under -race) and the tests use two passwords.
var passwordHashes sync.Map // password → hash

func hashFor(t *testing.T, password string) string {
	t.Helper()
	if h, ok := passwordHashes.Load(password); ok {
		return h.(string)
	}
	h, err := HashPassword(password)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	passwordHashes.Store(password, h)
	return h
}

const testPassword = "correct horse battery"

// operator creates an operator account with testPassword.
func (h *harness) operator(login, name string) *dialroom.Operator {
	h.t.Helper()
	op := &dialroom.Operator{Login: login, DisplayName: name, PasswordHash: hashFor(h.t, testPassword)}
	if err := h.db.CreateOperator(context.Background(), op); err != nil {
		h.t.Fatalf("CreateOperator: %v", err)
	}
	return op
}

// session stores a session for the operator, as a login would, and returns
// the cookie value (without spending an argon2 verification).
func (h *harness) session(login string) string {
	h.t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	now := time.Now()
	s := &dialroom.Session{TokenHash: hashToken(token), Operator: login, Created: now, Expires: now.Add(time.Hour)}
	if err := h.db.CreateSession(context.Background(), s); err != nil {
		h.t.Fatalf("CreateSession: %v", err)
	}
	return token
}

// issue issues a number to the operator through the server's own Issue.
func (h *harness) issue(op *dialroom.Operator) *dialroom.Number {
	h.t.Helper()
	n, err := h.srv.Issue(context.Background(), op)
	if err != nil {
		h.t.Fatalf("Issue: %v", err)
	}
	return n
}

// response is an HTTP answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// decode parses the JSON body into v, failing the test if it is not JSON.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON; body %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}

// apiError is the error body of docs/api.md.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (r response) apiError(t *testing.T) apiError {
	t.Helper()
	var e apiError
	r.decode(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body %s lacks a code or message", r.body)
	}
	return e
}

// request is one HTTP request to the test server.
type request struct {
	method, path string
	cookie       string // session token, if any
	body         any    // JSON-encoded if not nil; a string is sent as is
	origin       string
}

func (h *harness) do(req request) response {
	h.t.Helper()
	var body io.Reader
	switch b := req.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	r, err := http.NewRequest(req.method, h.ts.URL+req.path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.cookie != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: req.cookie})
	}
	if req.origin != "" {
		r.Header.Set("Origin", req.origin)
	}
	resp, err := h.ts.Client().Do(r)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("%s %s: reading body: %v", req.method, req.path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

// frame is one server → client message: its type, and the whole JSON.
type frame struct {
	Type string
	raw  []byte
}

func (f frame) String() string { return string(f.raw) }

// decode parses the frame into v (a struct following docs/protocol.md).
func (f frame) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(f.raw, v); err != nil {
		t.Fatalf("frame %s: %v", f.raw, err)
	}
}

// wsClient is a signalling client: a reader goroutine keeps every frame, so
// a test can both wait for the next one and look at everything received.
type wsClient struct {
	t    *testing.T
	name string
	conn *websocket.Conn

	frames chan frame    // not yet consumed by next
	done   chan struct{} // closed when the socket is closed
	err    error         // why reading ended; valid after done

	mu  sync.Mutex
	log []frame // every frame received
}

// dialWS opens a signalling socket; cookie and origin are optional. It returns
// the handshake response so refusals can be inspected.
func (h *harness) dialWS(name, cookie, origin string) (*wsClient, *http.Response, error) {
	h.t.Helper()
	header := http.Header{}
	if cookie != "" {
		header.Set("Cookie", (&http.Cookie{Name: sessionCookie, Value: cookie}).String())
	}
	if origin != "" {
		header.Set("Origin", origin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.ts.URL, "http")+"/ws",
		&websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	conn.SetReadLimit(1 << 20) // SDP offers can outgrow the library's 32 KiB default
	c := &wsClient{t: h.t, name: name, conn: conn, frames: make(chan frame, 1024), done: make(chan struct{})}
	go c.read()
	h.t.Cleanup(func() { conn.CloseNow() })
	return c, resp, nil
}

// connect opens a signalling socket and consumes the hello.
func (h *harness) connect(name, cookie string) *wsClient {
	h.t.Helper()
	c, _, err := h.dialWS(name, cookie, "")
	if err != nil {
		h.t.Fatalf("%s: dial: %v", name, err)
	}
	c.expect("hello")
	return c
}

func (c *wsClient) read() {
	defer close(c.done)
	for {
		typ, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		f := frame{raw: data}
		var head struct {
			Type string `json:"type"`
		}
		if typ != websocket.MessageText || json.Unmarshal(data, &head) != nil {
			f.Type = "!malformed"
		} else {
			f.Type = head.Type
		}
		c.mu.Lock()
		c.log = append(c.log, f)
		c.mu.Unlock()
		c.frames <- f
	}
}

// send writes one message as JSON.
func (c *wsClient) send(msg any) {
	c.t.Helper()
	data, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(websocket.MessageText, data)
}

func (c *wsClient) sendRaw(typ websocket.MessageType, data []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, typ, data); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// next returns the next frame, failing the test if none comes or the socket
// closes first.
func (c *wsClient) next() frame {
	c.t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		c.t.Fatalf("%s: socket closed (%v) while waiting for a message; received %v", c.name, c.err, c.received())
	case <-time.After(waitTimeout):
		c.t.Fatalf("%s: no message within %v; received %v", c.name, waitTimeout, c.received())
	}
	return frame{}
}

// mediaNoise are messages of media negotiation that may come between the
// ones a signalling test is about.
var mediaNoise = []string{"tracks", "offer", "candidate"}

// expect returns the next frame of type typ, skipping media negotiation
// messages of other types; any other message fails the test.
func (c *wsClient) expect(typ string) frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.Type == typ {
			return f
		}
		if slices.Contains(mediaNoise, f.Type) {
			continue
		}
		c.t.Fatalf("%s: got %s, want a %q message", c.name, f, typ)
	}
}

// expectError returns the next error message (skipping media negotiation).
func (c *wsClient) expectError() wsError {
	c.t.Helper()
	var e wsError
	c.expect("error").decode(c.t, &e)
	if e.Code == "" || e.Message == "" {
		c.t.Fatalf("%s: error message without code or message", c.name)
	}
	return e
}

// closed waits for the server to close the socket and returns the close
// status (-1 if the connection ended without a close frame).
func (c *wsClient) closed() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
		return websocket.CloseStatus(c.err)
	case <-time.After(waitTimeout):
		c.t.Fatalf("%s: socket still open after %v; received %v", c.name, waitTimeout, c.received())
		return 0
	}
}

// received returns the types of every frame received so far.
func (c *wsClient) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.log))
	for i, f := range c.log {
		out[i] = f.Type
	}
	return out
}

// all returns every frame received so far.
func (c *wsClient) all() []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

// Wire formats of docs/protocol.md, written from the document rather than
// taken from the server's own types, so a renamed field fails here.

type wsError struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after"`
}

type wsMember struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Address string `json:"address"`
	Muted   bool   `json:"muted"`
	Camera  bool   `json:"camera"`
}

type wsRequest struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Kind    string    `json:"kind"`
	Address string    `json:"address"`
	Since   time.Time `json:"since"`
}

type wsHosting struct {
	Number    string      `json:"number"`
	Formatted string      `json:"formatted"`
	Self      wsMember    `json:"self"`
	Members   []wsMember  `json:"members"`
	Lobby     []wsRequest `json:"lobby"`
}

type wsWaiting struct {
	Request  string `json:"request"`
	Operator struct {
		Name string `json:"name"`
	} `json:"operator"`
}

type wsAdmitted struct {
	Self     wsMember   `json:"self"`
	Operator *wsMember  `json:"operator"`
	Members  []wsMember `json:"members"`
}

type wsMessage struct {
	Message string `json:"message"`
}

// hostRoom connects the operator and opens the room of number n.
func (h *harness) hostRoom(name, cookie string, n *dialroom.Number) (*wsClient, wsHosting) {
	h.t.Helper()
	c := h.connect(name, cookie)
	c.send(map[string]any{"type": "host", "number": n.Digits})
	var hosting wsHosting
	c.expect("hosting").decode(h.t, &hosting)
	return c, hosting
}

// joinLobby connects a guest and asks to join n; it returns the request id
// the guest was told.
func (h *harness) joinLobby(name string, n *dialroom.Number) (*wsClient, string) {
	h.t.Helper()
	c := h.connect(name, "")
	c.send(map[string]any{"type": "join", "number": n.Formatted(), "name": name})
	var w wsWaiting
	c.expect("waiting").decode(h.t, &w)
	if w.Request == "" {
		h.t.Fatalf("%s: waiting without a request id", name)
	}
	return c, w.Request
}

// waitEngine polls the engine until cond holds; the engine has no events of
// its own to wait on from outside.
func (h *harness) waitEngine(what string, cond func(bridge.Stats) bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond(h.engine.Stats()) {
		if time.Now().After(deadline) {
			h.t.Fatalf("engine never reached %s: %+v", what, h.engine.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// admitGuest has a guest join n and the operator admit them; it returns
// the guest's socket, page token and member id.
func admitGuest(h *harness, op *wsClient, n *dialroom.Number, name string) (*wsClient, string, string) {
	h.t.Helper()
	g, req := h.joinLobby(name, n)
	op.expect("join_request")
	op.send(map[string]any{"type": "admit", "request": req})
	var a struct {
		Self      wsMember `json:"self"`
		PageToken string   `json:"page_token"`
	}
	g.expect("admitted").decode(h.t, &a)
	op.expect("request_gone")
	op.expect("member_joined")
	return g, a.PageToken, a.Self.ID
}
