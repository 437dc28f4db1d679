package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Config configures a Server. Required fields are noted; zero values of the
// others take the defaults noted.
type Config struct {
	// UDP and TCP are the addresses to listen on for SIP (RFC 3261 §18),
	// host:port; port 0 picks a free port (tests), see Server.Addrs. At least
	// one address is required.
	UDP, TCP []string
	// TLS are addresses to listen on for SIP over TLS (RFC 3261 §26.2,
	// port 5061 by convention), served with TLSConfig's certificate.
	TLS []string
	// TLSConfig carries the certificate for the TLS listeners (the HTTPS
	// server's: files, self-signed or ACME). Required when TLS is set.
	TLSConfig *tls.Config
	// TLSClientCertificate, if set, returns the certificate presented to
	// carriers that ask for one on the TLS connections we open (mutual
	// TLS); nil presents TLSConfig's first certificate, if any. It is for a
	// TLSConfig that makes certificates on demand (ACME).
	TLSClientCertificate func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	// MediaIP is the address put in SDP (c=, o=) and in our Contact when a
	// listener is bound to every address: the node's address as peers reach
	// it. Required.
	MediaIP netip.Addr
	// RTPBind is the local address RTP sockets bind; the zero Addr binds
	// every address.
	RTPBind netip.Addr
	// Ports hands out RTP ports (one even port per call). Required.
	Ports *media.PortAllocator
	// Plan returns the dialplan in force; it is called once per call, so a
	// reload applies to the next call without touching calls in progress.
	// Required.
	Plan func() *dialplan.Plan
	// Engine is the conference engine callers are put in. Required.
	Engine *bridge.Engine
	// Clock is the shared media clock; it plays prompts and tones to calls
	// that are not in a room's mix. Pass the engine's clock. Required.
	Clock *media.Clock
	// LiveNumber looks up an issued number (11 digits). A number that does
	// not exist is an ENOTFOUND error or (nil, nil); one that is not live at
	// now is refused like an unknown one. Required.
	LiveNumber func(ctx context.Context, digits string, now time.Time) (*dialroom.Number, error)
	// OperatorName returns the display name of an operator by login, shown to
	// guests; nil or an error shows the login.
	OperatorName func(ctx context.Context, login string) (string, error)
	// Record receives a record of every call that ended before it reached a
	// room's lobby (refused, cancelled, failed); the bridge records the rest.
	// It is called on the call's goroutine and must not block. Nil drops them.
	Record func(dialroom.CallRecord)
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// Now is the wall clock for number lifetimes and records; nil means
	// time.Now.
	Now func() time.Time
	// AnswerDelay is how long the caller hears ringing (180) before we
	// answer. 0 answers at once: the caller should hear the waiting prompt
	// as soon as possible; tests use a delay to exercise CANCEL.
	AnswerDelay time.Duration
	// RTPTimeout: see media.DefaultRTPTimeout. Zero takes the default.
	RTPTimeout time.Duration
	// UserAgent is the User-Agent and Server header value; "" means "dialroom".
	UserAgent string
	// Registration tunes trunk registration (trunk.go); the zero value
	// takes the defaults.
	Registration RegistrationConfig
	// Credentials returns an operator's softphone credentials by login, for
	// the registrar and for INVITEs from softphones (registrar.go). A login
	// that does not exist is an error or zero credentials. Nil: no softphone
	// can authenticate, every REGISTER and non-trunk INVITE is refused.
	Credentials func(ctx context.Context, login string) (dialroom.SIPCredentials, error)
	// Realm is the digest realm of our challenges; "" means DefaultRealm.
	// Stored credentials are only valid for the realm they were made in.
	Realm string
	// DigestAlgorithms are offered in challenges, in order: "MD5",
	// "SHA-256". Empty means DefaultDigestAlgorithms().
	DigestAlgorithms []string
	// AuthLimiter counts digest failures per source address; an address at
	// its limit is refused without a check. Nil: 5 failures per 10 minutes.
	AuthLimiter *dialroom.Limiter
	// ConnsPerAddress caps the TCP and TLS connections one address may hold
	// open at once (connlimit.go); 0 means DefaultConnsPerAddress.
	ConnsPerAddress int
	// OperatorByExtension and Operator look operators up by extension
	// number and by login for dialplan extension routes (extension.go):
	// a route's target is an extension number first, then a login; a
	// softphone's calls come from its operator's extension. Nil or an
	// ENOTFOUND error: no such operator (404). The caller owns the result.
	OperatorByExtension func(ctx context.Context, ext string) (*dialroom.Operator, error)
	Operator            func(ctx context.Context, login string) (*dialroom.Operator, error)
	// ExtensionRingTimeout bounds how long an extension rings before the
	// caller gets 480 where the route names no ring_timeout; 0 means
	// DefaultExtensionRingTimeout.
	ExtensionRingTimeout time.Duration
}

