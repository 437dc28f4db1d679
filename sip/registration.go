package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// One trunk's registration: the REGISTER transaction with its digest
// challenge (RFC 3261 §10.2, §22), refreshes before the binding lapses,
// retries with backoff, and the un-REGISTER when it stops. trunk.go starts
// and stops registrations and reports their state.

// retryDelay is the wait after the failures-th consecutive failure:
// exponential backoff from BackoffMin doubling to BackoffMax, minus up to a
// quarter of it as jitter (j in [0, 1)) so that trunks failing together do
// not retry together; never shorter than a Retry-After the carrier sent
// (RFC 3261 §20.33; capped at maxRetryAfter).
func retryDelay(cfg RegistrationConfig, failures int, retryAfter time.Duration, j float64) time.Duration {
	d := cfg.BackoffMin
	for i := 1; i < failures && d < cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, cfg.BackoffMax)
	d -= time.Duration(float64(d) * 0.25 * j)
	if retryAfter > 0 {
		d = max(d, min(retryAfter, maxRetryAfter))
	}
	return d
}

// refreshDelay is when to refresh a binding granted for granted: at 80–90%
// of it (j in [0, 1) picks where), early enough for a retry or two before
// it lapses (RFC 3261 §10.2.1 leaves the timing to the client).
func refreshDelay(granted time.Duration, j float64) time.Duration {
	return max(time.Duration(float64(granted)*(0.80+0.10*j)), minRefresh)
}

// registrarClient is what a registration needs of sipgo's client; a
// *sipgo.Client is one, unit tests fake it.
type registrarClient interface {
	Do(ctx context.Context, req *sip.Request, opts ...sipgo.ClientRequestOption) (*sip.Response, error)
	DoDigestAuth(ctx context.Context, req *sip.Request, res *sip.Response, auth sipgo.DigestAuth) (*sip.Response, error)
}

// regSpec is everything one registration sends.
type regSpec struct {
	name      string
	registrar sip.Uri // the Request-URI (RFC 3261 §10.2: the domain, no user)
	aor       sip.Uri // To and From: the address of record
	contact   sip.Uri // where the carrier sends our calls
	transport string  // "UDP", "TCP" or "TLS"
	laddr     sip.Addr
	username  string
	password  string
	interval  time.Duration
	// unusable, when set, says why the trunk cannot register at all (no
	// listener for its transport, whose address our Contact must name); no
	// REGISTER is sent.
	unusable string
}

// registration keeps one trunk registered. Its goroutine (run) owns the
// REGISTER dialog state (callID, fromTag, cseq); state is guarded by mu and
// read by Server.Trunks.
type registration struct {
	spec   regSpec
	key    regKey
	roots  *x509.CertPool   // the trunk's tls_ca as the registration started with it
	cert   *tls.Certificate // the trunk's tls_cert likewise; nil: the server's
	client registrarClient
	cfg    RegistrationConfig
	now    func() time.Time
	log    *slog.Logger

	// RFC 3261 §10.2.4: refreshes keep the Call-ID and From tag and raise
	// the CSeq. Owned by run.
	callID, fromTag string
	cseq            uint32

	mu    sync.Mutex
	state TrunkState

	cancel context.CancelFunc
	done   chan struct{}
}

func newRegistration(spec regSpec, key regKey, client registrarClient, cfg RegistrationConfig, now func() time.Time, log *slog.Logger) *registration {
	return &registration{
		spec: spec, key: key, client: client, cfg: cfg.withDefaults(), now: now,
		log:     log.With("trunk", spec.name),
		callID:  sip.GenerateTagN(24),
		fromTag: sip.GenerateTagN(16),
		cseq:    1,
		state:   TrunkState{Name: spec.name, State: TrunkRegistering},
		done:    make(chan struct{}),
	}
}

// start runs the registration's goroutine until stop.
func (r *registration) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.run(ctx)
}

// stop ends the goroutine, which un-registers (bounded by
// UnregisterTimeout) if it was registered, and waits for it.
func (r *registration) stop() {
	r.cancel()
	<-r.done
}

func (r *registration) snapshot() TrunkState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// update changes the state and logs changes of state, status or reason.
func (r *registration) update(f func(*TrunkState)) {
	r.mu.Lock()
	before := r.state
	f(&r.state)
	after := r.state
	r.mu.Unlock()
	if before.State == after.State && before.LastStatus == after.LastStatus && before.LastReason == after.LastReason {
		return
	}
	level := slog.LevelInfo
	if after.State == TrunkFailing {
		level = slog.LevelWarn
	}
	r.log.Log(context.Background(), level, "sip: trunk "+after.State, "status", after.LastStatus, "reason", after.LastReason,
		"failures", after.Failures, "registered_until", after.RegisteredUntil, "next_attempt", after.NextAttempt)
}

