package sip

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
)

// extensionPlan routes DIDs of the loopback carrier to extensions, and
// operators' extensions to each other.
const extensionPlan = `
trunks:
  - name: loopback
    registrar: sip:127.0.0.1:5060
    register_interval: 0
    sources: ["127.0.0.1"]
    dids: ["0312345679", "0312345680", "0312345681"]
routes:
  - name: operators
    to: _2XX
    from_extension: _2XX
    action: extension
  - name: front-desk
    to: "0312345679"
    action: extension
    extension: "201"
  - name: by-login
    to: "0312345680"
    action: extension
    extension: carol
  - name: nobody
    to: "0312345681"
    action: extension
    extension: "299"
`

const (
	frontDesk   = "0312345679" // rings alice (201)
	carolDID    = "0312345680" // rings carol by login
	nobodyDID   = "0312345681" // an extension nobody has
	callerPhone = "09011112222"
)

// What a test softphone does with an INVITE.
type answerMode int

const (
	modeAnswer    answerMode = iota // 180, then 200 after answerAfter
	modeBusy                        // 180, then 486
	modeRing                        // 180, and rings until cancelled
	modeEarly                       // 180, 183 with SDP and its tone (early media); 200 after answerAfter, or rings until cancelled when 0
	modeEarlyBusy                   // 180, 183 with SDP and its tone; 486 after answerAfter
)

// sipPhone is a SIP user agent of the tests built on sipgo, at its own
// loopback address: a caller (from 127.0.0.1, the carrier) or an operator's
// softphone whose binding the test files with the registrar. Its media is
// an rtpPeer speaking law with a tone of hz.
type sipPhone struct {
	t    *testing.T
	ip   string
	conn net.PacketConn
	cli  *sipgo.Client
	uac  *sipgo.DialogClientCache
	uas  *sipgo.DialogServerCache
	peer *rtpPeer
	law  media.G711

	mu          sync.Mutex
	mode        answerMode    // set with behave
	answerAfter time.Duration // set with behave
	invites     []*sip.Request
	cancelled   int
	byes        int
	answered    *sipgo.DialogServerSession
	from        string   // the From user of the last INVITE received
	notified    []string // the bodies of NOTIFYs received (a transfer's sipfrag)
	events      chan string
}

func newSIPPhone(t *testing.T, ip string, hz float64, law media.G711) *sipPhone {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-phone"), sipgo.WithUserAgentHostname(ip))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname(ip))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "phone", Host: ip, Port: port}}
	p := &sipPhone{t: t, ip: ip, conn: conn, cli: cli, law: law, events: make(chan string, 32),
		uac: sipgo.NewDialogClientCache(cli, contact), uas: sipgo.NewDialogServerCache(cli, contact)}
	p.peer = newRTPPeerLaw(t, hz, law)
	srv.OnInvite(p.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = p.uas.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.uas.ReadBye(req, tx); err != nil {
			if err := p.uac.ReadBye(req, tx); err != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				return
			}
		}
		p.mu.Lock()
		p.byes++
		p.mu.Unlock()
		p.event("bye")
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		p.mu.Lock()
		p.notified = append(p.notified, strings.TrimSpace(string(req.Body())))
		p.mu.Unlock()
		p.event("notify")
	})
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeUDP(conn) }()
	t.Cleanup(func() {
		_ = ua.Close()
		_ = conn.Close()
		<-done
	})
	p.waitServing()
	return p
}

// waitServing returns once the phone's listener answers an OPTIONS: its
// transport has the socket, so requests sent from it (Laddr) reuse it.
func (p *sipPhone) waitServing() {
	p.t.Helper()
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		p.t.Fatal(err)
	}
	defer probe.Close()
	msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-probe\r\nMax-Forwards: 70\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:%s>\r\nCall-ID: probe-%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
		p.addr(), probe.LocalAddr(), p.addr(), p.addr())
	buf := make([]byte, 4096)
	for range 100 {
		_, _ = probe.WriteTo([]byte(msg), p.conn.LocalAddr())
		_ = probe.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := probe.ReadFrom(buf); err == nil {
			return
		}
	}
	p.t.Fatalf("%s: the phone's SIP listener does not answer", p.ip)
}

func (p *sipPhone) event(e string) {
	select {
	case p.events <- e:
	default:
	}
}

// waitEvent waits for the phone's next event named e ("invite", "cancel",
// "answered", "bye"), skipping others.
func (p *sipPhone) waitEvent(e string) {
	p.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case got := <-p.events:
			if got == e {
				return
			}
		case <-deadline:
			p.t.Fatalf("%s: no %s", p.ip, e)
		}
	}
}

func (p *sipPhone) addr() string { return p.conn.LocalAddr().String() }

// sdp is the phone's offer or answer: its rtpPeer's port, its law and
// telephone-event 101.
func (p *sipPhone) sdp() []byte {
	return fmt.Appendf(nil, "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %d 101\r\na=rtpmap:%d %s/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n",
		p.ip, p.ip, p.peer.port(), p.law.PayloadType(), p.law.PayloadType(), p.law.String())
}

// startMedia sends the phone's tone to the address the other side's SDP
// names.
func (p *sipPhone) startMedia(body []byte) {
	p.t.Helper()
	o, err := parseOffer(body)
	if err != nil {
		p.t.Errorf("%s: SDP from the server: %v", p.ip, err)
		return
	}
	p.peer.sendTo(net.UDPAddrFromAddrPort(o.Remote))
}

// onInvite plays the softphone: 180, then as its mode says.
func (p *sipPhone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	dlg, err := p.uas.ReadInvite(req, tx)
	if err != nil {
		p.t.Errorf("%s: ReadInvite: %v", p.ip, err)
		return
	}
	p.mu.Lock()
	p.invites = append(p.invites, req)
	p.from = req.From().Address.User
	mode, after := p.mode, p.answerAfter
	p.mu.Unlock()
	p.event("invite")
	_ = dlg.Respond(180, "Ringing", nil)
	switch mode {
	case modeBusy:
		_ = dlg.Respond(486, "Busy Here", nil)
		return
	case modeEarly, modeEarlyBusy:
		// sipgo may hand two responses that arrive together to the UAC
		// in either order; a pause keeps the 180 first, as a phone that
		// rings before it plays anything would have it.
		time.Sleep(50 * time.Millisecond)
		res := sip.NewSDPResponseFromRequest(req, p.sdp())
		res.StatusCode, res.Reason = 183, "Session Progress"
		if err := dlg.WriteResponse(res); err != nil {
			p.t.Errorf("%s: 183: %v", p.ip, err)
		}
		p.startMedia(req.Body())
		if after > 0 {
			select {
			case <-time.After(after):
			case <-dlg.Context().Done():
			}
		}
		if mode == modeEarlyBusy {
			p.peer.stopSending()
			_ = dlg.Respond(486, "Busy Here", nil)
			p.event("busy")
			return
		}
	case modeAnswer:
		select {
		case <-time.After(after):
		case <-dlg.Context().Done():
		}
	}
	if mode == modeRing || (mode == modeEarly && after == 0) || dlg.Context().Err() != nil {
		<-dlg.Context().Done() // CANCEL: sipgo answers 487 (RFC 3261 §9.2)
		p.mu.Lock()
		p.cancelled++
		p.mu.Unlock()
		p.event("cancel")
		return
	}
	p.mu.Lock()
	p.answered = dlg
	p.mu.Unlock()
	if err := dlg.RespondSDP(p.sdp()); err != nil {
		// A CANCEL that came first (sipgo answered it 487) or no ACK.
		p.t.Logf("%s: 200 not sent or not ACKed: %v", p.ip, err)
		p.mu.Lock()
		p.cancelled++
		p.mu.Unlock()
		p.event("cancel")
		return
	}
	p.startMedia(req.Body())
	p.event("answered")
}

