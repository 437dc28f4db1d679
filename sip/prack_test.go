package sip

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo/sip"
)

// nextResponse reads the raw UA's next response, or nil after d.
func (u *rawUA) nextResponse(d time.Duration) *sip.Response {
	u.t.Helper()
	buf := make([]byte, 65535)
	deadline := time.Now().Add(d)
	for {
		_ = u.conn.SetReadDeadline(deadline)
		n, _, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			return nil
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			continue
		}
		if res, ok := m.(*sip.Response); ok {
			return res
		}
	}
}

// expectResponse reads responses until one with code arrives (skipping
// 100 Trying) and fails on any other.
func (u *rawUA) expectResponse(code int, what string) *sip.Response {
	u.t.Helper()
	for {
		res := u.nextResponse(waitTimeout)
		if res == nil {
			u.t.Fatalf("%s: no %d", what, code)
		}
		if res.StatusCode == 100 {
			continue
		}
		if res.StatusCode != code {
			u.t.Fatalf("%s: %d %s, want %d", what, res.StatusCode, res.Reason, code)
		}
		return res
	}
}

// rseqOf returns a reliable provisional's RSeq (RFC 3262 §7.1), failing the
// test when it is not one.
func rseqOf(t *testing.T, res *sip.Response) uint32 {
	t.Helper()
	req, rs := res.GetHeader("Require"), res.GetHeader("RSeq")
	if req == nil || !strings.Contains(req.Value(), "100rel") || rs == nil {
		t.Fatalf("%d is not reliable (Require %v, RSeq %v)", res.StatusCode, req, rs)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(rs.Value()), 10, 32)
	if err != nil || n == 0 || n >= 1<<31 {
		t.Fatalf("RSeq %q", rs.Value())
	}
	return uint32(n)
}

// prack acknowledges the provisional res with RAck "rseq cseq INVITE"
// (RFC 3262 §7.2) in its early dialog and returns the PRACK's final status.
func (u *rawUA) prack(callID string, res *sip.Response, rseq uint32) int {
	u.t.Helper()
	u.cseq++
	target := u.srv.String()
	if c := res.Contact(); c != nil {
		target = c.Address.String()
	}
	msg := fmt.Sprintf("PRACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-prack-%s-%d\r\nMax-Forwards: 70\r\n"+
		"From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d PRACK\r\nRAck: %d %d INVITE\r\nContent-Length: 0\r\n\r\n",
		target, u.port(), callID, u.cseq, res.From().Value(), res.To().Value(), callID, u.cseq, rseq, res.CSeq().SeqNo)
	u.sendRaw(msg)
	for {
		r := u.nextResponse(waitTimeout)
		if r == nil {
			u.t.Fatal("no answer to the PRACK")
		}
		if r.CSeq().MethodName == sip.PRACK {
			return r.StatusCode
		}
	}
}

// TestRequireUnknownExtension: a request that requires an option tag we do
// not implement is refused with 420 naming it in Unsupported (RFC 3261
// §8.2.2.3) and leaves no call behind; 100rel and timer are ours, and
// OPTIONS says so.
func TestRequireUnknownExtension(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 34400})
	u := newRawUAAt(t, h, "127.0.0.1")
	_, msg := u.extInvite(liveNumber, "req-1", "Require: 100rel, precondition\r\nRequire: Timer\r\n", 40010)
	res := u.roundTrip(msg)
	if res.StatusCode != 420 {
		t.Fatalf("INVITE requiring precondition: %d %s, want 420", res.StatusCode, res.Reason)
	}
	if uns := res.GetHeader("Unsupported"); uns == nil || uns.Value() != "precondition" {
		t.Errorf("Unsupported: %v, want precondition alone", uns)
	}
	if n := h.srv.Calls(); n != 0 {
		t.Errorf("%d calls after a 420", n)
	}
	if h.engine.Stats().Waiting != 0 {
		t.Error("a refused caller reached a lobby")
	}

	options := func(extra string) *sip.Response {
		u.cseq++
		return u.roundTrip(fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-opt-%d\r\nMax-Forwards: 70\r\n"+
			"From: <sip:probe@127.0.0.1>;tag=o%d\r\nTo: <sip:%s>\r\nCall-ID: opt-%d\r\nCSeq: %d OPTIONS\r\n%sContent-Length: 0\r\n\r\n",
			u.srv, u.port(), u.cseq, u.cseq, u.srv, u.cseq, u.cseq, extra))
	}
	if res := options("Require: foo\r\n"); res.StatusCode != 420 || res.GetHeader("Unsupported") == nil {
		t.Errorf("OPTIONS requiring foo: %d, want 420 with Unsupported", res.StatusCode)
	}
	res = options("")
	if res.StatusCode != 200 {
		t.Fatalf("OPTIONS: %d", res.StatusCode)
	}
	if s := res.GetHeader("Supported"); s == nil || !strings.Contains(s.Value(), "100rel") || !strings.Contains(s.Value(), "timer") {
		t.Errorf("OPTIONS Supported: %v, want 100rel and timer", s)
	}
	if a := res.GetHeader("Allow"); a == nil || !strings.Contains(a.Value(), "PRACK") {
		t.Errorf("OPTIONS Allow: %v, want PRACK", a)
	}
}

