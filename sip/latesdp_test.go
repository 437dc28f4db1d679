package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sendRaw sends msg from the raw UA.
func (u *rawUA) sendRaw(msg string) {
	u.t.Helper()
	if _, err := u.conn.WriteToUDP([]byte(msg), u.srv); err != nil {
		u.t.Fatal(err)
	}
}

// waitRequest reads until a request with method arrives and answers it 200.
func (u *rawUA) waitRequest(method string) *sip.Request {
	u.t.Helper()
	buf := make([]byte, 65535)
	for {
		_ = u.conn.SetReadDeadline(time.Now().Add(waitTimeout))
		n, from, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			u.t.Fatalf("no %s: %v", method, err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			continue
		}
		if req, ok := m.(*sip.Request); ok && string(req.Method) == method {
			res := sip.NewResponseFromRequest(req, 200, "OK", nil)
			_, _ = u.conn.WriteToUDP([]byte(res.String()), from)
			return req
		}
	}
}

// lateInvite is an INVITE without SDP from the raw UA (on the trunk's
// address) for number.
func (u *rawUA) lateInvite(number, callID string) (string, string) {
	u.cseq++
	uri := fmt.Sprintf("sip:%s@%s", number, u.srv)
	return uri, fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%d\r\nMax-Forwards: 70\r\n"+
		"From: <sip:09012345678@127.0.0.1>;tag=late-%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\n"+
		"Contact: <sip:caller@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n", uri, u.port(), callID, u.cseq, callID, uri, callID, u.cseq, u.port())
}

// ackWithAnswer acknowledges the 200 res with an SDP answer (PCMU and
// telephone-event at rtpPort), or with no body when rtpPort is 0.
func (u *rawUA) ackWithAnswer(uri, callID string, res *sip.Response, rtpPort int) {
	u.t.Helper()
	body := ""
	if rtpPort != 0 {
		body = fmt.Sprintf("v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", rtpPort)
	}
	ct := ""
	if body != "" {
		ct = "Content-Type: application/sdp\r\n"
	}
	u.sendRaw(fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-ack-%s-%d\r\nMax-Forwards: 70\r\n"+
		"From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\n%sContent-Length: %d\r\n\r\n%s",
		uri, u.port(), callID, res.CSeq().SeqNo, res.From().Value(), res.To().Value(), callID, res.CSeq().SeqNo, ct, len(body), body))
}

// TestLateOffer: an INVITE without SDP (RFC 3261 §13.2.1) is answered with
// our offer (PCMU, PCMA, telephone-event) and the caller's answer in the ACK
// sets up the media: the caller hears the waiting prompt and reaches the
// lobby. A re-INVITE without SDP gets an offer of the law in use only. An
// ACK without an answer ends the call with BYE.
func TestLateOffer(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32100})
	op, _ := h.hostAlice(h.numbers[liveNumber])
	u := newRawUAAt(t, h, "127.0.0.1")
	peer := newRTPPeer(t, 660)

	uri, msg := u.lateInvite(liveNumber, "late-1")
	res := u.roundTrip(msg)
	if res.StatusCode != 200 {
		t.Fatalf("late-offer INVITE: %d %s, want 200 with an offer", res.StatusCode, res.Reason)
	}
	offer := string(res.Body())
	for _, want := range []string{"m=audio ", "RTP/AVP 0 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=sendrecv"} {
		if !strings.Contains(offer, want) {
			t.Errorf("our offer lacks %q:\n%s", want, offer)
		}
	}
	u.ackWithAnswer(uri, "late-1", res, peer.port())
	if req := op.waitJoin(t); req.Identity.Address != "090-****-5678" {
		t.Errorf("the late-offer caller waits as %+v", req.Identity)
	}
	// The waiting prompt beeps every 2 s: listen for 2.5 s.
	waitFor(t, "the waiting prompt at the caller", func() bool { return peer.samples() >= 8000*5/2 })
	peer.mark("end")
	if hz, db := dominant(peer.between("", "end"), 440, 660, 1000); hz != 440 || db < 10 {
		t.Errorf("the late-offer caller heard %v Hz (%.1f dB above the rest), want the 440 Hz waiting beeps", hz, db)
	}

	// A re-INVITE without SDP: we offer the law in use, alone.
	u.cseq++
	reinvite := fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-re-%d\r\nMax-Forwards: 70\r\n"+
		"From: %s\r\nTo: %s\r\nCall-ID: late-1\r\nCSeq: %d INVITE\r\nContact: <sip:caller@127.0.0.1:%d>\r\nContent-Length: 0\r\n\r\n",
		res.Contact().Address.String(), u.port(), u.cseq, res.From().Value(), res.To().Value(), u.cseq, u.port())
	re := u.roundTrip(reinvite)
	if re.StatusCode != 200 || !strings.Contains(string(re.Body()), "RTP/AVP 0 101") {
		t.Errorf("re-INVITE without SDP: %d with\n%s\nwant 200 offering PCMU (in use) and telephone-event only", re.StatusCode, re.Body())
	}
	u.ackWithAnswer(res.Contact().Address.String(), "late-1", re, peer.port())
	if r := u.bye(uri, "late-1", res); r.StatusCode != 200 {
		t.Errorf("BYE: %d", r.StatusCode)
	}
	h.waitIdle()

	// The ACK carries no answer: the call ends with our BYE.
	uri2, msg2 := u.lateInvite(liveNumber, "late-2")
	res2 := u.roundTrip(msg2)
	if res2.StatusCode != 200 {
		t.Fatalf("second late-offer INVITE: %d", res2.StatusCode)
	}
	u.ackWithAnswer(uri2, "late-2", res2, 0)
	if bye := u.waitRequest("BYE"); bye.CallID().Value() != "late-2" {
		t.Errorf("BYE for %s", bye.CallID().Value())
	}
	h.waitIdle()
}