// behave sets what the phone does with the INVITEs it gets.
func (p *sipPhone) behave(mode answerMode, answerAfter time.Duration) {
	p.mu.Lock()
	p.mode, p.answerAfter = mode, answerAfter
	p.mu.Unlock()
}

// caller returns the From user of the last INVITE the phone got.
func (p *sipPhone) caller() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.from
}

// hangUp sends BYE on the dialog the phone answered.
func (p *sipPhone) hangUp() {
	p.t.Helper()
	p.mu.Lock()
	dlg := p.answered
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dlg.Bye(ctx); err != nil {
		p.t.Fatalf("%s: BYE: %v", p.ip, err)
	}
}

func (p *sipPhone) counts() (invites, cancelled, byes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.invites), p.cancelled, p.byes
}

// register files the phone as a binding of login, as a REGISTER would
// (registrar_test.go tests that path).
func (p *sipPhone) register(h *harness, login string) {
	s := h.srv
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	if s.regs.users == nil {
		s.regs.users = map[string][]Binding{}
	}
	s.regs.users[login] = append(s.regs.users[login], Binding{User: login, Contact: fmt.Sprintf("sip:%s@%s", login, p.addr()),
		Source: p.addr(), Transport: "UDP", Expires: time.Now().Add(time.Hour)})
}

// placedCall is one call a test phone places to the server.
type placedCall struct {
	dlg       *sipgo.DialogClientSession
	err       error
	status    int    // the final status
	statuses  []int  // every response, in order
	warning   string // the final response's Warning
	cancelCtx func() // cancels the INVITE (CANCEL)
	ringing   atomic.Bool
	early     atomic.Bool // a 183 with SDP came; the phone's media started
	earlyBody []byte      // its SDP; written before early is set
	done      chan struct{}
}

// dial places a call to number at the server from the phone (From
// callerPhone) and waits for its final response in the background.
func (p *sipPhone) dial(h *harness, number string) *placedCall {
	p.t.Helper()
	ap := h.srv.UDPAddrs()[0]
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: number, Host: ap.Addr().String(), Port: int(ap.Port())})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: callerPhone, Host: p.ip}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: number, Host: ap.Addr().String()}, Params: sip.NewParams()})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(p.sdp())
	local := p.conn.LocalAddr().(*net.UDPAddr)
	req.Laddr = sip.Addr{IP: local.IP, Port: local.Port}
	req.SetTransport("UDP")
	ctx, cancel := context.WithCancel(context.Background())
	c := &placedCall{cancelCtx: cancel, done: make(chan struct{})}
	p.t.Cleanup(cancel)
	dlg, err := p.uac.WriteInvite(ctx, req)
	if err != nil {
		p.t.Fatal(err)
	}
	c.dlg = dlg
	go func() {
		defer close(c.done)
		c.err = dlg.WaitAnswer(ctx, sipgo.AnswerOptions{OnResponse: func(res *sip.Response) error {
			c.statuses = append(c.statuses, res.StatusCode)
			if res.StatusCode == 180 {
				c.ringing.Store(true)
			}
			if res.StatusCode == 183 && len(res.Body()) > 0 && !c.early.Load() {
				p.startMedia(res.Body())
				c.earlyBody = res.Body()
				c.early.Store(true)
			}
			if res.StatusCode >= 200 {
				c.status = res.StatusCode
				if w := res.GetHeader("Warning"); w != nil {
					c.warning = w.Value()
				}
			}
			return nil
		}})
		if c.err == nil {
			if err := dlg.Ack(context.Background()); err != nil {
				c.err = err
				return
			}
			p.startMedia(dlg.InviteResponse.Body())
		} else if res := dlg.InviteResponse; res != nil && c.status == 0 && res.StatusCode >= 200 {
			c.status = res.StatusCode
		}
	}()
	return c
}

// wait waits for the call's final response.
func (c *placedCall) wait(t *testing.T) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(waitTimeout):
		t.Fatal("no final response")
	}
}

func (c *placedCall) bye(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.dlg.Bye(ctx); err != nil {
		t.Fatalf("caller BYE: %v", err)
	}
}

// lastRecord waits for the harness's call record and returns it.
func (h *harness) lastRecord() dialroom.CallRecord {
	h.t.Helper()
	waitFor(h.t, "a call record", func() bool { return len(h.recordsCopy()) > 0 })
	recs := h.recordsCopy()
	return recs[len(recs)-1]
}

// TestExtensionRefused: an extension route to an operator without a
// registered softphone answers 480 with a Warning saying so; a route to an
// extension nobody has answers 404. Neither leaves a call or port behind.
func TestExtensionRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 33000, plan: extensionPlan})
	caller := newSIPPhone(t, "127.0.0.1", 1000, media.PCMU)
	for _, tt := range []struct {
		name, number string
		status       int
		warning      string
	}{
		{"not registered", frontDesk, 480, "not registered"},
		{"by login, not registered", carolDID, 480, "not registered"},
		{"no such extension", nobodyDID, 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := caller.dial(h, tt.number)
			c.wait(t)
			if c.status != tt.status || !strings.Contains(c.warning, tt.warning) {
				t.Errorf("final %d (Warning %q), want %d with %q", c.status, c.warning, tt.status, tt.warning)
			}
			rec := h.lastRecord()
			if rec.Outcome != "rejected" || rec.Party != dialroom.MaskPhone(callerPhone) || rec.Rule == "" {
				t.Errorf("record %+v, want rejected, masked caller, the rule", rec)
			}
			h.waitIdle()
		})
	}
}

// TestExtensionAnswered: a carrier's call to the front desk DID rings both
// of alice's softphones at once (180 to the caller); the first to answer
// is bridged, the other is cancelled; audio flows both ways through the
// relay (transcoded when the softphone takes A-law) and a key reaches the
// softphone as an RFC 4733 event; a BYE from either side ends both legs
// and releases every port.
func TestExtensionAnswered(t *testing.T) {
	for i, tt := range []struct {
		name      string
		law       media.G711
		calleeBye bool
	}{
		{"caller hangs up", media.PCMU, false},
		{"softphone hangs up, A-law transcoded", media.PCMA, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{portBase: 33100 + 40*i, plan: extensionPlan})
			caller := newSIPPhone(t, "127.0.0.1", 1000, media.PCMU)
			desk := newSIPPhone(t, "127.0.0.3", 660, tt.law)
			desk.behave(modeAnswer, 300*time.Millisecond)
			mobile := newSIPPhone(t, "127.0.0.4", 440, media.PCMU)
			mobile.behave(modeRing, 0)
			desk.register(h, "alice")
			mobile.register(h, "alice")

			c := caller.dial(h, frontDesk)
			c.wait(t)
			if c.err != nil || c.status != 200 {
				t.Fatalf("caller: %d %v, want 200", c.status, c.err)
			}
			if !slices.Contains(c.statuses, 180) {
				t.Errorf("caller saw %v, want 180 Ringing before the answer", c.statuses)
			}
			mobile.waitEvent("cancel")
			desk.waitEvent("answered")
			if from := desk.caller(); from != callerPhone {
				t.Errorf("the softphone sees the call from %q, want %q", from, callerPhone)
			}

			waitFor(t, "audio at both ends", func() bool {
				return caller.peer.samples() >= 8000*2 && desk.peer.samples() >= 8000*2
			})
			caller.peer.mark("a")
			desk.peer.mark("a")
			waitFor(t, "another second of audio", func() bool {
				return caller.peer.samples() >= 8000*3 && desk.peer.samples() >= 8000*3
			})
			if hz, db := dominant(caller.peer.between("a", ""), 440, 660, 1000); hz != 660 || db < 20 {
				t.Errorf("caller hears %v Hz (%.1f dB above the rest), want the softphone's 660", hz, db)
			}
			if hz, db := dominant(desk.peer.between("a", ""), 440, 660, 1000); hz != 1000 || db < 20 {
				t.Errorf("softphone hears %v Hz (%.1f dB above the rest), want the caller's 1000", hz, db)
			}

			// A key on the caller's side reaches the softphone as an RFC
			// 4733 event (payload type 101 on both legs here).
			if err := caller.peer.dtmf.Send("5"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the key at the softphone", func() bool { return slices.Contains(desk.peer.eventCodes(), 5) })

			if tt.calleeBye {
				desk.hangUp()
				caller.waitEvent("bye")
			} else {
				c.bye(t)
				desk.waitEvent("bye")
			}
			h.waitIdle()
			rec := h.lastRecord()
			if rec.Outcome != "answered" || rec.Operator != "alice" || rec.Rule != "front-desk" || rec.Admitted.IsZero() || rec.Party != dialroom.MaskPhone(callerPhone) {
				t.Errorf("record %+v", rec)
			}
			if inv, _, _ := mobile.counts(); inv != 1 {
				t.Errorf("the second softphone got %d INVITEs, want 1", inv)
			}
		})
	}
}

