package webclient

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// Store is what the browser side needs from storage.
type Store interface {
	dialroom.OperatorStore
	dialroom.NumberStore
	dialroom.SessionStore
	dialroom.CallRecordStore
	dialroom.CardStore     // operators' profile cards (card.go)
	dialroom.MaterialStore // operators' libraries (library.go)
}

// NumberRules forms issued numbers (the dialplan's numbering section). It is
// asked anew for every issue, so a reloaded dialplan applies at once.
type NumberRules interface {
	// PerOperator reports whether numbers keep fixed leading digits per operator.
	PerOperator() bool
	// NewStem makes an operator's fixed leading digits (per-operator mode).
	NewStem(r io.Reader) (string, error)
	// StemValid reports whether a stored stem still fits the rules.
	StemValid(stem string) bool
	// Generate returns 11 digits; stem is used in per-operator mode.
	Generate(r io.Reader, stem string) (string, error)
	// Lifetime is how long a number stays live; 0 means forever.
	Lifetime() time.Duration
}

// Config wires a Server. Store, Engine and Numbering are required.
type Config struct {
	Store     Store
	Engine    *bridge.Engine
	Numbering func() NumberRules
	WebRTC    WebRTCConfig
	// PublicURL is the base of join links ("https://meet.example.com"); empty
	// means derived from each request's Host.
	PublicURL string
	// AllowedOrigins are extra Origins (besides the request's own host) allowed
	// for the WebSocket and state-changing API calls.
	AllowedOrigins []string
	// TrustedProxies are reverse proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// SecureCookies marks the session cookie Secure (set when serving TLS).
	SecureCookies   bool
	SessionLifetime time.Duration     // default 12h: one working day
	JoinLimiter     *dialroom.Limiter // failed joins per address; default 5 per 10 min
	LoginLimiter    *dialroom.Limiter // failed logins per address; default 5 per 10 min
	Metrics         *Metrics          // nil: a private registry
	// Trunks reports the carrier trunks' registration state for the console;
	// nil means no telephone side.
	Trunks func() []TrunkStatus
	// Dial places the operators' calls to phones (dial.go); nil means no
	// telephone side: "Call a phone" is refused with a reason.
	Dial Dialer
	// Softphone lets operators set up their softphones (softphone.go); nil
	// means no telephone side.
	Softphone Softphone
	// Converter turns uploaded documents into page images (library.go);
	// nil means this server cannot convert: uploads are refused with a
	// reason, and the library lists what it has.
	Converter Converter
	// Materials bounds uploads and their conversion queue.
	Materials MaterialLimits
	Logger    *slog.Logger
	Now       func() time.Time
	Rand      io.Reader // randomness for numbers and tokens; default crypto/rand
}

// Server serves the UI, the API and the WebSocket signalling.
type Server struct {
	cfg     Config
	api     *peerAPI
	closeMu func() error
	log     *slog.Logger
	mux     *http.ServeMux

	lib   *library    // the operators' document libraries (library.go)
	pages *pageTokens // members' tokens for the shared material's pages (room_material.go)

	mu       sync.Mutex
	sessions map[*session]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// New creates a Server. Close releases it.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Engine == nil || cfg.Numbering == nil {
		return nil, errors.New("webclient: Store, Engine and Numbering are required")
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.JoinLimiter == nil {
		cfg.JoinLimiter = dialroom.NewLimiter(5, 10*time.Minute, cfg.Now)
	}
	if cfg.LoginLimiter == nil {
		cfg.LoginLimiter = dialroom.NewLimiter(5, 10*time.Minute, cfg.Now)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	api, closer, err := mediaAPI(cfg.WebRTC, cfg.Logger, cfg.Metrics.browserRTT)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, api: api, closeMu: closer, log: cfg.Logger, sessions: map[*session]struct{}{}}
	s.lib = newLibrary(cfg.Store, cfg.Converter, cfg.Materials, cfg.Logger, cfg.Rand)
	s.deleteRoomMaterials("") // files dropped into conferences a stopped server left (room_upload.go)
	s.pages = newPageTokens()
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /api/login", s.handleLogin)
	m.HandleFunc("POST /api/logout", s.handleLogout)
	m.HandleFunc("GET /api/me", s.requireOperator(s.handleMe))
	m.HandleFunc("POST /api/numbers", s.requireOperator(s.handleIssueNumber))
	m.HandleFunc("GET /api/numbers", s.requireOperator(s.handleListNumbers))
	m.HandleFunc("DELETE /api/numbers/{number}", s.requireOperator(s.handleRevokeNumber))
	m.HandleFunc("GET /api/calls", s.requireOperator(s.handleListCalls))
	m.HandleFunc("GET /api/trunks", s.requireOperator(s.handleTrunks))
	m.HandleFunc("GET /api/softphone", s.requireOperator(s.handleSoftphone))
	m.HandleFunc("PUT /api/softphone", s.requireOperator(s.handleSetSoftphonePassword))
	m.HandleFunc("DELETE /api/softphone", s.requireOperator(s.handleSetSoftphonePassword))
	m.HandleFunc("GET /api/card", s.requireOperator(s.handleGetCard))
	m.HandleFunc("PUT /api/card", s.requireOperator(s.handlePutCard))
	m.HandleFunc("DELETE /api/card", s.requireOperator(s.handleDeleteCard))
	s.libraryRoutes(m)
	s.roomUploadRoutes(m)
	m.HandleFunc("GET /api/room/materials/{id}/pages/{n}", s.handleRoomPage) // room_material.go
	m.HandleFunc("GET /api/health", s.handleHealth)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, dialroom.Errorf(dialroom.ENOTFOUND, "No such API endpoint: %s %s.", r.Method, r.URL.Path))
	})
	m.HandleFunc("GET /ws", s.handleWebSocket)
	m.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Metrics.Gatherer(), promhttp.HandlerOpts{}))
	s.staticRoutes(m)
	s.mux = m
}

