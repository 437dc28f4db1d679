package sip

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
)

// TestMain runs the tests in a network namespace with only loopback (see
// e2e.RunIsolated): SIPp and the server talk over 127.0.0.0/8 only.
func TestMain(m *testing.M) { os.Exit(e2e.RunIsolated(m)) }

// waitTimeout bounds every wait; tests wait for events, never sleep blindly.
const waitTimeout = 20 * time.Second // generous: CI runs the browser tests beside these on 2 cores

// Numbers of the fake number store.
const (
	liveNumber    = "06012345678"
	revokedNumber = "06012340000"
	unknownNumber = "06099998888"
	closedNumber  = "0312345678" // a reject route: 603
	accessNumber  = "0312340000" // a collect route: key the number, then #
)

// testPlan trusts 127.0.0.1 as the carrier; 127.0.0.2 is "the internet".
const testPlan = `
trunks:
  - name: loopback
    registrar: sip:127.0.0.1:5060
    register_interval: 0
    sources: ["127.0.0.1"]
    dids: ["_060XXXXXXXX", "_040XXXXXXXX", "0312345678", "0312340000", "0312345600"]
  - name: peer
    registrar: sip:127.0.0.9:5060
    register_interval: 0
    username: peerpbx
    password: peer-secret-1
    inbound_auth: true
    dids: ["_060XXXXXXXX"]
routes:
  - name: closed
    to: "0312345678"
    action: reject
    status: 603
  - name: moved
    to: "0312345600"
    action: reject
    status: 410
    prompt: not-in-service
  - name: announced-direct-dial
    to: "_040XXXXXXXX"
    action: conference
    not_live_prompt: not-in-service
  - name: access
    to: "0312340000"
    action: collect
    prompt: enter-number
    digits: 11
    terminator: "#"
    first_digit_timeout: 2s
    inter_digit_timeout: 1s
    retries: 1
  - name: direct-dial
    to: "_060XXXXXXXX"
    action: conference
    prompt: waiting
`

// harness is a real bridge.Engine and a Server on 127.0.0.1:0 with a fake
// number store.
type harness struct {
	t       *testing.T
	clock   *media.Clock
	engine  *bridge.Engine
	ports   *media.PortAllocator
	nports  int
	srv     *Server
	numbers map[string]*dialroom.Number
	dir     string

	mu        sync.Mutex
	records   []dialroom.CallRecord
	callerIDs map[string]string // login → dialroom.Operator.CallerID (setCallerID)
}

type harnessOptions struct {
	logs            io.Writer   // also receives the server's log (text format)
	tls             *tls.Config // adds a TLS listener on 127.0.0.1 with this certificate
	answerDelay     time.Duration
	rtpTimeout      time.Duration
	portBase        int
	plan            string        // the dialplan; "" means testPlan
	ringTimeout     time.Duration // extension calls; 0 is the default
	connsPerAddress int           // Config.ConnsPerAddress; 0 is the default
}

func newHarness(t *testing.T, opts harnessOptions) *harness {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.logs != nil {
		logger = slog.New(slog.NewTextHandler(opts.logs, nil))
	}
	if opts.plan == "" {
		opts.plan = testPlan
	}
	plan, err := dialplan.Load("test.yaml", []byte(opts.plan))
	if err != nil {
		t.Fatal(err)
	}
	if opts.portBase == 0 {
		opts.portBase = 31000
	}
	now := time.Now().UTC()
	h := &harness{t: t, dir: t.TempDir(), numbers: map[string]*dialroom.Number{
		liveNumber:    {Digits: liveNumber, Operator: "alice", IssuedAt: now},
		revokedNumber: {Digits: revokedNumber, Operator: "alice", IssuedAt: now, RevokedAt: now},
	}}
	h.clock = media.NewClock(media.ClockConfig{})
	h.engine = bridge.NewEngine(bridge.Config{Clock: h.clock, Logger: logger})
	h.ports, err = media.NewPortAllocator(opts.portBase, opts.portBase+19)
	if err != nil {
		t.Fatal(err)
	}
	h.nports = h.ports.Free()
	var tlsAddrs []string
	if opts.tls != nil {
		tlsAddrs = []string{"127.0.0.1:0"}
	}
	h.srv, err = New(Config{
		UDP:         []string{"127.0.0.1:0"},
		TCP:         []string{"127.0.0.1:0"},
		TLS:         tlsAddrs,
		TLSConfig:   opts.tls,
		MediaIP:     netip.MustParseAddr("127.0.0.1"),
		RTPBind:     netip.MustParseAddr("127.0.0.1"),
		Ports:       h.ports,
		Plan:        func() *dialplan.Plan { return plan },
		Engine:      h.engine,
		Clock:       h.clock,
		LiveNumber:  h.lookup,
		Record:      h.record,
		Logger:      logger,
		AnswerDelay: opts.answerDelay,
		RTPTimeout:  opts.rtpTimeout,
		Credentials: h.credentials,
		// Extension routes (extension_test.go).
		Operator: h.operator, OperatorByExtension: h.operatorByExtension, ExtensionRingTimeout: opts.ringTimeout,
		// Both algorithms, strongest first: registrar_test.go checks both.
		DigestAlgorithms: []string{"SHA-256", "MD5"},
		ConnsPerAddress:  opts.connsPerAddress,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.srv.Close()
		h.engine.Close()
		h.clock.Close()
	})
	return h
}

