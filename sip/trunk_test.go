package sip

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo/sip"
)

// The trunk the registration tests use at the Kamailio carrier.
const (
	trunkUser = "trunk"
	trunkPass = "s3cret"
)

// trunkPlan is a plan with one registering trunk at registrar (host:port)
// with password pass, trusting the carrier's address for calls, and a
// conference route for issued numbers.
func trunkPlan(registrar, transport, pass string) string {
	return trunkPlanWith("sip:"+registrar, transport, pass, "", "")
}

// trunkPlanWith is trunkPlan with the whole registrar URI, extra trunk keys
// (indented as the trunk's) and extra top-level sections.
func trunkPlanWith(registrarURI, transport, pass, extraKeys, extraSections string) string {
	return fmt.Sprintf(`
trunks:
  - name: carrier
    registrar: %s
    transport: %s
    username: %s
    password: %q
    register_interval: 1m
    sources: ["127.0.0.1"]
    dids: ["_060XXXXXXXX"]
%s
routes:
  - name: direct-dial
    to: "_060XXXXXXXX"
    action: conference
    prompt: waiting
%s`, registrarURI, transport, trunkUser, pass, extraKeys, extraSections)
}

// trunkHarness is a harness whose plan can be replaced (SyncTrunks reads
// it through Config.Plan).
type trunkHarness struct {
	*harness
	plan atomic.Pointer[dialplan.Plan]
}