// TestExtensionNotAnswered: the caller cancels while it rings (487, every
// fork cancelled); every softphone is busy (486); nobody answers within
// the ring timeout (480, forks cancelled). Each is recorded and leaves
// nothing behind.
func TestExtensionNotAnswered(t *testing.T) {
	for i, tt := range []struct {
		name    string
		mode    answerMode
		cancel  bool
		status  int
		outcome string
	}{
		{"caller cancels", modeRing, true, 487, "abandoned"},
		{"busy", modeBusy, false, 486, "busy"},
		{"ring timeout", modeRing, false, 480, "no_answer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{portBase: 33200 + 40*i, plan: extensionPlan, ringTimeout: 1500 * time.Millisecond})
			caller := newSIPPhone(t, "127.0.0.1", 1000, media.PCMU)
			var phones []*sipPhone
			for _, ip := range []string{"127.0.0.3", "127.0.0.4"} {
				p := newSIPPhone(t, ip, 660, media.PCMU)
				p.behave(tt.mode, 0)
				p.register(h, "alice")
				phones = append(phones, p)
			}
			c := caller.dial(h, frontDesk)
			if tt.cancel {
				for _, p := range phones {
					p.waitEvent("invite")
				}
				waitFor(t, "ringing at the caller", c.ringing.Load)
				c.cancelCtx()
			}
			c.wait(t)
			if c.status != tt.status {
				t.Errorf("caller's final status %d (%v), want %d", c.status, c.err, tt.status)
			}
			if tt.mode == modeRing {
				for _, p := range phones {
					p.waitEvent("cancel")
				}
			}
			h.waitIdle()
			if rec := h.lastRecord(); rec.Outcome != tt.outcome || rec.Operator != "alice" {
				t.Errorf("record %+v, want outcome %s", rec, tt.outcome)
			}
			if active, ended := h.srv.ExtensionCalls(); active != 0 || ended[tt.outcome] != 1 {
				t.Errorf("metrics: %d active, ended %v; want 0 and one %s", active, ended, tt.outcome)
			}
		})
	}
}

// TestExtensionFromSoftphone: bob's softphone (extension 202) dials 201
// and alice's softphone rings and answers; the operators route applies
// because the call comes from extension 202.
func TestExtensionFromSoftphone(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 33400, plan: extensionPlan})
	alice := newSIPPhone(t, "127.0.0.3", 660, media.PCMU)
	alice.register(h, "alice")
	u := newRawUA(t, h)
	peer := newRTPPeer(t, 1000)
	uri, res := u.answeredCall("201", "soft-bob", "bob", bobPassword, peer.port())
	alice.waitEvent("answered")
	if from := alice.caller(); from != "202" {
		t.Errorf("alice sees the call from %q, want bob's extension 202", from)
	}
	o, err := parseOffer(res.Body())
	if err != nil {
		t.Fatal(err)
	}
	peer.sendTo(net.UDPAddrFromAddrPort(o.Remote))
	waitFor(t, "audio at alice", func() bool { return alice.peer.samples() >= 8000 })
	if bye := u.bye(uri, "soft-bob", res); bye.StatusCode != 200 {
		t.Errorf("BYE: %d", bye.StatusCode)
	}
	alice.waitEvent("bye")
	h.waitIdle()
	if rec := h.lastRecord(); rec.Outcome != "answered" || rec.Rule != "operators" || rec.Party != "softphone bob" {
		t.Errorf("record %+v", rec)
	}
}