// Handler returns the HTTP handler: security headers, then the routes.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// A strict CSP: the UI has no inline script or style, so nothing injected
		// into a page can run. ws: and wss: are allowed for the signalling socket.
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; media-src 'self' blob:; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if s.cfg.SecureCookies {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !s.originAllowed(r) {
			s.writeError(w, r, dialroom.Errorf(dialroom.EDENIED, "Cross-site requests are not allowed."))
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

// originAllowed reports whether the request's Origin (if any) is this server or
// one of AllowedOrigins. Requests without Origin (curl, scripts) are allowed:
// browsers always send it on cross-site POSTs and WebSocket handshakes.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

// Close ends every WebSocket session (their members leave the rooms) and
// releases the WebRTC sockets. The HTTP server itself is the caller's. Close the
// bridge engine first, so members hear why their conference ended.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.post(sess.shutdown)
	}
	s.wg.Wait()
	s.lib.close() // conversions end; their rows say so
	return s.closeMu()
}

var errServerClosing = dialroom.Errorf(dialroom.EGONE, "The server is shutting down.")

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.cfg.Store.CountOperators(ctx); err != nil {
		s.log.Error("health check", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// httpStatus maps a domain error code to an HTTP status, once for the package.
func httpStatus(code string) int {
	switch code {
	case dialroom.EINVALID:
		return http.StatusBadRequest
	case dialroom.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case dialroom.EDENIED:
		return http.StatusForbidden
	case dialroom.ENOTFOUND:
		return http.StatusNotFound
	case dialroom.ECONFLICT:
		return http.StatusConflict
	case dialroom.EGONE:
		return http.StatusGone
	case dialroom.ETHROTTLED:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := dialroom.ErrorCode(err)
	if code == dialroom.EINTERNAL {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if ra, ok := dialroom.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(ra.Round(time.Second)/time.Second))))
	}
	writeJSON(w, httpStatus(code), map[string]any{"error": map[string]string{"code": code, "message": dialroom.ErrorMessage(err)}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads a small JSON request body (at most 64 KiB) into v.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(v); err != nil {
		return dialroom.Errorf(dialroom.EINVALID, "The request body is not valid JSON: %v", err)
	}
	return nil
}

// clientIP returns the address a request came from: the TCP peer, or, when
// that peer is a trusted reverse proxy, the last address in X-Forwarded-For
// that is not itself a trusted proxy (walking from the right, because only
// the entries our proxies appended can be believed; a client can put
// anything at the left).
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !s.trusted(host) {
		return host
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, part := range strings.Split(h, ",") {
			hops = append(hops, strings.TrimSpace(part))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			return host // a malformed header: keep the proxy's own address
		}
		if !s.trusted(a.String()) {
			return a.Unmap().String()
		}
	}
	return host
}

// trusted reports whether addr is one of the configured reverse proxies.
func (s *Server) trusted(addr string) bool {
	if len(s.cfg.TrustedProxies) == 0 {
		return false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
