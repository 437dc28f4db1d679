package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
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
	modeAnswer answerMode = iota // 180, then 200 after answerAfter
	modeBusy                     // 180, then 486
	modeRing                     // 180, and rings until cancelled
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
	from        string // the From user of the last INVITE received
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
	case modeAnswer:
		select {
		case <-time.After(after):
		case <-dlg.Context().Done():
		}
	}
	if mode == modeRing || dlg.Context().Err() != nil {
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
	res, uri := u.invite("201", "soft-bob", "bob", bobPassword, peer.port())
	if res.StatusCode != 200 {
		t.Fatalf("bob's softphone calling 201: %d %s, want 200", res.StatusCode, res.Reason)
	}
	u.ack(uri, "soft-bob", res)
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
	ports, err := media.NewPortAllocator(33500, 33509)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	ep, err := media.Listen(media.EndpointConfig{Ports: ports, IP: netip.MustParseAddr("127.0.0.1"), OnPacket: func(*rtp.Packet, time.Time) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	ep.SetRemote(sink.LocalAddr().(*net.UDPAddr).AddrPort())
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
	var buf relayScratch
	for _, tt := range []struct {
		name     string
		pt       uint8
		payload  []byte
		from, to legCodec
		wantPT   int // -1: dropped
		want     []byte
	}{
		{"same law", 0, ulaw, legCodec{media.PCMU, 101}, legCodec{media.PCMU, 101}, 0, ulaw},
		{"μ-law to A-law", 0, ulaw, legCodec{media.PCMU, 101}, legCodec{media.PCMA, 101}, 8, via(media.PCMU, media.PCMA, ulaw)},
		{"A-law to μ-law", 8, alaw, legCodec{media.PCMA, 101}, legCodec{media.PCMU, 96}, 0, via(media.PCMA, media.PCMU, alaw)},
		{"event, new payload type", 101, event, legCodec{media.PCMU, 101}, legCodec{media.PCMU, 96}, 96, event},
		{"event, no telephone-event", 101, event, legCodec{media.PCMU, 101}, legCodec{media.PCMU, -1}, -1, nil},
		{"unknown payload type", 13, []byte{1}, legCodec{media.PCMU, 101}, legCodec{media.PCMU, 101}, -1, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			from, to := tt.from, tt.to
			forwardRTP(&rtp.Packet{Header: rtp.Header{PayloadType: tt.pt, Timestamp: 4711}, Payload: tt.payload}, &from, &to, ep, &buf)
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
