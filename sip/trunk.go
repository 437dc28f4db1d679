package sip

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dialroom/dialroom/dialplan"
	"github.com/emiago/sipgo/sip"
)

// Trunk registration (RFC 3261 §10): for every enabled trunk of the plan
// whose register_interval is not 0, one goroutine keeps a binding of our
// Contact at the carrier's registrar, so that the carrier knows where to
// send calls to our DIDs.

// Trunk registration states, as TrunkState.State reports them.
const (
	// TrunkRegistered: the registrar accepted our binding and it has not
	// lapsed; a refresh is planned before it does.
	TrunkRegistered = "registered"
	// TrunkRegistering: the first REGISTER is under way.
	TrunkRegistering = "registering"
	// TrunkFailing: the last REGISTER failed (LastStatus, LastReason); the
	// next attempt is at NextAttempt.
	TrunkFailing = "failing"
	// TrunkDisabled: the trunk is disabled, or does not register
	// (register_interval 0: the carrier knows our address).
	TrunkDisabled = "disabled"
)

// TrunkState is a snapshot of one trunk's registration, for status pages and
// metrics. It holds no credentials.
type TrunkState struct {
	Name  string
	State string // TrunkRegistered, TrunkRegistering, TrunkFailing or TrunkDisabled
	// LastStatus and LastReason are the final response to the last REGISTER
	// (the carrier's reason phrase as sent, e.g. 403 "Wrong Password").
	// LastStatus is 0 when no response came (timeout, transport error,
	// unusable trunk); LastReason then says what went wrong.
	LastStatus int
	LastReason string
	// RegisteredUntil is when the binding lapses unless refreshed; zero when
	// not registered.
	RegisteredUntil time.Time
	// NextAttempt is when the next REGISTER (refresh or retry) goes out;
	// zero when none is planned.
	NextAttempt time.Time
	// Failures counts consecutive failed attempts; 0 once one succeeds.
	Failures int
}

// RegistrationConfig tunes trunk registration. Zero values take the
// defaults noted.
type RegistrationConfig struct {
	// BackoffMin is the wait after the first failure; each further failure
	// doubles it up to BackoffMax. Defaults: DefaultBackoffMin and
	// DefaultBackoffMax. Tests lower the cap.
	BackoffMin, BackoffMax time.Duration
	// UnregisterTimeout bounds the un-REGISTER of each trunk when the server
	// closes or a trunk is removed; default DefaultUnregisterTimeout.
	UnregisterTimeout time.Duration
	// Jitter returns a number in [0, 1) that spreads retries and refreshes;
	// nil means math/rand/v2. Tests fix it. It is called from registration
	// goroutines concurrently.
	Jitter func() float64
}

// Registration defaults.
const (
	// DefaultBackoffMin: 2 s is long enough not to hammer a registrar that
	// is restarting, short enough that a blip costs few missed calls.
	DefaultBackoffMin = 2 * time.Second
	// DefaultBackoffMax: 5 min caps the wait after a long outage, so the
	// trunk comes back within minutes of the carrier.
	DefaultBackoffMax = 5 * time.Minute
	// DefaultUnregisterTimeout: shutting down must not wait on a carrier
	// that is gone; 2 s covers a challenge round trip to a live one.
	DefaultUnregisterTimeout = 2 * time.Second
	// maxRetryAfter caps a carrier's Retry-After (RFC 3261 §20.33): a
	// misconfigured carrier must not silence a trunk for days.
	maxRetryAfter = time.Hour
	// attemptTimeout bounds one REGISTER with its challenge round: sipgo's
	// transaction gives up after 64·T1 = 32 s (RFC 3261 §17.1.2.2, Timer F)
	// per request; two requests take at most twice that.
	attemptTimeout = 70 * time.Second
	// minRefresh keeps a registrar that grants absurdly short bindings from
	// turning refreshes into a tight loop.
	minRefresh = time.Second
)

func (c RegistrationConfig) withDefaults() RegistrationConfig {
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.UnregisterTimeout <= 0 {
		c.UnregisterTimeout = DefaultUnregisterTimeout
	}
	if c.Jitter == nil {
		c.Jitter = rand.Float64
	}
	return c
}

// regKey is what a registration depends on in a trunk's definition: when it
// changes on a reload, the registration restarts.
type regKey struct {
	registrar, transport, username, password string
	interval                                 time.Duration
	tlsCA, tlsServerName, tlsCert, tlsKey    string
}