// outcome is the result of one REGISTER attempt.
type outcome struct {
	status     int
	reason     string
	granted    time.Duration // ok: how long the registrar keeps the binding
	retryAfter time.Duration // failed: the carrier's Retry-After, 0 if none
	ok         bool
}

// run registers, refreshes before expiry, retries failures with backoff,
// and un-registers when ctx ends. It is the registration's goroutine.
func (r *registration) run(ctx context.Context) {
	defer close(r.done)
	if r.spec.unusable != "" {
		r.update(func(s *TrunkState) { s.State, s.LastReason = TrunkFailing, r.spec.unusable })
		<-ctx.Done()
		return
	}
	failures := 0
	for {
		o := r.attempt(ctx, r.spec.interval)
		if ctx.Err() != nil {
			break
		}
		now := r.now()
		var wait time.Duration
		if o.ok {
			failures = 0
			wait = refreshDelay(o.granted, r.cfg.Jitter())
			r.update(func(s *TrunkState) {
				*s = TrunkState{Name: s.Name, State: TrunkRegistered, LastStatus: o.status, LastReason: o.reason,
					RegisteredUntil: now.Add(o.granted), NextAttempt: now.Add(wait)}
			})
		} else {
			failures++
			wait = retryDelay(r.cfg, failures, o.retryAfter, r.cfg.Jitter())
			r.update(func(s *TrunkState) {
				*s = TrunkState{Name: s.Name, State: TrunkFailing, LastStatus: o.status, LastReason: o.reason,
					NextAttempt: now.Add(wait), Failures: failures}
			})
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
			continue
		}
		break
	}
	st := r.snapshot()
	if st.State == TrunkRegistered && st.RegisteredUntil.After(r.now()) {
		// RFC 3261 §10.2.2: Expires 0 removes our binding, so the carrier
		// stops sending calls to an address nobody answers.
		uctx, cancel := context.WithTimeout(context.Background(), r.cfg.UnregisterTimeout)
		o := r.attempt(uctx, 0)
		cancel()
		if !o.ok {
			r.log.Info("sip: trunk un-register failed", "status", o.status, "reason", o.reason)
		}
	}
	r.update(func(s *TrunkState) {
		*s = TrunkState{Name: s.Name, State: TrunkDisabled, LastStatus: s.LastStatus, LastReason: "stopped"}
	})
}

// newRequest builds a REGISTER asking for expires (RFC 3261 §10.2).
func (r *registration) newRequest(expires time.Duration) *sip.Request {
	req := sip.NewRequest(sip.REGISTER, *r.spec.registrar.Clone())
	req.SetTransport(r.spec.transport)
	req.Laddr = r.spec.laddr
	from := &sip.FromHeader{Address: *r.spec.aor.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", r.fromTag)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: *r.spec.aor.Clone(), Params: sip.NewParams()})
	callID := sip.CallIDHeader(r.callID)
	req.AppendHeader(&callID)
	r.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER})
	req.AppendHeader(&sip.ContactHeader{Address: *r.spec.contact.Clone()})
	exp := sip.ExpiresHeader(uint32(expires / time.Second))
	req.AppendHeader(&exp)
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS"))
	cl := sip.ContentLengthHeader(0)
	req.AppendHeader(&cl)
	return req
}