func (c *Config) validate() error {
	var errs []error
	if len(c.UDP)+len(c.TCP)+len(c.TLS) == 0 {
		errs = append(errs, errors.New("no UDP, TCP or TLS listen address"))
	}
	if len(c.TLS) > 0 && c.TLSConfig == nil {
		errs = append(errs, errors.New("TLS listeners without a certificate (TLSConfig)"))
	}
	if !c.MediaIP.IsValid() || c.MediaIP.IsUnspecified() {
		errs = append(errs, errors.New("MediaIP must be a concrete address"))
	}
	if c.Ports == nil || c.Plan == nil || c.Engine == nil || c.Clock == nil || c.LiveNumber == nil {
		errs = append(errs, errors.New("missing one of Ports, Plan, Engine, Clock, LiveNumber (all required)"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sip: config: %w", err)
	}
	return nil
}

// Server is the SIP side of one node: its listeners, the calls in progress
// and their handlers. Every exported method is safe for concurrent use.
//
// Each call has one goroutine, its supervisor (call.run), which owns the
// call's state; sipgo's handler goroutines and the RTP reader only post
// messages to it. Close ends every call and waits for their goroutines.
type Server struct {
	cfg Config
	log *slog.Logger

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	dialog map[string]*sipgo.DialogUA // per transport ("UDP", "TCP"): our Contact differs

	udp []net.PacketConn
	tcp []net.Listener
	tls []net.Listener
	// connLimits are the TCP and TLS listeners' caps, for RefusedConns.
	connLimits []*connLimit
	serve      sync.WaitGroup

	// minSE is our Min-SE (RFC 4028 §5) in nanoseconds; tests lower it
	// (atomic: handlers read it while a test may set it).
	minSE atomic.Int64

	ctx    context.Context // cancelled by Close: every call ends
	cancel context.CancelCauseFunc

	mu     sync.Mutex
	calls  map[string]*call // by dialog ID
	closed bool
	wg     sync.WaitGroup // call goroutines

	trunks trunkSet // trunk registrations (trunk.go)

	prompts *promptCache // the dialplan's prompts as sound (prompts.go)

	// rtp reads every call's RTP at the start of each media clock tick
	// (media.Poller); nil where the platform has none, and calls' endpoints
	// then read with a goroutine each. Closed by Close after every call.
	rtp *media.Poller

	dialouts dialouts // calls placed by Dial (dialout.go); maps guarded by mu

	auth *authenticator // softphones' digest credentials (digestauth.go)
	regs bindings       // softphone registrations (registrar.go)

	exts extensionCalls // calls ringing or bridged to an extension (extension.go)

	pracks prackIndex // reliable provisionals awaiting PRACK, by dialog ID (prack.go); guarded by mu
}

// New opens the listeners and starts serving. The caller must Close the
// server.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "dialroom"
	}
	if cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	if cfg.AuthLimiter == nil {
		cfg.AuthLimiter = dialroom.NewLimiter(5, 10*time.Minute, cfg.Now)
	}
	if cfg.Credentials == nil {
		cfg.Credentials = func(context.Context, string) (dialroom.SIPCredentials, error) {
			return dialroom.SIPCredentials{}, nil
		}
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "sip"), calls: map[string]*call{}, dialog: map[string]*sipgo.DialogUA{}}
	s.minSE.Store(int64(DefaultMinSessionExpires))
	if len(cfg.DigestAlgorithms) == 0 {
		cfg.DigestAlgorithms = DefaultDigestAlgorithms()
	}
	s.auth = newAuthenticator(cfg.Realm, cfg.DigestAlgorithms, s.credentialsOf, cfg.AuthLimiter, cfg.Now, s.log)
	s.prompts = newPromptCache(s.log)
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	if p, err := media.NewPoller(media.PollerConfig{Clock: cfg.Clock}); err != nil {
		s.log.Warn("RTP read by a goroutine per call", "reason", err)
	} else {
		s.rtp = p
	}

	var err error
	s.ua, err = sipgo.NewUA(sipgo.WithUserAgent(cfg.UserAgent), sipgo.WithUserAgentHostname(cfg.MediaIP.String()),
		sipgo.WithUserAgenTLSConfig(s.tlsClientConfig()), // connections we open to TLS trunks (trunk_tls.go)
		// A TCP or TLS connection that closes ends the transactions on it at
		// once (a transport error, RFC 3261 §17.1.4) instead of at their
		// timers: a TLS 1.3 carrier refusing our certificate closes the
		// connection after the handshake, and the trunk shows why within
		// milliseconds, not at Timer F (32 s). A response could not come
		// back on that connection anyway; a request on the connection a
		// softphone dropped gets no answer it could read.
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(s.log), sip.WithTransactionLayerTerminateOnConnClose()),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(s.log)))
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	fail := func(err error) (*Server, error) {
		s.Close()
		return nil, err
	}
	if s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(s.log)); err != nil {
		return fail(fmt.Errorf("sip: %w", err))
	}
	if s.client, err = sipgo.NewClient(s.ua, sipgo.WithClientHostname(cfg.MediaIP.String()), sipgo.WithClientLogger(s.log)); err != nil {
		return fail(fmt.Errorf("sip: %w", err))
	}
	s.srv.OnInvite(s.onInvite)
	s.srv.OnAck(s.onAck)
	s.srv.OnBye(s.onBye)
	s.srv.OnCancel(s.onCancel)
	s.srv.OnOptions(s.onOptions)
	s.srv.OnRegister(s.onRegister)
	s.srv.OnRequest(sip.PRACK, s.onPrack)
	s.srv.OnRequest(sip.INFO, s.onInfo)   // keys as SIP INFO (info.go)
	s.srv.OnRequest(sip.REFER, s.onRefer) // blind transfer (transfer.go)

	for _, a := range cfg.UDP {
		conn, err := net.ListenPacket("udp", a)
		if err != nil {
			return fail(fmt.Errorf("sip: listen udp %s: %w", a, err))
		}
		s.udp = append(s.udp, conn)
		s.addDialogUA("UDP", conn.LocalAddr())
	}
	// One cap for both kinds, counted per listener kind and address.
	limit := func(l net.Listener, kind string) net.Listener {
		cl := newConnLimit(l, cfg.ConnsPerAddress, func(addr netip.Addr) {
			// A line fail2ban can match, as for authentication failures.
			s.log.Warn("sip: connection refused: too many from one address", "source", addr, "transport", kind)
		})
		s.connLimits = append(s.connLimits, cl)
		return cl
	}
	for _, a := range cfg.TCP {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fail(fmt.Errorf("sip: listen tcp %s: %w", a, err))
		}
		s.tcp = append(s.tcp, limit(l, "tcp"))
		s.addDialogUA("TCP", l.Addr())
	}
	for _, a := range cfg.TLS {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fail(fmt.Errorf("sip: listen tls %s: %w", a, err))
		}
		s.tls = append(s.tls, tls.NewListener(limit(l, "tls"), cfg.TLSConfig))
		s.addDialogUA("TLS", l.Addr())
	}
	// Serving starts once every listener is open: s.dialog is read-only from
	// here on.
	for _, conn := range s.udp {
		s.serve.Go(func() { _ = s.srv.ServeUDP(conn) })
	}
	for _, l := range s.tcp {
		s.serve.Go(func() { _ = s.srv.ServeTCP(l) })
	}
	for _, l := range s.tls {
		s.serve.Go(func() { _ = s.srv.ServeTLS(l) })
	}
	s.log.Info("sip: listening", "udp", s.UDPAddrs(), "tcp", s.TCPAddrs(), "tls", s.TLSAddrs())
	s.SyncTrunks()
	return s, nil
}