// TestForwardRTP: the relay passes a law through unchanged, transcodes
// between laws, and forwards telephone-events under the receiving leg's
// payload type (or drops them when that leg has none).
func TestForwardRTP(t *testing.T) {
	ep, sink := relaySink(t, 33500)
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(8000 * ((i % 20) - 10) / 10)
	}
	ulaw := make([]byte, 160)
	media.PCMU.Encode(ulaw, pcm)
	alaw := make([]byte, 160)
	media.PCMA.Encode(alaw, pcm)
	// What transcoding must give: the other law of what the first carried.
	via := func(from, to media.G711, payload []byte) []byte {
		lin := make([]int16, len(payload))
		from.Decode(lin, payload)
		out := make([]byte, len(lin))
		to.Encode(out, lin)
		return out
	}
	event := []byte{5, 0x8a, 0, 160}
	g722 := []byte{0x12, 0x34, 0x56}
	wide := func(dtmf int) legCodec { return legCodec{g722: true, pt: media.G722PayloadType, dtmf: dtmf} }
	var buf relayScratch
	for _, tt := range []struct {
		name     string
		pt       uint8
		payload  []byte
		from, to legCodec
		wantPT   int // -1: dropped
		want     []byte
	}{
		{"same law", 0, ulaw, lawCodec(media.PCMU, 101), lawCodec(media.PCMU, 101), 0, ulaw},
		{"μ-law to A-law", 0, ulaw, lawCodec(media.PCMU, 101), lawCodec(media.PCMA, 101), 8, via(media.PCMU, media.PCMA, ulaw)},
		{"A-law to μ-law", 8, alaw, lawCodec(media.PCMA, 101), lawCodec(media.PCMU, 96), 0, via(media.PCMA, media.PCMU, alaw)},
		{"event, new payload type", 101, event, lawCodec(media.PCMU, 101), lawCodec(media.PCMU, 96), 96, event},
		{"event, no telephone-event", 101, event, lawCodec(media.PCMU, 101), lawCodec(media.PCMU, -1), -1, nil},
		{"unknown payload type", 13, []byte{1}, lawCodec(media.PCMU, 101), lawCodec(media.PCMU, 101), -1, nil},
		{"G.722 passed through", 9, g722, wide(101), wide(96), 9, g722},
		{"G.722 event", 101, event, wide(101), lawCodec(media.PCMA, 100), 100, event},
		{"G.711 on a G.722 leg", 0, ulaw, wide(101), lawCodec(media.PCMU, 101), -1, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			from, to := tt.from, tt.to
			forwardRTP(&rtp.Packet{Header: rtp.Header{PayloadType: tt.pt, Timestamp: 4711}, Payload: tt.payload}, &from, &to, ep, &buf, nil)
			_ = sink.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			b := make([]byte, 1500)
			n, _, err := sink.ReadFromUDP(b)
			if tt.wantPT < 0 {
				if err == nil {
					t.Errorf("forwarded %d bytes, want the packet dropped", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var p rtp.Packet
			if err := p.Unmarshal(b[:n]); err != nil {
				t.Fatal(err)
			}
			if int(p.PayloadType) != tt.wantPT || p.Timestamp != 4711 || string(p.Payload) != string(tt.want) {
				t.Errorf("got PT %d ts %d payload %x…, want PT %d ts 4711", p.PayloadType, p.Timestamp, p.Payload[:min(4, len(p.Payload))], tt.wantPT)
			}
		})
	}
}

// relaySink is an endpoint the relay sends through (ports from base) and
// the socket it sends to.
func relaySink(t *testing.T, base int) (*media.Endpoint, *net.UDPConn) {
	t.Helper()
	ports, err := media.NewPortAllocator(base, base+9)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	ep, err := media.Listen(media.EndpointConfig{Ports: ports, IP: netip.MustParseAddr("127.0.0.1"), OnPacket: func(*rtp.Packet, time.Time) {}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	ep.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	return ep, sink
}

// TestRelayKeys: a key one leg sent as SIP INFO reaches the other as RFC
// 4733 events in its own payload type, in place of the audio packets the
// relay forwards meanwhile (on their timeline), and then audio resumes.
func TestRelayKeys(t *testing.T) {
	ep, sink := relaySink(t, 33520)
	keys, err := media.NewDTMFSender(media.DTMFSenderConfig{ClockRate: media.G711Rate})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Send("5"); err != nil {
		t.Fatal(err)
	}
	from, to := lawCodec(media.PCMU, 101), lawCodec(media.PCMA, 96)
	var buf relayScratch
	audio := make([]byte, 160)
	var got []string
	for i := range 25 {
		forwardRTP(&rtp.Packet{Header: rtp.Header{PayloadType: 0, Timestamp: uint32(8000 + 160*i)}, Payload: audio}, &from, &to, ep, &buf, keys)
		_ = sink.SetReadDeadline(time.Now().Add(time.Second))
		b := make([]byte, 1500)
		n, _, err := sink.ReadFromUDP(b)
		if err != nil {
			t.Fatal(err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(b[:n]); err != nil {
			t.Fatal(err)
		}
		switch {
		case p.PayloadType == 96:
			if p.Timestamp != 8000 || p.Payload[0] != 5 {
				t.Errorf("packet %d: event %d at ts %d, want key 5 at 8000 (the first replaced packet's)", i, p.Payload[0], p.Timestamp)
			}
			end := ""
			if p.Payload[1]&0x80 != 0 {
				end = " end"
			}
			got = append(got, "event"+end)
		case p.PayloadType == 8:
			got = append(got, "audio")
		default:
			t.Fatalf("packet %d: payload type %d", i, p.PayloadType)
		}
	}
	events := strings.Count(strings.Join(got, ","), "event")
	ends := strings.Count(strings.Join(got, ","), "end")
	if got[0] != "event" || events < 5 || ends != 3 || got[len(got)-1] != "audio" {
		t.Errorf("sent %v, want the key's events (ending with three end packets) in place of audio, then audio", got)
	}
	// A leg without telephone-event gets no key: nothing replaces its audio.
	none := lawCodec(media.PCMA, -1)
	_ = keys.Send("7")
	forwardRTP(&rtp.Packet{Header: rtp.Header{PayloadType: 0, Timestamp: 99}, Payload: audio}, &from, &none, ep, &buf, keys)
	b := make([]byte, 1500)
	n, _, err := sink.ReadFromUDP(b)
	if err != nil || n < 2 || b[1]&0x7f != 8 {
		t.Errorf("to a leg without telephone-event: %d bytes, payload type %d (%v), want audio (8)", n, b[1]&0x7f, err)
	}
}

// TestExtensionRingbackAfterEarlyMedia: the softphone whose early media the
// caller hears declines while another still rings; the caller then hears
// our ringing tone (400 Hz, 1 s on, 2 s off), not silence, until the other
// answers, and then that one.
func TestExtensionRingbackAfterEarlyMedia(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 33800, plan: extensionPlan})
	caller := newSIPPhone(t, "127.0.0.1", 1000, media.PCMU)
	desk := newSIPPhone(t, "127.0.0.3", 660, media.PCMA)
	desk.behave(modeEarlyBusy, 1500*time.Millisecond)
	mobile := newSIPPhone(t, "127.0.0.4", 1500, media.PCMU)
	mobile.behave(modeAnswer, 5*time.Second)
	desk.register(h, "alice")
	mobile.register(h, "alice")

	c := caller.dial(h, frontDesk)
	waitFor(t, "early media at the caller", c.early.Load)
	waitFor(t, "a second of the desk's early media", func() bool { return caller.peer.samples() >= 8000 })
	caller.peer.mark("early")
	desk.waitEvent("busy")
	// The tone's first second is on (then 2 s off): listen inside it.
	time.Sleep(150 * time.Millisecond)
	caller.peer.mark("ringback")
	time.Sleep(700 * time.Millisecond)
	caller.peer.mark("ringback-end")
	c.wait(t)
	if c.err != nil || c.status != 200 {
		t.Fatalf("caller: %d %v, want 200 (the mobile answers)", c.status, c.err)
	}
	caller.peer.mark("answered")
	waitFor(t, "a second after the answer", func() bool { return len(caller.peer.between("answered", "")) >= 8000 })
	if hz, db := dominant(caller.peer.between("early", "ringback"), 400, 660, 1000, 1500); hz != 660 || db < 20 {
		t.Errorf("before the decline the caller hears %v Hz (%.1f dB), want the desk's 660", hz, db)
	}
	tone := caller.peer.between("ringback", "ringback-end")
	if hz, db := dominant(tone, 400, 660, 1000, 1500); hz != 400 || db < 15 {
		t.Errorf("after the decline the caller hears %v Hz (%.1f dB above the rest), want our 400 Hz ringing tone", hz, db)
	}
	if l := e2e.PCMToneLevel(tone, media.G711Rate, 400); l < -35 {
		t.Errorf("the ringing tone at %.1f dBFS, want it audible", l)
	}
	answered := caller.peer.between("answered", "")
	if hz, db := dominant(answered[len(answered)-4000:], 400, 660, 1000, 1500); hz != 1500 || db < 20 {
		t.Errorf("after the answer the caller hears %v Hz (%.1f dB), want the mobile's 1500", hz, db)
	}
	c.bye(t)
	h.waitIdle()
}

// answeredFrontDesk is an extension call in progress: a caller (1 kHz,
// 127.0.0.1, the trunk) has dialled the front desk and alice's desk phone
// (660 Hz, 127.0.0.3) answered; its dialog is complete.
func answeredFrontDesk(t *testing.T, portBase int) (*harness, *sipPhone, *sipPhone, *placedCall) {
	t.Helper()
	h := newHarness(t, harnessOptions{portBase: portBase, plan: extensionPlan})
	caller := newSIPPhone(t, "127.0.0.1", 1000, media.PCMU)
	desk := newSIPPhone(t, "127.0.0.3", 660, media.PCMU)
	desk.behave(modeAnswer, 0)
	desk.register(h, "alice")
	c := caller.dial(h, frontDesk)
	c.wait(t)
	if c.err != nil || c.status != 200 {
		t.Fatalf("caller: %d %v, want 200", c.status, c.err)
	}
	desk.waitEvent("answered")
	return h, caller, desk, c
}

// endAnswered hangs the caller up, waits for callee's BYE and for the
// server to let go, and checks the call was recorded as answered.
func endAnswered(t *testing.T, h *harness, c *placedCall, callee *sipPhone) {
	t.Helper()
	c.bye(t)
	callee.waitEvent("bye")
	h.waitIdle()
	if rec := h.lastRecord(); rec.Outcome != "answered" {
		t.Errorf("record %+v, want answered", rec)
	}
}

// inDialog is a sipgo dialog of either side that sends requests in it.
type inDialog interface {
	Do(ctx context.Context, req *sip.Request) (*sip.Response, error)
	WriteRequest(req *sip.Request) error
}

// reinviteIn sends a re-INVITE in dlg to target with sdp in direction
// (sendonly: hold; sendrecv: resume; RFC 3264 §8.4), ACKs the 2xx and
// returns the answer's SDP.
func reinviteIn(t *testing.T, dlg inDialog, target sip.Uri, sdp []byte, direction string) []byte {
	t.Helper()
	req := sip.NewRequest(sip.INVITE, target)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody([]byte(strings.Replace(string(sdp), "a=sendrecv", "a="+direction, 1)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := dlg.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE %s: %v %v", direction, res, err)
	}
	if err := dlg.WriteRequest(sip.NewRequest(sip.ACK, target)); err != nil {
		t.Fatalf("ACK of the re-INVITE: %v", err)
	}
	return res.Body()
}

// TestExtensionHold: either side of a relayed call holds (re-INVITE,
// sendonly): the operator's desk phone as the answering leg (an extension
// call) or as the calling leg (as on an outside call). The other side hears
// the hold prompt, not the holder, until the resume (sendrecv); our answer
// to the hold is recvonly (RFC 3264 §8.4).
func TestExtensionHold(t *testing.T) {
	for i, holder := range []string{"softphone", "caller"} {
		t.Run(holder, func(t *testing.T) {
			h, caller, desk, c := answeredFrontDesk(t, 33980+40*i)
			// hold re-INVITEs from the holder; listener hears holderHz until then.
			hold := func(direction string) []byte {
				desk.mu.Lock()
				answered := desk.answered
				desk.mu.Unlock()
				return reinviteIn(t, answered, answered.InviteRequest.Contact().Address, desk.sdp(), direction)
			}
			listener, holderHz := caller.peer, 660.0
			if holder == "caller" {
				hold = func(direction string) []byte {
					return reinviteIn(t, c.dlg, c.dlg.InviteResponse.Contact().Address, caller.sdp(), direction)
				}
				listener, holderHz = desk.peer, 1000.0
			}
			waitFor(t, "a second of audio", func() bool { return listener.samples() >= 8000 })
			listener.mark("talk")
			waitFor(t, "another half second", func() bool { return len(listener.between("talk", "")) >= 4000 })
			if hz, db := dominant(listener.between("talk", ""), 440, holderHz); hz != holderHz || db < 20 {
				t.Errorf("in the call: %v Hz (%.1f dB), want the %s's %.0f", hz, db, holder, holderHz)
			}
			if answer := hold("sendonly"); !strings.Contains(string(answer), "a=recvonly") {
				t.Errorf("answer to the hold:\n%s\nwant recvonly", answer)
			}
			time.Sleep(300 * time.Millisecond)
			listener.mark("held")
			time.Sleep(2500 * time.Millisecond) // the built-in hold prompt beeps every 2 s
			listener.mark("resumed")
			held := listener.between("held", "resumed")
			if l := e2e.PCMToneLevel(held, media.G711Rate, holderHz); l > -50 {
				t.Errorf("on hold the other side still hears the %s's %.0f Hz at %.1f dBFS", holder, holderHz, l)
			}
			if hz, db := dominant(held, 440, holderHz); hz != 440 || db < 15 {
				t.Errorf("on hold the other side hears %v Hz (%.1f dB), want the hold prompt's 440", hz, db)
			}
			hold("sendrecv")
			time.Sleep(300 * time.Millisecond)
			listener.mark("back")
			waitFor(t, "half a second after the resume", func() bool { return len(listener.between("back", "")) >= 4000 })
			if hz, db := dominant(listener.between("back", ""), 440, holderHz); hz != holderHz || db < 20 {
				t.Errorf("after the resume: %v Hz (%.1f dB), want the %s's %.0f", hz, db, holder, holderHz)
			}
			endAnswered(t, h, c, desk)
		})
	}
}

// refer sends a REFER for target from the answering softphone in its
// dialog (blind transfer, RFC 3515) and returns the final status.
func (p *sipPhone) refer(h *harness, target string) int {
	p.t.Helper()
	p.mu.Lock()
	dlg := p.answered
	p.mu.Unlock()
	if dlg == nil {
		p.t.Fatalf("%s: no answered call to transfer", p.ip)
	}
	ap := h.srv.UDPAddrs()[0]
	req := sip.NewRequest(sip.REFER, dlg.InviteRequest.Contact().Address)
	req.AppendHeader(sip.NewHeader("Refer-To", fmt.Sprintf("<sip:%s@%s>", target, ap)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := dlg.Do(ctx, req)
	if err != nil {
		p.t.Fatalf("%s: REFER: %v", p.ip, err)
	}
	return res.StatusCode
}

// TestExtensionTransfer: alice's desk phone answers the front desk's caller
// and transfers it (blind, REFER) to bob's extension 202: dialroom accepts
// (202), tells the desk the transfer is done (NOTIFY, sipfrag 200) and ends
// its leg (BYE); the caller hears the ringing tone while bob's phone rings,
// then bob, and bob hears the caller. A transfer to an extension nobody has
// is refused in the NOTIFY and the call goes on.
func TestExtensionTransfer(t *testing.T) {
	h, caller, desk, c := answeredFrontDesk(t, 34060)
	bob := newSIPPhone(t, "127.0.0.5", 1500, media.PCMA)
	bob.behave(modeAnswer, 1500*time.Millisecond)
	bob.register(h, "bob")
	waitFor(t, "the desk's audio", func() bool { return caller.peer.samples() >= 8000 })

	// Nobody has 299: refused, the call goes on with the desk.
	if code := desk.refer(h, "299"); code != 202 {
		t.Fatalf("REFER to 299: %d, want 202", code)
	}
	desk.waitEvent("notify")
	caller.peer.mark("still")
	waitFor(t, "half a second more", func() bool { return len(caller.peer.between("still", "")) >= 4000 })
	if hz, db := dominant(caller.peer.between("still", ""), 400, 660, 1500); hz != 660 || db < 20 {
		t.Errorf("after a refused transfer the caller hears %v Hz (%.1f dB), want the desk's 660", hz, db)
	}

	if code := desk.refer(h, "202"); code != 202 {
		t.Fatalf("REFER to 202: %d, want 202 Accepted", code)
	}
	desk.waitEvent("notify")
	desk.waitEvent("bye")
	desk.peer.stopSending() // as a phone does once its call ended
	desk.mu.Lock()
	notified := slices.Clone(desk.notified)
	desk.mu.Unlock()
	if len(notified) != 2 || !strings.HasPrefix(notified[0], "SIP/2.0 404") || notified[1] != "SIP/2.0 200 OK" {
		t.Errorf("NOTIFY bodies %q, want a 404 for 299, then 200 OK", notified)
	}
	time.Sleep(300 * time.Millisecond)
	caller.peer.mark("ringing")
	time.Sleep(600 * time.Millisecond) // inside the tone's first second
	caller.peer.mark("ringing-end")
	if hz, db := dominant(caller.peer.between("ringing", "ringing-end"), 400, 660, 1500); hz != 400 || db < 15 {
		t.Errorf("while bob rings the caller hears %v Hz (%.1f dB), want the ringing tone's 400", hz, db)
	}
	bob.waitEvent("answered")
	time.Sleep(300 * time.Millisecond)
	caller.peer.mark("bob")
	waitFor(t, "half a second of bob", func() bool { return len(caller.peer.between("bob", "")) >= 4000 })
	if hz, db := dominant(caller.peer.between("bob", ""), 400, 660, 1500); hz != 1500 || db < 20 {
		t.Errorf("after the transfer the caller hears %v Hz (%.1f dB), want bob's 1500", hz, db)
	}
	waitFor(t, "the caller's audio at bob", func() bool { return bob.peer.samples() >= 4000 })
	if hz, db := dominant(bob.peer.between("", ""), 660, 1000); hz != 1000 || db < 20 {
		t.Errorf("bob hears %v Hz (%.1f dB), want the caller's 1000", hz, db)
	}
	endAnswered(t, h, c, bob)
}

// TestExtensionTransferFails: the transfer target is busy; the caller,
// whose softphone already left, gets our BYE, and the call is recorded
// as answered with the transfer's failure as its cause.
func TestExtensionTransferFails(t *testing.T) {
	h, caller, desk, _ := answeredFrontDesk(t, 34100)
	bob := newSIPPhone(t, "127.0.0.5", 1500, media.PCMU)
	bob.behave(modeBusy, 0)
	bob.register(h, "bob")
	if code := desk.refer(h, "202"); code != 202 {
		t.Fatalf("REFER to 202: %d, want 202", code)
	}
	desk.waitEvent("bye")
	caller.waitEvent("bye")
	h.waitIdle()
	if rec := h.lastRecord(); rec.Outcome != "answered" || !strings.Contains(rec.Reason, errTransferFailed.Error()) {
		t.Errorf("record %+v, want answered, ended by the failed transfer", rec)
	}
}

// lawCodec is a G.711 leg's codec for the relay tests.
func lawCodec(law media.G711, dtmf int) legCodec {
	return legCodec{law: law, pt: law.PayloadType(), dtmf: dtmf}
}

// The relay between a G.722 leg and a G.711 one: a tone crosses each way
// at its level, and the wideband side's 4-8 kHz does not fold into the
// narrowband one (half-band resampling, not sample dropping). Frames of 20
// ms, as phones send them, 50 of them (state carries from one to the next).
func TestRelayWideband(t *testing.T) {
	wide := &legCodec{g722: true, pt: media.G722PayloadType, dtmf: 101}
	ulaw := &legCodec{law: media.PCMU, pt: 0, dtmf: 101}
	tone := func(rate, n, start int, hz, dbfs float64) []int16 {
		out := make([]int16, n)
		amp := 32767 * math.Pow(10, dbfs/20)
		for i := range out {
			out[i] = int16(amp * math.Sin(2*math.Pi*hz*float64(start+i)/float64(rate)))
		}
		return out
	}
	var up, down relayScratch
	enc, dec := media.NewG722Encoder(), media.NewG722Decoder()
	var heardWide, heardNarrow []int16
	for f := range 50 {
		// G.711 → G.722: 1 kHz at -10 dBFS.
		narrow := make([]byte, 160)
		media.PCMU.Encode(narrow, tone(8000, 160, 160*f, 1000, -10))
		out := up.transcode(ulaw, wide, narrow)
		if len(out) != 160 {
			t.Fatalf("G.711 → G.722: %d bytes from 160, want 160 (same duration)", len(out))
		}
		pcm16 := make([]int16, 320)
		heardWide = append(heardWide, pcm16[:dec.Decode(pcm16, out)]...)
		// G.722 → G.711: 1.5 kHz and 6 kHz, each at -12 dBFS.
		a, b := tone(16000, 320, 320*f, 1500, -12), tone(16000, 320, 320*f, 6000, -12)
		for i := range a {
			a[i] += b[i]
		}
		g722 := make([]byte, 160)
		enc.Encode(g722, a)
		out = down.transcode(wide, ulaw, g722)
		if len(out) != 160 {
			t.Fatalf("G.722 → G.711: %d bytes from 160, want 160", len(out))
		}
		pcm8 := make([]int16, 160)
		heardNarrow = append(heardNarrow, pcm8[:media.PCMU.Decode(pcm8, out)]...)
	}
	last := func(pcm []int16, n int) []int16 { return pcm[len(pcm)-n:] }
	if l := e2e.PCMToneLevel(last(heardWide, 16000), 16000, 1000); l < -13 || l > -7 {
		t.Errorf("the G.722 side hears the G.711 side's 1 kHz at %.1f dBFS, want about -10", l)
	}
	if l := e2e.PCMToneLevel(last(heardNarrow, 8000), 8000, 1500); l < -15 || l > -9 {
		t.Errorf("the G.711 side hears the G.722 side's 1.5 kHz at %.1f dBFS, want about -12", l)
	}
	if l := e2e.PCMToneLevel(last(heardNarrow, 8000), 8000, 2000); l > -50 {
		t.Errorf("the G.722 side's 6 kHz folds to 2 kHz at %.1f dBFS on the G.711 side, want below -50", l)
	}
	// A re-INVITE moving the G.711 leg to A-law: the relay follows.
	alaw := &legCodec{law: media.PCMA, pt: 8, dtmf: 101}
	g722 := make([]byte, 160)
	enc.Encode(g722, tone(16000, 320, 320*50, 1500, -12)) // the G.722 stream runs on
	out := down.transcode(wide, alaw, g722)
	pcm8 := make([]int16, 160)
	media.PCMA.Decode(pcm8, out)
	if l := e2e.PCMToneLevel(pcm8[80:], 8000, 1500); l < -20 {
		t.Errorf("after the switch to A-law: 1.5 kHz at %.1f dBFS", l)
	}
}

// TestExtensionTwoAnswers: two softphones answer at once; one is bridged,
// the other's 2xx is ACKed and ended (BYE) or cancelled before it could
// answer (RFC 3261 §13.2.2.4), so no softphone stays in a call with nobody.
func TestExtensionTwoAnswers(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 33440, plan: extensionPlan})
	caller := newSIPPhone(t, "127.0.0.1", 1000, media.PCMU)
	var phones []*sipPhone
	for _, ip := range []string{"127.0.0.3", "127.0.0.4"} {
		p := newSIPPhone(t, ip, 660, media.PCMU)
		p.behave(modeAnswer, 200*time.Millisecond)
		p.register(h, "alice")
		phones = append(phones, p)
	}
	c := caller.dial(h, frontDesk)
	c.wait(t)
	if c.err != nil || c.status != 200 {
		t.Fatalf("caller: %d %v, want 200", c.status, c.err)
	}
	waitFor(t, "the other softphone released", func() bool {
		ended := 0
		for _, p := range phones {
			if _, cancelled, byes := p.counts(); cancelled+byes > 0 {
				ended++
			}
		}
		return ended == 1
	})
	c.bye(t)
	waitFor(t, "both softphones released", func() bool {
		for _, p := range phones {
			// A BYE may overtake the ACK of a late 2xx at the phone, which
			// then counts both: at least one is what matters.
			if _, cancelled, byes := p.counts(); cancelled+byes == 0 {
				return false
			}
		}
		return true
	})
	h.waitIdle()
	if rec := h.lastRecord(); rec.Outcome != "answered" {
		t.Errorf("record %+v", rec)
	}
}

// extInvite is an INVITE from the raw UA (on the trunk's address) for
// number with an offer for RTP at rtpPort and the extra header lines.
func (u *rawUA) extInvite(number, callID, extra string, rtpPort int) (string, string) {
	u.cseq++
	uri := fmt.Sprintf("sip:%s@%s", number, u.srv)
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", rtpPort)
	return uri, fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d\r\nMax-Forwards: 70\r\n"+
		"From: <sip:%s@127.0.0.1>;tag=ext-%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\n"+
		"Contact: <sip:caller@127.0.0.1:%d>\r\n%sContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		uri, u.port(), callID, u.cseq, callerPhone, callID, uri, callID, u.cseq, u.port(), extra, len(sdp), sdp)
}

// TestExtensionLateOffer: an INVITE without SDP to an extension (RFC 3261
// §13.2.1) rings the softphone with our usual offer; its answer gets the
// caller a 200 with our offer (PCMU, PCMA, telephone-event) and the answer
// in the caller's ACK starts the relay. A re-INVITE without SDP from the
// caller gets an offer of the law in use; so does one from the softphone.
// An ACK without an answer ends both legs and is recorded failed.
func TestExtensionLateOffer(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 33600, plan: extensionPlan})
	desk := newSIPPhone(t, "127.0.0.3", 660, media.PCMA)
	desk.behave(modeAnswer, 200*time.Millisecond)
	desk.register(h, "alice")
	u := newRawUAAt(t, h, "127.0.0.1")
	peer := newRTPPeer(t, 1000)

	uri, msg := u.lateInvite(frontDesk, "ext-late-1")
	res := u.roundTrip(msg)
	if res.StatusCode != 200 {
		t.Fatalf("late-offer INVITE to the extension: %d %s, want 200 with an offer", res.StatusCode, res.Reason)
	}
	for _, want := range []string{"RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=sendrecv"} {
		if !strings.Contains(string(res.Body()), want) {
			t.Errorf("our offer to the caller lacks %q:\n%s", want, res.Body())
		}
	}
	desk.mu.Lock()
	forked := string(desk.invites[0].Body())
	desk.mu.Unlock()
	if !strings.Contains(forked, "RTP/AVP 0 8 101") {
		t.Errorf("the softphone was offered\n%s\nwant PCMU, PCMA, telephone-event", forked)
	}
	u.ackWithAnswer(uri, "ext-late-1", res, peer.port())
	desk.waitEvent("answered")
	o, err := parseOffer(res.Body())
	if err != nil {
		t.Fatal(err)
	}
	peer.sendTo(net.UDPAddrFromAddrPort(o.Remote))
	waitFor(t, "audio at both ends", func() bool { return peer.samples() >= 8000*2 && desk.peer.samples() >= 8000*2 })
	peer.mark("a")
	desk.peer.mark("a")
	waitFor(t, "another second", func() bool { return peer.samples() >= 8000*3 && desk.peer.samples() >= 8000*3 })
	if hz, db := dominant(peer.between("a", ""), 440, 660, 1000); hz != 660 || db < 20 {
		t.Errorf("the caller hears %v Hz (%.1f dB), want the softphone's 660 (A-law, transcoded)", hz, db)
	}
	if hz, db := dominant(desk.peer.between("a", ""), 440, 660, 1000); hz != 1000 || db < 20 {
		t.Errorf("the softphone hears %v Hz (%.1f dB), want the caller's 1000", hz, db)
	}

	// The caller's re-INVITE without SDP: our offer of the law in use.
	u.cseq++
	reinvite := fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-re-%d\r\nMax-Forwards: 70\r\n"+
		"From: %s\r\nTo: %s\r\nCall-ID: ext-late-1\r\nCSeq: %d INVITE\r\nContact: <sip:caller@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n",
		res.Contact().Address.String(), u.port(), u.cseq, res.From().Value(), res.To().Value(), u.cseq, u.port())
	re := u.roundTrip(reinvite)
	if re.StatusCode != 200 || !strings.Contains(string(re.Body()), "RTP/AVP 0 101") {
		t.Errorf("caller's re-INVITE without SDP: %d with\n%s\nwant 200 offering PCMU (in use) and telephone-event", re.StatusCode, re.Body())
	}
	u.ackWithAnswer(res.Contact().Address.String(), "ext-late-1", re, peer.port())

	// The softphone's re-INVITE without SDP: our offer of its law (A-law).
	desk.mu.Lock()
	dlg := desk.answered
	desk.mu.Unlock()
	var target sip.Uri
	if err := sip.ParseUri(dlg.InviteRequest.Contact().Address.String(), &target); err != nil {
		t.Fatal(err)
	}
	rereq := sip.NewRequest(sip.INVITE, target)
	rereq.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:phone@%s>", desk.addr())))
	local := desk.conn.LocalAddr().(*net.UDPAddr)
	rereq.Laddr = sip.Addr{IP: local.IP, Port: local.Port}
	rereq.SetTransport("UDP")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	reres, err := dlg.Do(ctx, rereq)
	cancel()
	if err != nil || reres.StatusCode != 200 || !strings.Contains(string(reres.Body()), "RTP/AVP 8 101") {
		t.Errorf("softphone's re-INVITE without SDP: %v %v, want 200 offering PCMA (in use) and telephone-event", reres, err)
	} else {
		ack := sip.NewRequest(sip.ACK, target)
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody(desk.sdp())
		ack.Laddr = rereq.Laddr
		ack.SetTransport("UDP")
		if err := dlg.WriteRequest(ack); err != nil {
			t.Errorf("softphone's ACK: %v", err)
		}
	}
	peer.mark("b")
	waitFor(t, "audio after the re-INVITEs", func() bool { return peer.samples() >= 8000*4 })
	if hz, db := dominant(peer.between("b", ""), 440, 660, 1000); hz != 660 || db < 20 {
		t.Errorf("after the re-INVITEs the caller hears %v Hz (%.1f dB), want 660", hz, db)
	}
	if r := u.bye(uri, "ext-late-1", res); r.StatusCode != 200 {
		t.Errorf("BYE: %d", r.StatusCode)
	}
	desk.waitEvent("bye")
	h.waitIdle()
	if rec := h.lastRecord(); rec.Outcome != "answered" || rec.Admitted.IsZero() {
		t.Errorf("record %+v, want answered", rec)
	}

	// The ACK carries no answer: BYE to both legs, recorded failed.
	uri2, msg2 := u.lateInvite(frontDesk, "ext-late-2")
	res2 := u.roundTrip(msg2)
	if res2.StatusCode != 200 {
		t.Fatalf("second late-offer INVITE: %d", res2.StatusCode)
	}
	u.ackWithAnswer(uri2, "ext-late-2", res2, 0)
	if bye := u.waitRequest("BYE"); bye.CallID().Value() != "ext-late-2" {
		t.Errorf("BYE for %s", bye.CallID().Value())
	}
	desk.waitEvent("bye")
	h.waitIdle()
	if rec := h.lastRecord(); rec.Outcome != "failed" || !strings.Contains(rec.Reason, "no usable SDP answer") {
		t.Errorf("record %+v, want failed for want of an answer", rec)
	}
}

// TestExtensionSessionTimer: a caller asking for session timers (RFC 4028)
// gets them with itself as refresher; without a refresh both legs get BYE
// before the interval ends. Too short an interval gets 422 with Min-SE and
// rings nobody.
func TestExtensionSessionTimer(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 33640, plan: extensionPlan})
	h.srv.minSE.Store(int64(3 * time.Second)) // RFC 4028 allows no less than 90 s; the test cannot wait that long
	desk := newSIPPhone(t, "127.0.0.3", 660, media.PCMU)
	desk.behave(modeAnswer, 0)
	desk.register(h, "alice")
	u := newRawUAAt(t, h, "127.0.0.1")
	peer := newRTPPeer(t, 1000)

	uri, msg := u.extInvite(frontDesk, "ext-se-1", "Supported: timer\r\nSession-Expires: 2\r\n", peer.port())
	res := u.roundTrip(msg)
	if res.StatusCode != 422 || res.GetHeader("Min-SE") == nil || res.GetHeader("Min-SE").Value() != "3" {
		t.Errorf("Session-Expires 2: %d %s, Min-SE %v; want 422 with Min-SE 3", res.StatusCode, res.Reason, res.GetHeader("Min-SE"))
	}
	u.ackBranch(uri, "ext-se-1", fmt.Sprintf("z9hG4bK-ext-se-1-%d", u.cseq), res)
	if inv, _, _ := desk.counts(); inv != 0 {
		t.Errorf("the softphone got %d INVITEs for a refused call", inv)
	}

	uri, msg = u.extInvite(frontDesk, "ext-se-2", "Supported: timer\r\nSession-Expires: 3;refresher=uac\r\n", peer.port())
	start := time.Now()
	res = u.roundTrip(msg)
	if res.StatusCode != 200 {
		t.Fatalf("INVITE with Session-Expires 3: %d %s", res.StatusCode, res.Reason)
	}
	if se := res.GetHeader("Session-Expires"); se == nil || se.Value() != "3;refresher=uac" || res.GetHeader("Require") == nil {
		t.Errorf("200 has Session-Expires %v, Require %v; want 3;refresher=uac and timer", se, res.GetHeader("Require"))
	}
	u.ack(uri, "ext-se-2", res)
	desk.waitEvent("answered")
	u.waitRequest("BYE")
	desk.waitEvent("bye")
	if d := time.Since(start); d < 1500*time.Millisecond || d > 5*time.Second {
		t.Errorf("hung up after %v, want about 2 s (3 s interval less a third)", d)
	}
	h.waitIdle()
	if rec := h.lastRecord(); rec.Outcome != "answered" || !strings.Contains(rec.Reason, "session timer") {
		t.Errorf("record %+v, want answered, ended by the session timer", rec)
	}
}