func keyOf(t *dialplan.Trunk) regKey {
	return regKey{t.Registrar, string(t.Transport), t.Username, t.Password.Reveal(), t.RegisterInterval, t.TLSCAFile, t.TLSServerName,
		t.TLSCertFile, t.TLSKeyFile}
}

// sameRegistration reports whether a running registration still serves
// trunk t as the plan now defines it; a tls_ca or tls_cert file whose
// certificates changed counts as a change, so the next connection uses
// them.
func sameRegistration(r *registration, t *dialplan.Trunk) bool {
	return keyOf(t) == r.key && r.roots.Equal(t.TLSRoots) && sameCert(r.cert, t.TLSCert)
}

// sameCert reports whether a and b are the same certificate chain (or both
// none).
func sameCert(a, b *tls.Certificate) bool {
	if a == nil || b == nil {
		return a == b
	}
	return slices.EqualFunc(a.Certificate, b.Certificate, bytes.Equal)
}

// trunkSet is the server's registrations. sync serialises SyncTrunks and
// Close; mu guards the fields below it, which Trunks reads.
type trunkSet struct {
	sync sync.Mutex

	mu     sync.Mutex
	regs   map[string]*registration // running, by trunk name
	order  []TrunkState             // every trunk of the plan, in plan order; live entries are refreshed from regs
	closed bool
}

// SyncTrunks makes the registrations match the plan in force (Config.Plan):
// it starts one goroutine per enabled trunk with a register_interval, stops
// those of trunks that were removed, disabled or changed (un-registering
// them, bounded by RegistrationConfig.UnregisterTimeout), and restarts
// changed ones. New calls it once; the owner calls it after every plan
// reload. It blocks while stopping trunks; calls are serialised; after
// Close it does nothing. Safe for concurrent use.
func (s *Server) SyncTrunks() {
	ts := &s.trunks
	ts.sync.Lock()
	defer ts.sync.Unlock()
	ts.mu.Lock()
	closed := ts.closed
	current := ts.regs
	ts.mu.Unlock()
	if closed {
		return
	}
	s.waitServingUDP()
	plan := s.cfg.Plan()
	var trunks []*dialplan.Trunk
	if plan != nil {
		trunks = plan.Trunks
	}
	want := map[string]*dialplan.Trunk{}
	for _, t := range trunks {
		if t.Enabled && t.RegisterInterval > 0 {
			want[t.Name] = t
		}
	}
	var stop []*registration
	next := map[string]*registration{}
	for name, r := range current {
		if t, ok := want[name]; ok && sameRegistration(r, t) {
			next[name] = r
			continue
		}
		stop = append(stop, r)
	}
	stopAll(stop)
	order := make([]TrunkState, 0, len(trunks))
	for _, t := range trunks {
		if want[t.Name] == nil {
			reason := "trunk disabled"
			if t.Enabled {
				reason = "register_interval is 0: not registering"
			}
			order = append(order, TrunkState{Name: t.Name, State: TrunkDisabled, LastReason: reason})
			continue
		}
		if next[t.Name] == nil {
			r := newRegistration(s.regSpec(t), keyOf(t), s.client, s.cfg.Registration, s.cfg.Now, s.log)
			r.roots, r.cert = t.TLSRoots, t.TLSCert
			r.start()
			next[t.Name] = r
		}
		order = append(order, TrunkState{Name: t.Name})
	}
	ts.mu.Lock()
	ts.regs, ts.order = next, order
	ts.mu.Unlock()
}

// servingTimeout bounds waitServingUDP; serving starts within microseconds.
const servingTimeout = 2 * time.Second