// TestReliableEarlyMedia: a caller that supports or requires 100rel gets
// the announcement's 183 reliably (RFC 3262): Require: 100rel and an RSeq,
// retransmitted until its PRACK, which is answered 200; a PRACK that names
// another RSeq gets 481; after the PRACK the 183 stops, and the refusal
// follows when the announcement ends.
func TestReliableEarlyMedia(t *testing.T) {
	for i, header := range []string{"Require: 100rel\r\n", "Supported: timer, 100rel\r\n"} {
		t.Run(strings.Fields(header)[0], func(t *testing.T) {
			h := newHarness(t, harnessOptions{portBase: 34200 + 40*i})
			u := newRawUAAt(t, h, "127.0.0.1")
			peer := newRTPPeer(t, 660)
			callID := fmt.Sprintf("rel-%d", i)
			uri, msg := u.extInvite("0312345600", callID, header, peer.port()) // reject route "moved" with a prompt
			u.sendRaw(msg)
			first := u.expectResponse(183, "INVITE")
			rseq := rseqOf(t, first)
			sent := time.Now()
			again := u.expectResponse(183, "no PRACK yet")
			if got := rseqOf(t, again); got != rseq {
				t.Errorf("retransmitted 183 has RSeq %d, want %d", got, rseq)
			}
			if d := time.Since(sent); d < 400*time.Millisecond {
				t.Errorf("183 retransmitted after %v, want T1 (500 ms)", d)
			}
			if code := u.prack(callID, first, rseq+1); code != 481 {
				t.Errorf("PRACK for RSeq %d (never sent): %d, want 481", rseq+1, code)
			}
			if code := u.prack(callID, first, rseq); code != 200 {
				t.Fatalf("PRACK: %d, want 200", code)
			}
			for {
				res := u.nextResponse(waitTimeout)
				if res == nil {
					t.Fatal("no final response")
				}
				if res.StatusCode == 183 {
					t.Errorf("183 retransmitted after its PRACK")
					continue
				}
				if res.StatusCode != 410 {
					t.Fatalf("final %d, want 410", res.StatusCode)
				}
				u.ackBranch(uri, callID, fmt.Sprintf("z9hG4bK-%s-%d", callID, 1), res)
				break
			}
			h.waitIdle()
		})
	}
}