// TestExtensionSelfCall: alice's softphone dialling her own extension gets
// 486 Busy Here with a Warning, as on a PBX, and her phones do not ring.
func TestExtensionSelfCall(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 33680, plan: extensionPlan})
	desk := newSIPPhone(t, "127.0.0.3", 660, media.PCMU)
	desk.register(h, "alice")
	u := newRawUA(t, h)
	res, uri := u.invite("201", "self-1", "alice", alicePassword, 40000)
	if w := res.GetHeader("Warning"); res.StatusCode != 486 || w == nil || !strings.Contains(w.Value(), "own extension") {
		t.Errorf("alice calling 201: %d %s (Warning %v), want 486 with a Warning", res.StatusCode, res.Reason, w)
	}
	u.ackBranch(uri, "self-1", fmt.Sprintf("z9hG4bK-self-1-%d", u.cseq), res)
	if rec := h.lastRecord(); rec.Outcome != "rejected" || rec.Operator != "alice" || !strings.Contains(rec.Reason, "486") {
		t.Errorf("record %+v, want rejected with 486", rec)
	}
	if inv, _, _ := desk.counts(); inv != 0 {
		t.Errorf("alice's softphone got %d INVITEs, want none", inv)
	}
	h.waitIdle()
}

// TestExtensionEarlyMedia: a softphone's 183 with SDP reaches the caller
// as our 183 with our SDP, and the relay runs before anyone answers (the
// caller hears the softphone's tone, the softphone the caller's); another
// softphone that only rings adds nothing. Then the caller cancels (487,
// abandoned), or the softphone answers and the 200 repeats the 183's SDP.
func TestExtensionEarlyMedia(t *testing.T) {
	for i, tt := range []struct {
		name   string
		answer time.Duration // 0: the caller cancels
	}{
		{"caller cancels", 0},
		{"answered after early media", 3 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{portBase: 33720 + 40*i, plan: extensionPlan})
			caller := newSIPPhone(t, "127.0.0.1", 1000, media.PCMU)
			desk := newSIPPhone(t, "127.0.0.3", 660, media.PCMA)
			desk.behave(modeEarly, tt.answer)
			mobile := newSIPPhone(t, "127.0.0.4", 440, media.PCMU)
			mobile.behave(modeRing, 0)
			desk.register(h, "alice")
			mobile.register(h, "alice")

			start := time.Now()
			c := caller.dial(h, frontDesk)
			waitFor(t, "early media at the caller", c.early.Load)
			waitFor(t, "early audio at both ends", func() bool {
				return caller.peer.samples() >= 8000 && desk.peer.samples() >= 8000
			})
			caller.peer.mark("a")
			desk.peer.mark("a")
			waitFor(t, "another second", func() bool {
				return caller.peer.samples() >= 8000*2 && desk.peer.samples() >= 8000*2
			})
			if tt.answer > 0 && time.Since(start) >= tt.answer {
				t.Fatalf("the audio took %v, no longer early", time.Since(start))
			}
			if hz, db := dominant(caller.peer.between("a", ""), 440, 660, 1000); hz != 660 || db < 20 {
				t.Errorf("the caller hears %v Hz (%.1f dB) before the answer, want the softphone's 660", hz, db)
			}
			if hz, db := dominant(desk.peer.between("a", ""), 440, 660, 1000); hz != 1000 || db < 20 {
				t.Errorf("the softphone hears %v Hz (%.1f dB) before the answer, want the caller's 1000", hz, db)
			}
			if tt.answer == 0 {
				c.cancelCtx()
			}
			c.wait(t)
			mobile.waitEvent("cancel")
			if tt.answer == 0 {
				if c.status != 487 {
					t.Errorf("caller's final status %d, want 487", c.status)
				}
				desk.waitEvent("cancel")
				h.waitIdle()
				if rec := h.lastRecord(); rec.Outcome != "abandoned" {
					t.Errorf("record %+v, want abandoned", rec)
				}
				return
			}
			if c.err != nil || c.status != 200 {
				t.Fatalf("caller: %d %v, want 200", c.status, c.err)
			}
			if !slices.Contains(c.statuses, 183) {
				t.Errorf("caller saw %v, want 183", c.statuses)
			}
			if got := string(c.dlg.InviteResponse.Body()); got != string(c.earlyBody) {
				t.Errorf("the 200's SDP\n%s\ndiffers from the 183's\n%s", got, c.earlyBody)
			}
			desk.waitEvent("answered")
			n := caller.peer.samples()
			waitFor(t, "audio after the answer", func() bool { return caller.peer.samples() >= n+8000 })
			endAnswered(t, h, c, desk)
		})
	}
}

// BenchmarkRelayTranscode is the relay's work per 20 ms packet when the two
// legs of an extension call speak different codecs.
func BenchmarkRelayTranscode(b *testing.B) {
	ulaw := lawCodec(media.PCMU, 101)
	alaw := lawCodec(media.PCMA, 101)
	wide := legCodec{g722: true, pt: media.G722PayloadType, dtmf: 101}
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	for _, c := range []struct {
		name     string
		from, to *legCodec
	}{
		{"PCMU-PCMA", &ulaw, &alaw},
		{"PCMU-G722", &ulaw, &wide},
		{"G722-PCMU", &wide, &ulaw},
	} {
		b.Run(c.name, func(b *testing.B) {
			var s relayScratch
			b.ReportAllocs()
			for b.Loop() {
				s.transcode(c.from, c.to, payload)
			}
		})
	}
}
