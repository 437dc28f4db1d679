package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/sip"
	"github.com/dialroom/dialroom/storage"
	"github.com/dialroom/dialroom/webclient"
)

// Main is a running dialroom server: the wiring of every package. End-to-end
// tests create one with NewMain, set fields (port 0 addresses, a temporary data
// directory), call Run, and Close it.
type Main struct {
	ConfigPath string // "" means the embedded default
	DataDir    string // overrides the config's data_dir when set
	HTTPAddr   string // overrides the config's http.listen when set
	SIPAddr    string // overrides the config's sip.udp and sip.tcp when set
	Stdout     io.Writer
	Stderr     io.Writer
	// Configure, if set, may adjust the loaded configuration before use (tests).
	Configure func(*configs.Config)

	Config *configs.Config
	DB     *storage.DB
	Engine *bridge.Engine
	Web    *webclient.Server
	SIP    *sip.Server // nil when SIP is off
	Logger *slog.Logger

	plan        atomic.Pointer[dialplan.Plan]
	reloader    dialplanReloader // reload.go
	metrics     *webclient.Metrics
	listener    net.Listener
	httpSrv     *http.Server
	redirectSrv *http.Server
	// redirectAddr is where the plain-HTTP redirect listener listens, if any.
	redirectAddr string
	tls          bool
	tlsConf      *tls.Config // the HTTPS certificate, also SIP over TLS's; nil without TLS
	records      chan dialroom.CallRecord
	wg           sync.WaitGroup
	closing      sync.Once
}

// NewMain returns a Main writing to the process's standard streams.
func NewMain() *Main { return &Main{Stdout: os.Stdout, Stderr: os.Stderr} }

// Run loads the configuration and dialplan, opens the database, creates the first
// operator if there is none, and starts serving. It returns once the server
// listens (URL is then valid) or with the first error; Close stops everything.
func (m *Main) Run(ctx context.Context) error {
	cfg, err := loadConfig(m.ConfigPath)
	if err != nil {
		return err
	}
	if m.DataDir != "" {
		cfg.DataDir = m.DataDir
	}
	if m.HTTPAddr != "" {
		cfg.HTTP.Listen = m.HTTPAddr
	}
	if m.SIPAddr != "" {
		cfg.SIP.UDP, cfg.SIP.TCP = []string{m.SIPAddr}, []string{m.SIPAddr}
	}
	if m.Configure != nil {
		m.Configure(cfg)
	}
	m.Config = cfg
	m.Logger = newLogger(cfg.Log, m.Stderr)
	if cfg.Nice != 0 {
		if err := setNice(cfg.Nice); err != nil {
			m.Logger.Warn("running at the normal scheduling priority", "err", err)
		} else {
			m.Logger.Info("scheduling priority", "nice", cfg.Nice)
		}
	}

	plan, err := loadDialplanFile(cfg.Dialplan)
	if err != nil {
		return err
	}
	for _, w := range plan.Warnings {
		m.Logger.Warn("dialplan", "warning", w)
	}
	m.plan.Store(plan)

	m.DB, err = storage.Open(filepath.Join(cfg.DataDir, "dialroom.db"))
	if err != nil {
		return err
	}
	if err := m.bootstrapOperator(ctx); err != nil {
		return err
	}

	metrics := webclient.NewMetrics(prometheus.NewRegistry())
	m.metrics = metrics
	m.watchDialplan()
	m.records = make(chan dialroom.CallRecord, 1024)
	m.wg.Add(1)
	go m.writeRecords()
	m.Engine = bridge.NewEngine(bridge.Config{
		LobbyTimeout: cfg.Lobby.Timeout,
		Record:       m.queueRecord,
		Metrics:      metrics,
		Logger:       m.Logger,
		// Phone voice for browsers is encoded off the media clock's tick
		// (bridge/browserencode.go), by one worker per core but one: busy
		// workers on every P make a due tick wait for one. On two cores
		// shared with the load tool, one worker instead of two halved the
		// clock's p99 at 320 legs (28.7 → 13 ms, medians of four passes,
		// docs/benchmarks.md); one worker encodes ~20,000 frames a second.
		EncodeWorkers: max(1, runtime.GOMAXPROCS(0)-1),
		PhoneVoice:    phoneVoice(cfg.WebRTC.PhoneCodec),
		// Rooms exist only once the HTTP and SIP sides run, after m.Web is set.
		RoomEnded: func(number string) { m.Web.RoomEnded(number) },
	})
	metrics.WatchEngine(m.Engine)

	m.listener, err = net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("HTTP listen %s: %w", cfg.HTTP.Listen, err)
	}
	if cfg.HTTP.TLS.Enabled() {
		if err := m.setupTLS(cfg); err != nil {
			return err
		}
	}
	converter, err := newConverter(cfg, m.DB, m.Logger) // library.go
	if err != nil {
		return err
	}
	m.Web, err = webclient.New(webclient.Config{
		Store:           m.DB,
		Engine:          m.Engine,
		Numbering:       func() webclient.NumberRules { return numberRules{m.plan.Load().Numbering} },
		WebRTC:          webRTCConfig(cfg.WebRTC),
		PublicURL:       cfg.HTTP.PublicURL,
		AllowedOrigins:  cfg.HTTP.AllowedOrigins,
		TrustedProxies:  trustedProxies(cfg.HTTP.TrustedProxies),
		SecureCookies:   cfg.HTTP.TLS.Enabled(),
		SessionLifetime: cfg.Auth.SessionLifetime,
		JoinLimiter:     dialroom.NewLimiter(cfg.Auth.JoinFailures, cfg.Auth.JoinWindow, nil),
		LoginLimiter:    dialroom.NewLimiter(cfg.Auth.LoginFailures, cfg.Auth.LoginWindow, nil),
		Metrics:         metrics,
		Logger:          m.Logger,
		Trunks:          m.trunkStatus,
		Dial:            m.dial,
		Softphone:       m.softphone(cfg),
		Converter:       converter,
		Materials:       materialLimits(cfg),
	})
	if err != nil {
		return err
	}
	if err := m.startSIP(cfg); err != nil {
		return err
	}
	m.httpSrv = &http.Server{
		Handler:           m.Web.Handler(),
		ReadHeaderTimeout: 10 * time.Second, // slowloris guard; WebSockets are hijacked and unaffected
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.httpSrv.Serve(m.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("HTTP server stopped", "err", err)
		}
	}()
	m.Logger.Info("dialroom serving", "url", m.URL(), "data", cfg.DataDir)
	return nil
}