// attempt sends one REGISTER for expires and follows it through: one
// answer to a digest challenge (RFC 3261 §22.2; MD5 or SHA-256 per RFC
// 7616, qop=auth, by sipgo's DoDigestAuth), another only when the carrier
// says our nonce was stale (RFC 7616 §3.3), and one retry with the
// registrar's Min-Expires after 423 (RFC 3261 §10.2.8). A second challenge
// or a 403 is a failure that keeps the carrier's reason phrase.
func (r *registration) attempt(ctx context.Context, expires time.Duration) outcome {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	ctx, note := withClientCertNote(ctx, r.cert)
	req := r.newRequest(expires)
	defer func() {
		if c := req.CSeq(); c != nil {
			r.cseq = c.SeqNo // DoDigestAuth raised it
		}
	}()
	res, err := r.client.Do(ctx, req)
	authed, staleRetried, intervalRetried := false, false, false
	for {
		if err != nil {
			return outcome{reason: transportReason(err, note)}
		}
		switch code := res.StatusCode; {
		case code == 401 || code == 407:
			switch {
			case r.spec.username == "":
				return outcome{status: code, reason: res.Reason + " (the trunk has no credentials)"}
			case authed && (staleRetried || !staleChallenge(res)):
				return outcome{status: code, reason: res.Reason}
			case authed:
				staleRetried = true
			}
			authed = true
			res, err = r.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: r.spec.username, Password: r.spec.password})
		case code == 423 && !intervalRetried && expires > 0:
			intervalRetried = true
			min, ok := headerSeconds(res, "Min-Expires")
			if !ok || min <= expires || min > 24*time.Hour {
				return outcome{status: code, reason: res.Reason}
			}
			r.cseq = req.CSeq().SeqNo
			expires = min
			req = r.newRequest(expires)
			authed, staleRetried = false, false
			res, err = r.client.Do(ctx, req)
		case code >= 200 && code < 300:
			o := outcome{status: code, reason: res.Reason, ok: true}
			if expires > 0 {
				o.granted = grantedExpiry(res, r.spec.contact, expires)
				if o.granted <= 0 {
					return outcome{status: code, reason: res.Reason + " (the registrar kept no binding)"}
				}
			}
			return o
		default:
			ra, _ := headerSeconds(res, "Retry-After")
			return outcome{status: code, reason: res.Reason, retryAfter: ra}
		}
	}
}

// transportReason is what a trunk's state says when a REGISTER got no
// response: a refused TLS certificate as the console should show it
// ("TLS: certificate for carrier.example is not trusted …"); a carrier
// that asked for our certificate in the handshake of this attempt and then
// gave no answer as having refused it (note, see clientCertNote); else the
// transport's error.
func transportReason(err error, note *clientCertNote) string {
	var tlsErr *TLSPeerError
	if errors.As(err, &tlsErr) {
		return tlsErr.Error()
	}
	if note != nil && note.asked.Load() {
		if !note.presented.Load() {
			return "TLS: the carrier requires a client certificate and we have none to present (ours is the TLS listener's: configure sip.tls and http.tls): " + err.Error()
		}
		return "TLS: the carrier refused our certificate (the TLS listener's; the carrier must trust its issuer, and it must allow client authentication): " + err.Error()
	}
	return err.Error()
}

// staleChallenge reports whether a 401/407 says our nonce had expired
// (stale=true, RFC 7616 §3.3), which asks for a new try, not new
// credentials.
func staleChallenge(res *sip.Response) bool {
	for _, name := range []string{"WWW-Authenticate", "Proxy-Authenticate"} {
		for _, h := range res.GetHeaders(name) {
			v := strings.ToLower(strings.ReplaceAll(h.Value(), " ", ""))
			if strings.Contains(v, "stale=true") || strings.Contains(v, `stale="true"`) {
				return true
			}
		}
	}
	return false
}

// headerSeconds reads a header whose value starts with delta-seconds
// (Retry-After may carry a comment and parameters after it, RFC 3261
// §20.33).
func headerSeconds(res *sip.Response, name string) (time.Duration, bool) {
	h := res.GetHeader(name)
	if h == nil {
		return 0, false
	}
	return parseSeconds(h.Value())
}

func parseSeconds(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end == 0 || end > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(v[:end])
	if err != nil {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

// grantedExpiry is how long the registrar keeps our binding (RFC 3261
// §10.2.4): the expires parameter of our Contact in the 200, else its
// Expires header, else what we asked for. A 200 listing one contact that is
// not ours verbatim (a registrar that rewrote it) counts as ours.
func grantedExpiry(res *sip.Response, ours sip.Uri, asked time.Duration) time.Duration {
	var contacts []*sip.ContactHeader
	for _, h := range res.GetHeaders("Contact") {
		if c, ok := h.(*sip.ContactHeader); ok {
			contacts = append(contacts, c)
		}
	}
	var match *sip.ContactHeader
	for _, c := range contacts {
		if sameContact(c.Address, ours) {
			match = c
			break
		}
	}
	if match == nil && len(contacts) == 1 {
		match = contacts[0]
	}
	if match != nil {
		if v, ok := match.Params.Get("expires"); ok {
			if d, ok := parseSeconds(v); ok {
				return d
			}
		}
	}
	if d, ok := headerSeconds(res, "Expires"); ok {
		return d
	}
	return asked
}

// sameContact compares the parts of two URIs a registrar keeps (RFC 3261
// §19.1.4, loosely: user, host case-insensitively, port).
func sameContact(a, b sip.Uri) bool {
	return a.User == b.User && strings.EqualFold(a.Host, b.Host) && a.Port == b.Port
}

var _ registrarClient = (*sipgo.Client)(nil)