// waitServingUDP waits until sipgo serves every UDP listener: REGISTERs
// leave from the listener's socket (regSpec.laddr), which sipgo finds in
// its connection pool only once serving has begun; New starts serving on
// other goroutines just before it calls SyncTrunks.
func (s *Server) waitServingUDP() {
	pool := s.ua.TransportLayer().Pool("udp")
	deadline := time.Now().Add(servingTimeout)
	for _, conn := range s.udp {
		key := conn.LocalAddr().String()
		for {
			if c := pool.Get(key); c != nil {
				c.Ref(-1) // Get took a reference
				break
			}
			if time.Now().After(deadline) {
				s.log.Warn("sip: UDP listener not served yet", "addr", key)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// stopTrunks stops every registration (un-registering them in parallel)
// and keeps SyncTrunks from starting more. Called by Close.
func (s *Server) stopTrunks() {
	ts := &s.trunks
	ts.sync.Lock()
	defer ts.sync.Unlock()
	ts.mu.Lock()
	ts.closed = true
	var stop []*registration
	for _, r := range ts.regs {
		stop = append(stop, r)
	}
	ts.regs = nil
	ts.mu.Unlock()
	stopAll(stop)
}

func stopAll(regs []*registration) {
	var wg sync.WaitGroup
	for _, r := range regs {
		wg.Go(r.stop)
	}
	wg.Wait()
}

// Trunks returns the registration state of every trunk of the plan as of
// the last SyncTrunks, in plan order; trunks that do not register are
// TrunkDisabled. Safe for concurrent use.
func (s *Server) Trunks() []TrunkState {
	ts := &s.trunks
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]TrunkState, 0, len(ts.order))
	for _, st := range ts.order {
		if r := ts.regs[st.Name]; r != nil {
			st = r.snapshot()
		}
		out = append(out, st)
	}
	return out
}

// regSpec derives what a trunk's REGISTERs carry from its definition and our
// listeners.
func (s *Server) regSpec(t *dialplan.Trunk) regSpec {
	spec := regSpec{name: t.Name, username: t.Username, password: t.Password.Reveal(), interval: t.RegisterInterval}
	scheme := "sip"
	if strings.HasPrefix(t.Registrar, "sips:") {
		scheme = "sips"
	}
	spec.registrar = sip.Uri{Scheme: scheme, Host: t.Host, Port: t.Port}
	// The address of record is the trunk's user at the carrier's domain
	// (RFC 3261 §10.2: To names the AOR, From the one registering it).
	user := t.Username
	if user == "" {
		user = "dialroom"
	}
	spec.aor = sip.Uri{Scheme: scheme, User: user, Host: t.Host}

	var addr net.Addr
	switch t.Transport {
	case dialplan.UDP:
		spec.transport = "UDP"
		if len(s.udp) > 0 {
			addr = s.udp[0].LocalAddr()
		}
	case dialplan.TCP:
		spec.transport = "TCP"
		if len(s.tcp) > 0 {
			addr = s.tcp[0].Addr()
		}
	case dialplan.TLS:
		// RFC 3261 §26.2: REGISTER over a TLS connection we open to the
		// registrar (port 5061 by default, §19.1.2), verified by
		// trunk_tls.go. The carrier reaches us at our TLS listener, or
		// over that same connection (RFC 5923 connection reuse), which
		// sipgo reads like any other.
		spec.transport = "TLS"
		if len(s.tls) > 0 {
			addr = s.tls[0].Addr()
		}
	default:
		spec.unusable = fmt.Sprintf("transport %s is not supported for registration", t.Transport)
		return spec
	}
	if addr == nil {
		spec.unusable = fmt.Sprintf("no %s listener: configure one (sip.%s in the server config) to register over %s", t.Transport, t.Transport, t.Transport)
		return spec
	}
	ap := netipAddrPort(addr)
	// Our Contact must be reachable by the carrier: the listener's address,
	// or MediaIP (the node's address as peers reach it) when the listener
	// is bound to every address. Its user is the trunk's username, which
	// invite.go's dialledNumber recognises when a carrier keeps the
	// Contact as the Request-URI.
	host := ap.Addr().Unmap()
	if !host.IsValid() || host.IsUnspecified() {
		host = s.cfg.MediaIP
	}
	spec.contact = sip.Uri{Scheme: "sip", User: user, Host: host.String(), Port: int(ap.Port())}
	switch {
	case spec.transport == "TLS" && scheme == "sips":
		// RFC 5630 (SIPS): a binding made through a SIPS registrar is a
		// SIPS Contact, so the carrier keeps every hop to us on TLS.
		spec.contact.Scheme = "sips"
	case spec.transport == "TCP" || spec.transport == "TLS":
		// RFC 3261 §19.1.4: sip: with transport=tls (or tcp) asks for that
		// transport to our listener without requiring TLS end to end.
		spec.contact.UriParams = sip.NewParams()
		spec.contact.UriParams.Add("transport", strings.ToLower(spec.transport))
	default:
		// UDP: send from the listener itself, so the carrier sees the
		// address it will send calls to, and a NAT on the way keeps a
		// mapping for it.
		spec.laddr = sip.Addr{IP: net.IP(ap.Addr().AsSlice()), Port: int(ap.Port())}
	}
	return spec
}