// hostAlice puts the number's operator, Alice, in its room from a browser
// (a recorder stands in for her console) and returns both.
func (h *harness) hostAlice(num *dialroom.Number) (*recorder, *bridge.Member) {
	h.t.Helper()
	op := newRecorder()
	m, err := h.engine.Host(num, "Alice", dialroom.Identity{Kind: dialroom.MemberKindBrowser, Name: "Alice"}, op)
	if err != nil {
		h.t.Fatal(err)
	}
	return op, m
}

// Softphone passwords of the harness's operators (registrar_test.go).
const (
	alicePassword = "alice-softphone-secret"
	bobPassword   = "bob-softphone-secret"
)

// credentials is the harness's operator store for the registrar: alice and
// bob have softphone passwords, carol has none.
func (h *harness) credentials(_ context.Context, login string) (dialroom.SIPCredentials, error) {
	switch login {
	case "alice":
		return NewSIPCredentials("alice", DefaultRealm, alicePassword), nil
	case "bob":
		return NewSIPCredentials("bob", DefaultRealm, bobPassword), nil
	case "carol":
		return dialroom.SIPCredentials{}, nil
	}
	return dialroom.SIPCredentials{}, dialroom.Errorf(dialroom.ENOTFOUND, "no such operator")
}

// The harness's operators' extensions: alice 201, bob 202, carol none.
var harnessExtensions = map[string]string{"alice": "201", "bob": "202", "carol": ""}

// setCallerID gives the operator login the caller ID number. The server
// reads it on its handler goroutines (operator), so under h.mu.
func (h *harness) setCallerID(login, number string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.callerIDs == nil {
		h.callerIDs = map[string]string{}
	}
	h.callerIDs[login] = number
}

func (h *harness) operator(_ context.Context, login string) (*dialroom.Operator, error) {
	ext, ok := harnessExtensions[login]
	if !ok {
		return nil, dialroom.Errorf(dialroom.ENOTFOUND, "no such operator")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return &dialroom.Operator{Login: login, Extension: ext, CallerID: h.callerIDs[login]}, nil
}

func (h *harness) operatorByExtension(ctx context.Context, ext string) (*dialroom.Operator, error) {
	for login, e := range harnessExtensions {
		if e != "" && e == ext {
			return h.operator(ctx, login)
		}
	}
	return nil, dialroom.Errorf(dialroom.ENOTFOUND, "no such extension")
}

// addTonePhone puts a phone member in the number's room that says a tone
// of hz (and keeps what it hears) without any SIP: the room's other voice.
func (h *harness) addTonePhone(num *dialroom.Number, hz float64) (*tonePhone, *bridge.Member) {
	h.t.Helper()
	p := newTonePhone(h.t, hz)
	m, err := h.engine.Enter(num, "Alice", dialroom.Identity{Role: dialroom.RoleGuest, Kind: dialroom.MemberKindPhone, Address: "tone"}, newRecorder())
	if err != nil {
		h.t.Fatal(err)
	}
	if err := m.AttachPhoneAudio(p); err != nil {
		h.t.Fatal(err)
	}
	return p, m
}

func (h *harness) lookup(_ context.Context, digits string, _ time.Time) (*dialroom.Number, error) {
	if n, ok := h.numbers[digits]; ok {
		return n, nil
	}
	return nil, dialroom.Errorf(dialroom.ENOTFOUND, "no such number")
}

func (h *harness) record(r dialroom.CallRecord) {
	h.mu.Lock()
	h.records = append(h.records, r)
	h.mu.Unlock()
}

func (h *harness) recordsCopy() []dialroom.CallRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]dialroom.CallRecord(nil), h.records...)
}