// TestReliableExtensionRinging: calling an extension with 100rel, the
// softphone's 180 reaches the caller reliably; its 183 with early media
// waits for that PRACK (one reliable provisional at a time, RFC 3262 §3)
// and then goes with the next RSeq; once the softphone answers, our 200
// waits for the 183's PRACK (no 2xx while a provisional with SDP is
// unacknowledged), and follows it. (A softphone that answers before the
// 180's PRACK gets the caller a 200 at once: the 183 not yet sent is
// overtaken, and a 180 without SDP does not hold a 2xx back.)
func TestReliableExtensionRinging(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 34300, plan: extensionPlan})
	desk := newSIPPhone(t, "127.0.0.3", 660, media.PCMU)
	desk.behave(modeEarly, 1500*time.Millisecond)
	desk.register(h, "alice")
	u := newRawUAAt(t, h, "127.0.0.1")
	peer := newRTPPeer(t, 1000)
	const callID = "rel-ext"
	uri, msg := u.extInvite(frontDesk, callID, "Require: 100rel\r\n", peer.port())
	u.sendRaw(msg)

	ringing := u.expectResponse(180, "INVITE to the extension")
	r1 := rseqOf(t, ringing)
	// The softphone's 183 may not overtake the 180's PRACK: only the 180
	// comes again.
	for end := time.Now().Add(700 * time.Millisecond); time.Now().Before(end); {
		res := u.nextResponse(time.Until(end))
		if res == nil {
			break
		}
		if res.StatusCode != 180 || rseqOf(t, res) != r1 {
			t.Fatalf("before the 180's PRACK: %d %s", res.StatusCode, res.Reason)
		}
	}
	if code := u.prack(callID, ringing, r1); code != 200 {
		t.Fatalf("PRACK of the 180: %d", code)
	}
	early := u.expectResponse(183, "after the 180's PRACK")
	if r2 := rseqOf(t, early); r2 != r1+1 {
		t.Errorf("183 RSeq %d, want %d", r2, r1+1)
	}
	if !strings.Contains(string(early.Body()), "m=audio") {
		t.Errorf("183 without SDP:\n%s", early.Body())
	}
	desk.waitEvent("answered") // 1.5 s after its 183; our 200 must still wait
	for end := time.Now().Add(700 * time.Millisecond); time.Now().Before(end); {
		res := u.nextResponse(time.Until(end))
		if res == nil {
			break
		}
		if res.StatusCode != 183 {
			t.Fatalf("before the 183's PRACK: %d %s, want nothing but the 183 again", res.StatusCode, res.Reason)
		}
	}
	if code := u.prack(callID, early, r1+1); code != 200 {
		t.Fatalf("PRACK of the 183: %d", code)
	}
	ok := u.expectResponse(200, "after the 183's PRACK")
	if string(ok.Body()) != string(early.Body()) {
		t.Errorf("the 200's SDP differs from the 183's")
	}
	u.ack(uri, callID, ok)
	if res := u.bye(uri, callID, ok); res.StatusCode != 200 {
		t.Errorf("BYE: %d", res.StatusCode)
	}
	desk.waitEvent("bye")
	h.waitIdle()
	if rec := h.lastRecord(); rec.Outcome != "answered" {
		t.Errorf("record %+v, want answered", rec)
	}
}

// TestProvisionalsGiveUp: a reliable provisional nobody acknowledges is
// resent at T1, 2·T1, 4·T1 … and given up after 64·T1 (RFC 3262 §3); a
// 2xx waiting for its PRACK gets errNoPrack.
func TestProvisionalsGiveUp(t *testing.T) {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Host: "127.0.0.1"})
	req.AppendHeader(sip.NewHeader("Supported", "100rel"))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 7, MethodName: sip.INVITE})
	sends := make(chan time.Time, 64)
	timedOut := make(chan struct{})
	p := newProvisionals(req, func(*sip.Response) error { sends <- time.Now(); return nil }, nil, func() { close(timedOut) })
	p.t1 = 5 * time.Millisecond
	res := sip.NewResponseFromRequest(req, 183, "Session Progress", []byte("v=0\r\n"))
	start := time.Now()
	if err := p.send(res); err != nil {
		t.Fatal(err)
	}
	if err := p.awaitSDPAck(nil); err != errNoPrack {
		t.Errorf("awaitSDPAck without PRACK: %v, want errNoPrack", err)
	}
	<-timedOut
	took := time.Since(start)
	if n := len(sends); n != 7 { // the first and six retransmissions (T1 … 32·T1)
		t.Errorf("%d sends, want 7", n)
	}
	if took < 64*p.t1 {
		t.Errorf("gave up after %v, want 64·T1 = %v", took, 64*p.t1)
	}
	if p.ack(fmt.Sprintf("%d 7 INVITE", p.rseq)) {
		t.Error("a PRACK after the give-up acknowledged something")
	}
}