func loadPlan(t *testing.T, text string) *dialplan.Plan {
	t.Helper()
	p, err := dialplan.LoadWith("trunk.yaml", []byte(text), dialplan.LoadOptions{ReadFile: os.ReadFile}) // tls_ca files
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newTrunkHarness starts a Server on 127.0.0.1:0 (UDP and TCP) with plan and
// a low backoff cap, so tests see retries within seconds.
func newTrunkHarness(t *testing.T, plan string, portBase int) *trunkHarness {
	t.Helper()
	return newTrunkHarnessTLS(t, plan, portBase, nil)
}

// newTrunkHarnessTLS is newTrunkHarness with a TLS listener on 127.0.0.1:0
// presenting tlsConf's certificate, unless tlsConf is nil.
func newTrunkHarnessTLS(t *testing.T, plan string, portBase int, tlsConf *tls.Config) *trunkHarness {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	now := time.Now().UTC()
	th := &trunkHarness{harness: &harness{t: t, dir: t.TempDir(), numbers: map[string]*dialroom.Number{
		liveNumber: {Digits: liveNumber, Operator: "alice", IssuedAt: now},
	}}}
	th.plan.Store(loadPlan(t, plan))
	h := th.harness
	h.clock = media.NewClock(media.ClockConfig{})
	h.engine = bridge.NewEngine(bridge.Config{Clock: h.clock, Logger: logger})
	var err error
	if h.ports, err = media.NewPortAllocator(portBase, portBase+19); err != nil {
		t.Fatal(err)
	}
	h.nports = h.ports.Free()
	var tlsAddrs []string
	if tlsConf != nil {
		tlsAddrs = []string{"127.0.0.1:0"}
	}
	h.srv, err = New(Config{
		UDP:          []string{"127.0.0.1:0"},
		TCP:          []string{"127.0.0.1:0"},
		TLS:          tlsAddrs,
		TLSConfig:    tlsConf,
		MediaIP:      netip.MustParseAddr("127.0.0.1"),
		RTPBind:      netip.MustParseAddr("127.0.0.1"),
		Ports:        h.ports,
		Plan:         th.plan.Load,
		Engine:       h.engine,
		Clock:        h.clock,
		LiveNumber:   h.lookup,
		Record:       h.record,
		Logger:       logger,
		Registration: RegistrationConfig{BackoffMin: 200 * time.Millisecond, BackoffMax: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.srv.Close()
		h.engine.Close()
		h.clock.Close()
	})
	return th
}

// waitTrunk waits until the trunk's state satisfies cond and returns it.
func (th *trunkHarness) waitTrunk(name string, timeout time.Duration, cond func(TrunkState) bool) TrunkState {
	th.t.Helper()
	deadline := time.Now().Add(timeout)
	var last TrunkState
	for {
		for _, st := range th.srv.Trunks() {
			if st.Name == name {
				last = st
				if cond(st) {
					return st
				}
			}
		}
		if time.Now().After(deadline) {
			th.t.Fatalf("trunk %s: timed out; last state %+v", name, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func registered(st TrunkState) bool { return st.State == TrunkRegistered }

// TestTrunkRegisters: a trunk registers at a Kamailio carrier with digest
// (MD5, qop=auth); Kamailio's ul.dump shows our Contact (our UDP listener,
// the trunk's user); Close un-registers it.
func TestTrunkRegisters(t *testing.T) {
	c := e2e.StartCarrier(t, e2e.CarrierOptions{Users: map[string]string{trunkUser: trunkPass}, QOP: true})
	th := newTrunkHarness(t, trunkPlan(c.Addr(), "udp", trunkPass), 33400)

	st := th.waitTrunk("carrier", waitTimeout, registered)
	if st.LastStatus != 200 || st.Failures != 0 || st.RegisteredUntil.IsZero() || st.NextAttempt.IsZero() {
		t.Errorf("state %+v", st)
	}
	// The carrier grants at most 300 s for the 60 s we ask; we refresh at
	// 80–90% of the grant.
	if left := time.Until(st.RegisteredUntil); left < 50*time.Second || left > 61*time.Second {
		t.Errorf("registered for %v more, want about 60 s", left)
	}
	reg, err := c.WaitRegistered(trunkUser, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("sip:%s@%s", trunkUser, th.srv.UDPAddrs()[0])
	if reg.Contact != want {
		t.Errorf("carrier's binding %q, want %q", reg.Contact, want)
	}

	th.srv.Close()
	regs, err := c.Registrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 0 {
		t.Errorf("after Close the carrier still has %+v", regs)
	}
}

// TestTrunkWrongPassword: the carrier answers our credentials with 403
// "Wrong Password"; the trunk is failing with that status and reason, and
// retries with backoff (not in a tight loop).
func TestTrunkWrongPassword(t *testing.T) {
	c := e2e.StartCarrier(t, e2e.CarrierOptions{Users: map[string]string{trunkUser: trunkPass}, QOP: true})
	th := newTrunkHarness(t, trunkPlan(c.Addr(), "udp", "guess"), 33420)

	st := th.waitTrunk("carrier", waitTimeout, func(st TrunkState) bool { return st.State == TrunkFailing })
	if st.LastStatus != 403 || st.LastReason != "Wrong Password" {
		t.Errorf("state %+v, want 403 Wrong Password", st)
	}
	if st.Failures < 1 || st.NextAttempt.IsZero() {
		t.Errorf("state %+v: want a failure count and a next attempt", st)
	}
	// Backoff: 200 ms doubling to 1 s; in 2 s that is a handful of
	// attempts, not hundreds.
	time.Sleep(2 * time.Second)
	st = th.waitTrunk("carrier", waitTimeout, func(TrunkState) bool { return true })
	if st.Failures < 2 || st.Failures > 8 {
		t.Errorf("%d failures after 2 s, want a few (backoff)", st.Failures)
	}
	if regs, _ := c.Registrations(); len(regs) != 0 {
		t.Errorf("carrier has bindings %+v", regs)
	}
}

// TestTrunkReregistersAfterCarrierRestart: the carrier grants 4 s, so we
// refresh every few seconds; it restarts and forgets every binding; the
// trunk registers again on its own. Over TCP the restart also breaks the
// connection, so the trunk goes through failing first.
func TestTrunkReregistersAfterCarrierRestart(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			c := e2e.StartCarrier(t, e2e.CarrierOptions{Users: map[string]string{trunkUser: trunkPass}, QOP: true, Expires: 4 * time.Second})
			base := 33440
			if transport == "tcp" {
				base = 33460
			}
			th := newTrunkHarness(t, trunkPlan(c.Addr(), transport, trunkPass), base)
			st := th.waitTrunk("carrier", waitTimeout, registered)
			if left := time.Until(st.RegisteredUntil); left > 4*time.Second {
				t.Errorf("registered for %v more, want the carrier's 4 s", left)
			}
			if _, err := c.WaitRegistered(trunkUser, waitTimeout); err != nil {
				t.Fatal(err)
			}

			c.Stop()
			if transport == "tcp" {
				th.waitTrunk("carrier", waitTimeout, func(st TrunkState) bool { return st.State == TrunkFailing })
			} else {
				// Let a refresh go unanswered (it retransmits meanwhile).
				time.Sleep(4 * time.Second)
			}
			c.Start()
			if _, err := c.WaitRegistered(trunkUser, 15*time.Second); err != nil {
				t.Fatal(err)
			}
			th.waitTrunk("carrier", waitTimeout, registered)
		})
	}
}

// TestTrunkCallThroughCarrier: a SIPp phone calls one of our numbers at the
// carrier, which routes it to our registered Contact; the call comes from
// the carrier's address (the trunk's source) and reaches the lobby, in both
// carrier styles (the number in the Request-URI, or only in To).
func TestTrunkCallThroughCarrier(t *testing.T) {
	for i, style := range []e2e.CarrierStyle{e2e.RewriteNumber, e2e.KeepContact} {
		t.Run(style.String(), func(t *testing.T) {
			c := e2e.StartCarrier(t, e2e.CarrierOptions{Users: map[string]string{trunkUser: trunkPass}, QOP: true, Style: style})
			c.Route(liveNumber, trunkUser)
			th := newTrunkHarness(t, trunkPlan(c.Addr(), "udp", trunkPass), 33480+20*i)
			th.waitTrunk("carrier", waitTimeout, registered)

			req := th.callIntoLobby(t, c.Addr())
			if !strings.HasSuffix(req.Identity.Address, "5678") {
				t.Errorf("operator sees %+v", req.Identity)
			}
		})
	}
}

// callIntoLobby has Alice host the live number and a SIPp phone call it at
// the carrier listening on target; it waits for the call in Alice's lobby,
// checks that it came from the carrier trunk as a phone, lets SIPp hang up
// and returns the join request.
func (th *trunkHarness) callIntoLobby(t *testing.T, target string) bridge.RequestInfo {
	t.Helper()
	op := newRecorder()
	if _, err := th.engine.Host(th.numbers[liveNumber], "Alice", dialroom.Identity{Kind: dialroom.MemberKindBrowser, Name: "Alice"}, op); err != nil {
		t.Fatal(err)
	}
	rtp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()
	bin := e2e.RequireSIPp(t)
	path := filepath.Join(th.dir, "call.xml")
	if err := os.WriteFile(path, []byte(e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeAfter(1500)))), 0o644); err != nil {
		t.Fatal(err)
	}
	result := make(chan e2e.SIPpResult, 1)
	go func() {
		res, err := e2e.RunSIPp(context.Background(), bin, th.dir, e2e.SIPpRun{
			Scenario: path, Target: target, Service: liveNumber,
			Keys: map[string]string{"rtpport": strconv.Itoa(int(netipAddrPort(rtp.LocalAddr()).Port()))},
		})
		if err != nil {
			res = e2e.SIPpResult{ExitCode: -1, Errors: err.Error()}
		}
		result <- res
	}()
	req := op.waitJoin(t)
	if req.Identity.Trunk != "carrier" || req.Identity.Kind != dialroom.MemberKindPhone {
		t.Errorf("operator sees %+v", req.Identity)
	}
	requireSIPpOK(t, <-result)
	th.waitIdle()
	return req
}

// TestTrunkSync: a reload that changes the trunk's password restarts its
// registration; one that disables the trunk un-registers it.
func TestTrunkSync(t *testing.T) {
	c := e2e.StartCarrier(t, e2e.CarrierOptions{Users: map[string]string{trunkUser: trunkPass}, QOP: true})
	th := newTrunkHarness(t, trunkPlan(c.Addr(), "udp", "guess"), 33520)
	th.waitTrunk("carrier", waitTimeout, func(st TrunkState) bool { return st.State == TrunkFailing })

	th.plan.Store(loadPlan(t, trunkPlan(c.Addr(), "udp", trunkPass)))
	th.srv.SyncTrunks()
	th.waitTrunk("carrier", waitTimeout, registered)
	if _, err := c.WaitRegistered(trunkUser, waitTimeout); err != nil {
		t.Fatal(err)
	}

	th.plan.Store(loadPlan(t, strings.Replace(trunkPlan(c.Addr(), "udp", trunkPass), "register_interval: 1m", "register_interval: 0", 1)))
	th.srv.SyncTrunks()
	st := th.waitTrunk("carrier", waitTimeout, func(TrunkState) bool { return true })
	if st.State != TrunkDisabled {
		t.Errorf("state %+v, want disabled", st)
	}
	if regs, _ := c.Registrations(); len(regs) != 0 {
		t.Errorf("after the reload the carrier still has %+v", regs)
	}
}

// TestDialledNumberFromCarrier: the two ways a carrier addresses a call to
// our registered Contact (TESTING.md): the dialed number in the
// Request-URI, or the Contact unchanged (user = the trunk's username, or
// none) with the number only in To.
func TestDialledNumberFromCarrier(t *testing.T) {
	trunk := &dialplan.Trunk{Name: "carrier", Username: trunkUser}
	tests := []struct {
		name, ruri, to string
		trunk          *dialplan.Trunk
		want           string
	}{
		{"number in the Request-URI", "sip:06012345678@127.0.0.1:5060", "sip:06012345678@carrier.test", trunk, "06012345678"},
		{"rewritten Request-URI wins over To", "sip:06012345678@127.0.0.1:5060", "sip:0312345678@carrier.test", trunk, "06012345678"},
		{"registered Contact: the trunk's username", "sip:trunk@127.0.0.1:5060", "sip:06012345678@carrier.test", trunk, "06012345678"},
		{"registered Contact without a username", "sip:dialroom@127.0.0.1:5060", "sip:06012345678@carrier.test", &dialplan.Trunk{Name: "ip"}, "06012345678"},
		{"no user at all", "sip:127.0.0.1:5060", "sip:06012345678@carrier.test", trunk, "06012345678"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ruri, to sip.Uri
			if err := sip.ParseUri(tt.ruri, &ruri); err != nil {
				t.Fatal(err)
			}
			if err := sip.ParseUri(tt.to, &to); err != nil {
				t.Fatal(err)
			}
			req := sip.NewRequest(sip.INVITE, ruri)
			req.AppendHeader(&sip.ToHeader{Address: to})
			if got := dialledNumber(req, tt.trunk); got != tt.want {
				t.Errorf("dialledNumber = %q, want %q", got, tt.want)
			}
		})
	}
}