// dialogUAFor returns the dialog layer that answers req: the one of the
// transport it came on, else UDP's or TCP's.
func (s *Server) dialogUAFor(req *sip.Request) *sipgo.DialogUA {
	dua := s.dialog[req.Transport()]
	if dua == nil {
		if dua = s.dialog["UDP"]; dua == nil {
			dua = s.dialog["TCP"]
		}
	}
	return dua
}

// contactFor is our Contact in responses to req (RFC 3261 §12.1.1).
func (s *Server) contactFor(req *sip.Request) sip.Header {
	if dua := s.dialogUAFor(req); dua != nil {
		return &dua.ContactHDR
	}
	return nil
}

// addDialogUA makes the dialog layer for the first listener of a transport:
// our Contact (RFC 3261 §8.1.1.8) names that listener.
func (s *Server) addDialogUA(transport string, addr net.Addr) {
	if _, ok := s.dialog[transport]; ok {
		return
	}
	ap := netipAddrPort(addr)
	host := ap.Addr()
	if !host.IsValid() || host.IsUnspecified() {
		host = s.cfg.MediaIP
	}
	uri := sip.Uri{Scheme: "sip", User: "dialroom", Host: host.String(), Port: int(ap.Port())}
	if transport == "TCP" || transport == "TLS" {
		// RFC 3261 §19.1.4: sip: with transport=tls rather than sips:, so a
		// peer does not insist on TLS for every hop of the dialog.
		uri.UriParams = sip.NewParams()
		uri.UriParams.Add("transport", strings.ToLower(transport))
	}
	s.dialog[transport] = &sipgo.DialogUA{Client: s.client, ContactHDR: sip.ContactHeader{Address: uri}}
}