// setupTLS wraps the listener in TLS and starts the plain-HTTP redirect
// listener when one is configured.
func (m *Main) setupTLS(cfg *configs.Config) error {
	t := cfg.HTTP.TLS
	host, _, _ := net.SplitHostPort(cfg.HTTP.Listen)
	_, port, _ := net.SplitHostPort(m.listener.Addr().String())
	tlsConf, redirect, err := webclient.TLSSetup(webclient.TLSOptions{
		CertFile: t.CertFile, KeyFile: t.KeyFile, SelfSigned: t.SelfSigned, SelfSignedHosts: []string{host},
		ACMEHosts: t.ACMEHosts, ACMEEmail: t.ACMEEmail, ACMECacheDir: cfg.ACMECacheDir(),
		HTTPSPort: port, Dir: filepath.Join(cfg.DataDir, "tls"),
	}, m.Logger)
	if err != nil {
		return err
	}
	m.listener = tls.NewListener(m.listener, tlsConf)
	m.tls, m.tlsConf = true, tlsConf
	if t.RedirectListen == "" {
		return nil
	}
	rl, err := net.Listen("tcp", t.RedirectListen)
	if err != nil {
		return fmt.Errorf("HTTP redirect listen %s: %w", t.RedirectListen, err)
	}
	m.redirectAddr = rl.Addr().String()
	m.redirectSrv = &http.Server{Handler: redirect, ReadHeaderTimeout: 10 * time.Second}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.redirectSrv.Serve(rl); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("HTTP redirect server stopped", "err", err)
		}
	}()
	return nil
}

// URL returns the base URL the server listens on.
func (m *Main) URL() string {
	if m.listener == nil {
		return ""
	}
	if m.tls {
		return "https://" + m.listener.Addr().String()
	}
	return "http://" + m.listener.Addr().String()
}

// Close ends conferences cleanly (members are told the server is shutting
// down), stops serving and closes the database. It is idempotent.
func (m *Main) Close() error {
	var errs []error
	m.closing.Do(func() {
		m.stopDialplanWatcher()
		// Calls first (each gets a BYE), then the engine: members are told
		// their conference ends because the server is shutting down; then the
		// browser sessions flush that and close.
		if m.SIP != nil {
			errs = append(errs, m.SIP.Close())
		}
		if m.Engine != nil {
			m.Engine.Close()
		}
		if m.Web != nil {
			errs = append(errs, m.Web.Close())
		}
		if m.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, m.httpSrv.Shutdown(ctx))
			cancel()
		} else if m.listener != nil {
			errs = append(errs, m.listener.Close())
		}
		if m.redirectSrv != nil {
			errs = append(errs, m.redirectSrv.Close())
		}
		if m.records != nil {
			close(m.records)
		}
		m.wg.Wait()
		if m.DB != nil {
			errs = append(errs, m.DB.Close())
		}
	})
	return errors.Join(errs...)
}