// TestProvisionalsOneAtATime: while a reliable provisional awaits its
// PRACK a later one without SDP is dropped and one with SDP waits, then
// goes with the next RSeq (RFC 3262 §3); a 2xx waits for the PRACK of the
// one with SDP.
func TestProvisionalsOneAtATime(t *testing.T) {
	req := sip.NewRequest(sip.INVITE, sip.Uri{Host: "127.0.0.1"})
	req.AppendHeader(sip.NewHeader("Require", "100rel"))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 3, MethodName: sip.INVITE})
	sent := make(chan *sip.Response, 64)
	p := newProvisionals(req, func(r *sip.Response) error { sent <- r; return nil }, nil, nil)
	defer p.finish()
	ringing := func() *sip.Response { return sip.NewResponseFromRequest(req, 180, "Ringing", nil) }
	_ = p.send(ringing())
	first := <-sent
	r1 := rseqOf(t, first)
	_ = p.send(sip.NewResponseFromRequest(req, 183, "Session Progress", []byte("v=0\r\n")))
	_ = p.send(ringing())
	select {
	case r := <-sent:
		t.Fatalf("%d sent while the 180 awaits its PRACK", r.StatusCode)
	case <-time.After(100 * time.Millisecond):
	}
	if p.ack(fmt.Sprintf("%d 2 INVITE", r1)) || p.ack(fmt.Sprintf("%d 3 BYE", r1)) {
		t.Error("an RAck with another CSeq or method acknowledged the 180")
	}
	if !p.ack(fmt.Sprintf("%d 3 INVITE", r1)) {
		t.Fatal("the 180's PRACK was not taken")
	}
	next := <-sent
	if next.StatusCode != 183 || rseqOf(t, next) != r1+1 {
		t.Fatalf("after the PRACK: %d RSeq %v, want the 183 with RSeq %d", next.StatusCode, next.GetHeader("RSeq"), r1+1)
	}
	done := make(chan error, 1)
	go func() { done <- p.awaitSDPAck(nil) }()
	select {
	case err := <-done:
		t.Fatalf("the 2xx did not wait for the 183's PRACK: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if !p.ack(fmt.Sprintf("%d 3 INVITE", r1+1)) {
		t.Fatal("the 183's PRACK was not taken")
	}
	if err := <-done; err != nil {
		t.Errorf("awaitSDPAck after the PRACK: %v", err)
	}
	// Without 100rel nothing changes: every provisional goes as it is.
	plain := sip.NewRequest(sip.INVITE, sip.Uri{Host: "127.0.0.1"})
	plain.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.INVITE})
	q := newProvisionals(plain, func(r *sip.Response) error { sent <- r; return nil }, nil, nil)
	_ = q.send(sip.NewResponseFromRequest(plain, 180, "Ringing", nil))
	_ = q.send(sip.NewResponseFromRequest(plain, 183, "Session Progress", []byte("v=0\r\n")))
	for range 2 {
		if r := <-sent; r.GetHeader("RSeq") != nil || r.GetHeader("Require") != nil {
			t.Errorf("%d without 100rel carries RSeq or Require", r.StatusCode)
		}
	}
	if err := q.awaitSDPAck(nil); err != nil {
		t.Errorf("awaitSDPAck without 100rel: %v", err)
	}
}

// TestParseRAck covers RAck's three fields (RFC 3262 §7.2).
func TestParseRAck(t *testing.T) {
	for _, tt := range []struct {
		in         string
		rseq, cseq uint32
		ok         bool
	}{
		{"776656 1 INVITE", 776656, 1, true},
		{"  5 2   invite ", 5, 2, true},
		{"5 INVITE", 0, 0, false},
		{"x 1 INVITE", 0, 0, false},
		{"1 99999999999 INVITE", 0, 0, false},
	} {
		r, c, m, ok := parseRAck(tt.in)
		if ok != tt.ok || r != tt.rseq || c != tt.cseq || (ok && m != sip.INVITE) {
			t.Errorf("parseRAck(%q) = %d %d %s %v", tt.in, r, c, m, ok)
		}
	}
}

// TestSIPpReliableAnnouncement: SIPp, a real UA, calls a reject route with
// a prompt requiring 100rel; it gets the announcement's 183 reliably, PRACKs
// it, and the refusal follows.
func TestSIPpReliableAnnouncement(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 34440})
	res := h.sipp("reliable", e2e.SIPpUACWith("\n      Require: 100rel\n      Supported: 100rel, timer",
		e2e.SIPpReliableRefusal(410)), e2e.SIPpRun{Service: "0312345600", Keys: map[string]string{"rtpport": "40020"}})
	requireSIPpOK(t, res)
	h.waitIdle()
}