func netipAddrPort(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort()
	case *net.TCPAddr:
		return a.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// RefusedConns returns how many TCP and TLS connections were closed
// unserved because their address held ConnsPerAddress already.
func (s *Server) RefusedConns() uint64 {
	var n uint64
	for _, cl := range s.connLimits {
		n += cl.refused.Load()
	}
	return n
}

// UDPAddrs returns the bound UDP addresses, in Config order.
func (s *Server) UDPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, c := range s.udp {
		out = append(out, netipAddrPort(c.LocalAddr()))
	}
	return out
}

// TLSAddrs returns the bound TLS addresses, in Config order.
func (s *Server) TLSAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, l := range s.tls {
		out = append(out, netipAddrPort(l.Addr()))
	}
	return out
}

// TCPAddrs returns the bound TCP addresses, in Config order.
func (s *Server) TCPAddrs() []netip.AddrPort {
	var out []netip.AddrPort
	for _, l := range s.tcp {
		out = append(out, netipAddrPort(l.Addr()))
	}
	return out
}

// Calls returns how many calls are in progress.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls) + s.exts.count()
}

// Close un-registers the trunks (bounded by
// RegistrationConfig.UnregisterTimeout), ends every call (each hangs up with
// BYE where it was answered), waits for their goroutines, and closes the
// listeners. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return nil
	}
	s.stopTrunks()
	s.cancel(errShuttingDown)
	s.wg.Wait()
	for _, c := range s.udp {
		_ = c.Close()
	}
	for _, l := range s.tcp {
		_ = l.Close()
	}
	for _, l := range s.tls {
		_ = l.Close()
	}
	if s.ua != nil {
		_ = s.ua.Close()
	}
	s.serve.Wait()
	if s.rtp != nil {
		_ = s.rtp.Close() // every call, and so every endpoint, has ended
	}
	return nil
}

// addCall registers a call under its dialog ID; false when the server is
// closing (the caller then refuses the INVITE with 503).
func (s *Server) addCall(c *call) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.calls[c.id] = c
	s.wg.Add(1)
	return true
}

// removeCall forgets a call; called once by the call's goroutine as it ends.
func (s *Server) removeCall(c *call) {
	s.mu.Lock()
	delete(s.calls, c.id)
	s.mu.Unlock()
	s.wg.Done()
}

// lookupCall finds the call an in-dialog request belongs to (RFC 3261
// §12.2.2: by Call-ID and tags).
func (s *Server) lookupCall(req *sip.Request) *call {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

// respond answers req statelessly-in-spirit through its transaction with the
// status statusOf gives for err, logging failures to send.
func (s *Server) respondErr(req *sip.Request, tx sip.ServerTransaction, err error) {
	code, reason := statusOf(err)
	s.respond(req, tx, code, reason, statusHeaders(err)...)
}

func (s *Server) respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip: respond", "status", code, "err", err)
	}
}

// allowHeader lists the methods we handle (RFC 3261 §20.5).
func allowHeader() sip.Header {
	return sip.NewHeader("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, PRACK, INFO, REFER")
}

// onOptions answers OPTIONS (RFC 3261 §11) with what we accept: carriers
// and load balancers use it as a keep-alive.
func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseUnsupported(req, tx) {
		return
	}
	s.respond(req, tx, 200, "OK", allowHeader(), sip.NewHeader("Accept", "application/sdp"), supportedHeader())
}

// onAck confirms the dialog of an answered call (RFC 3261 §13.3.1.4). An
// ACK for a non-2xx final response is absorbed by its transaction and never
// reaches here.
func (s *Server) onAck(req *sip.Request, tx sip.ServerTransaction) {
	if c := s.lookupCall(req); c != nil && c.dlg != nil {
		c.noteAck(req.Body()) // the answer to an offer of ours, if any (latesdp.go)
		_ = c.dlg.ReadAck(req, tx)
		return
	}
	s.onExtensionAck(req, tx)
}

// onBye ends a call from the caller's side (RFC 3261 §15.1.2): 200 OK, then
// the call's goroutine tears it down.
func (s *Server) onBye(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseUnsupported(req, tx) {
		return
	}
	c := s.lookupCall(req)
	if c == nil || c.dlg == nil {
		if s.onDialoutBye(req, tx) || s.onExtensionBye(req, tx) {
			return
		}
		s.respondErr(req, tx, errNoDialog)
		return
	}
	if err := c.dlg.ReadBye(req, tx); err != nil {
		s.respondErr(req, tx, fmt.Errorf("%w: %v", errMalformed, err))
		return
	}
	c.post(byeReceived{})
}

// onCancel answers a CANCEL that matched no INVITE transaction (sipgo's
// transaction layer handles the ones that match: 200 to the CANCEL and 487 to
// the INVITE, RFC 3261 §9.2).
func (s *Server) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	s.respondErr(req, tx, errNoDialog)
}