func (h *harness) target() string { return h.srv.UDPAddrs()[0].String() }

// waitIdle waits until no call is left and every RTP port is free again.
func (h *harness) waitIdle() {
	h.t.Helper()
	waitFor(h.t, "calls and ports released", func() bool {
		return h.srv.Calls() == 0 && h.ports.Free() == h.nports
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sipp runs a generated scenario and fails the test unless it succeeded.
func (h *harness) sipp(name, scenario string, run e2e.SIPpRun) e2e.SIPpResult {
	h.t.Helper()
	bin := e2e.RequireSIPp(h.t)
	path := filepath.Join(h.dir, name+".xml")
	if err := os.WriteFile(path, []byte(scenario), 0o644); err != nil {
		h.t.Fatal(err)
	}
	run.Scenario = path
	if run.Target == "" {
		run.Target = h.target()
	}
	res, err := e2e.RunSIPp(context.Background(), bin, h.dir, run)
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func requireSIPpOK(t *testing.T, res e2e.SIPpResult) {
	t.Helper()
	if res.ExitCode != 0 {
		t.Fatalf("sipp failed (exit %d):\n%s\n%s", res.ExitCode, tail(res.Output, 3000), res.Errors)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// recorder is a fake bridge.Endpoint (an operator's browser) that keeps
// every event; it never blocks.
type recorder struct {
	mu     sync.Mutex
	events []bridge.Event
	notify chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) Deliver(ev bridge.Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// waitJoin returns the first JoinRequested.
func (r *recorder) waitJoin(t *testing.T) bridge.RequestInfo {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		r.mu.Lock()
		for _, ev := range r.events {
			if j, ok := ev.(bridge.JoinRequested); ok {
				r.mu.Unlock()
				return j.Request
			}
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-deadline:
			t.Fatal("no JoinRequested reached the operator")
		}
	}
}

// tonePhone is a bridge.PhoneAudio that says a tone and keeps what it hears.
type tonePhone struct {
	tone  media.Source
	mu    sync.Mutex
	heard []int16
}

func newTonePhone(t *testing.T, hz float64) *tonePhone {
	tone, err := media.NewTone(media.G711Rate, -12, hz)
	if err != nil {
		t.Fatal(err)
	}
	return &tonePhone{tone: tone}
}

func (p *tonePhone) ReadFrame(dst []int16) bool {
	_, _ = p.tone.Read(dst)
	return true
}

func (p *tonePhone) WriteFrame(pcm []int16, silent bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if silent {
		p.heard = append(p.heard, make([]int16, bridge.PhoneFrameSamples)...)
		return
	}
	p.heard = append(p.heard, pcm...)
}

func (p *tonePhone) heardCopy() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.heard...)
}

// dominant returns which of freqs is strongest in pcm (8 kHz), and how many
// dB it stands above the next.
func dominant(pcm []int16, freqs ...float64) (float64, float64) {
	best, second := e2e.SilenceDBFS, e2e.SilenceDBFS
	var bestHz float64
	for _, f := range freqs {
		l := e2e.PCMToneLevel(pcm, media.G711Rate, f)
		if l > best {
			second, best, bestHz = best, l, f
		} else if l > second {
			second = l
		}
	}
	if second <= e2e.SilenceDBFS {
		return bestHz, math.Inf(1)
	}
	return bestHz, best - second
}

// goroutinesSettle waits until the goroutine count is back to at most base
// (plus a little slack for runtime and timer goroutines).
func goroutinesSettle(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		n := runtime.NumGoroutine()
		if n <= base+2 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines: %d, were %d:\n%s", n, base, buf)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