// queueRecord hands a call record to the writer goroutine without blocking the
// room that produced it; if the database is so slow that 1,024 records are
// queued, the record is logged and dropped rather than stalling conferences.
func (m *Main) queueRecord(r dialroom.CallRecord) {
	select {
	case m.records <- r:
	default:
		m.Logger.Error("call record dropped: writer behind", "number", r.Number, "outcome", r.Outcome)
	}
}

func (m *Main) writeRecords() {
	defer m.wg.Done()
	for r := range m.records {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := m.DB.CreateCallRecord(ctx, &r); err != nil {
			m.Logger.Error("call record not written", "err", err)
		}
		cancel()
	}
}

// bootstrapOperator creates the operator "admin" with a random password on the
// very first start, and prints the password once: there is no other way in.
func (m *Main) bootstrapOperator(ctx context.Context) error {
	n, err := m.DB.CountOperators(ctx)
	if err != nil || n > 0 {
		return err
	}
	password := randomPassword()
	hash, err := webclient.HashPassword(password)
	if err != nil {
		return err
	}
	if err := m.DB.CreateOperator(ctx, &dialroom.Operator{Login: "admin", DisplayName: "Operator", PasswordHash: hash}); err != nil {
		return err
	}
	host := m.Config.HTTP.Listen
	if m.HTTPAddr != "" {
		host = m.HTTPAddr
	}
	scheme := "http"
	if m.Config.HTTP.TLS.Enabled() {
		scheme = "https"
	}
	fmt.Fprintf(m.Stdout, "\nFirst start: created operator \"admin\".\n  Log in at %s://%s/console\n  Password:  %s\n(shown only this once; change it with: dialroom operator passwd admin)\n\n", scheme, host, password)
	return nil
}

// randomPassword returns 20 characters from an alphabet without look-alikes
// (about 100 bits).
func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXYZ2345679"
	b := make([]byte, 20)
	for i := range b {
		b[i] = alphabet[randIndex(len(alphabet))]
	}
	return string(b)
}

func randIndex(n int) int {
	var buf [1]byte
	limit := 256 - 256%n // rejection sampling: no modulo bias
	for {
		if _, err := rand.Read(buf[:]); err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		if int(buf[0]) < limit {
			return int(buf[0]) % n
		}
	}
}

func loadConfig(path string) (*configs.Config, error) {
	if path == "" {
		return configs.Load("(embedded dialroom.yaml)", configs.DefaultYAML)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return configs.Load(path, data)
}

func newLogger(c configs.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if strings.EqualFold(c.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func webRTCConfig(c configs.WebRTC) webclient.WebRTCConfig {
	out := webclient.WebRTCConfig{PublicIPs: c.PublicIPs, UDPPortMin: c.UDPPortMin, UDPPortMax: c.UDPPortMax,
		UDPPort: c.UDPPort, IncludeLoopback: c.Loopback, PCMU: c.PhoneCodec == configs.PhoneCodecPCMU}
	for _, s := range c.ICENetworks {
		if n, err := configs.ParseICENetwork(s); err == nil { // configs checked them
			out.ICENetworks = append(out.ICENetworks, n)
		}
	}
	for _, s := range c.ICEServers {
		out.ICEServers = append(out.ICEServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

// phoneVoice maps webrtc.phone_codec (configs validated it) to the bridge's
// codec for phone voice towards browsers.
func phoneVoice(codec string) bridge.PhoneVoice {
	if codec == configs.PhoneCodecPCMU {
		return bridge.PhoneVoicePCMU
	}
	return bridge.PhoneVoiceOpus
}

// trustedProxies parses the configured proxies (configs validated them).
func trustedProxies(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := configs.ParseNetwork(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// numberRules adapts the dialplan's numbering section to webclient.NumberRules.
type numberRules struct{ n dialplan.Numbering }

func (r numberRules) PerOperator() bool                    { return r.n.Mode == dialplan.PerOperator }
func (r numberRules) NewStem(rd io.Reader) (string, error) { return r.n.NewStem(rd) }
func (r numberRules) StemValid(stem string) bool           { return r.n.StemValid(stem) }
func (r numberRules) Generate(rd io.Reader, stem string) (string, error) {
	return r.n.Generate(rd, stem)
}
func (r numberRules) Lifetime() time.Duration { return r.n.Lifetime }
