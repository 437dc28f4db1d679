package sip

import (
	"fmt"
	"testing"

	"github.com/dialroom/dialroom"
	"github.com/emiago/sipgo/sip"
)

// invite sends an INVITE from the raw UA for number with an SDP offer for
// RTP at rtpPort, answering one digest challenge with user's password, and
// returns the final response and the request as sent (for ACK and BYE).
func (u *rawUA) invite(number, callID, user, password string, rtpPort int) (*sip.Response, string) {
	u.t.Helper()
	uri := fmt.Sprintf("sip:%s@%s", number, u.srv)
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", rtpPort)
	build := func(auth string) string {
		u.cseq++
		msg := fmt.Sprintf("INVITE %s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP 127.0.0.2:%d;branch=z9hG4bK-%s-%d\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:%s@127.0.0.2>;tag=soft-%s\r\n"+
			"To: <%s>\r\n"+
			"Call-ID: %s\r\n"+
			"CSeq: %d INVITE\r\n"+
			"Contact: <sip:%s@127.0.0.2:%d>\r\n"+
			"Content-Type: application/sdp\r\n", uri, u.port(), callID, u.cseq, user, callID, uri, callID, u.cseq, user, u.port())
		if auth != "" {
			msg += "Authorization: " + auth + "\r\n"
		}
		return msg + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(sdp), sdp)
	}
	res := u.roundTrip(build(""))
	if res.StatusCode != 401 {
		u.t.Fatalf("INVITE without credentials: %d %s, want 401", res.StatusCode, res.Reason)
	}
	// RFC 3261 §17.1.1.3: the ACK of a non-2xx final response belongs to
	// the INVITE's transaction (same branch), or the 401 is retransmitted.
	u.ackBranch(uri, callID, fmt.Sprintf("z9hG4bK-%s-%d", callID, u.cseq), res)
	res = u.roundTrip(build(digestAnswer(u.t, res, "SHA-256", user, password, "INVITE", uri)))
	return res, uri
}

// answeredCall is invite, failing the test unless the answer is 200, then
// ack: a softphone's call that is up. It returns the Request-URI and the 200.
func (u *rawUA) answeredCall(number, callID, user, password string, rtpPort int) (string, *sip.Response) {
	u.t.Helper()
	res, uri := u.invite(number, callID, user, password, rtpPort)
	if res.StatusCode != 200 {
		u.t.Fatalf("%s calling %s: %d %s, want 200", user, number, res.StatusCode, res.Reason)
	}
	u.ack(uri, callID, res)
	return uri, res
}

// ack acknowledges a 2xx to the INVITE with CSeq res's (a new transaction,
// RFC 3261 §13.2.2.4).
func (u *rawUA) ack(uri, callID string, res *sip.Response) {
	u.t.Helper()
	u.ackBranch(uri, callID, fmt.Sprintf("z9hG4bK-ack-%s-%d", callID, res.CSeq().SeqNo), res)
}

func (u *rawUA) ackBranch(uri, callID, branch string, res *sip.Response) {
	u.t.Helper()
	msg := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s\r\nMax-Forwards: 70\r\n"+
		"From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
		uri, u.conn.LocalAddr(), branch, res.From().Value(), res.To().Value(), callID, res.CSeq().SeqNo)
	if _, err := u.conn.WriteToUDP([]byte(msg), u.srv); err != nil {
		u.t.Fatal(err)
	}
}

// bye ends the dialog res (a 200 to our INVITE) established.
func (u *rawUA) bye(uri, callID string, res *sip.Response) *sip.Response {
	u.t.Helper()
	u.cseq++
	msg := fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:%d;branch=z9hG4bK-bye-%s-%d\r\nMax-Forwards: 70\r\n"+
		"From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d BYE\r\nContent-Length: 0\r\n\r\n",
		res.Contact().Address.String(), u.port(), callID, u.cseq, res.From().Value(), res.To().Value(), callID, u.cseq)
	return u.roundTrip(msg)
}

// TestSoftphoneOperatorEntersOwnRoom: Alice's softphone calls her own
// number with digest credentials and is in the room as its operator at once
// (no lobby, no waiting prompt); she hears the room and the room hears her.
// Bob's softphone calling Alice's number waits in her lobby like a guest.
// A wrong password is refused (403) and leaves nothing behind.
func TestSoftphoneOperatorEntersOwnRoom(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32040})
	num := h.numbers[liveNumber]
	op, opMember := h.hostAlice(num)
	tonePeer, toneMember := h.addTonePhone(num, 1000)

	u := newRawUA(t, h)
	peer := newRTPPeer(t, 660)
	uri, res := u.answeredCall(liveNumber, "soft-alice", "alice", alicePassword, peer.port())
	var softMember dialroom.Identity
	waitFor(t, "alice's softphone in the room", func() bool {
		for _, m := range opMember.Room().Members() {
			if m.Identity.Kind == dialroom.MemberKindPhone && m.Identity.Role == dialroom.RoleOperator {
				softMember = m.Identity
				return true
			}
		}
		return false
	})
	if softMember.Address != "softphone alice" || softMember.Name != "alice" { // the harness has no OperatorName: the login
		t.Errorf("the softphone member is %+v", softMember)
	}
	if lobby := opMember.Room().Lobby(); len(lobby) != 0 {
		t.Errorf("alice's own softphone went through the lobby: %+v", lobby)
	}
	waitFor(t, "room audio at the softphone", func() bool { return peer.samples() >= 8000*2 })
	peer.mark("settled")
	waitFor(t, "more room audio", func() bool { return peer.samples() >= 8000*3 })
	peer.mark("end")
	if hz, db := dominant(peer.between("settled", "end"), 440, 660, 1000); hz != 1000 || db < 20 {
		t.Errorf("alice's softphone heard %v Hz (%.1f dB above the rest), want the room's 1000 Hz (and no waiting beeps)", hz, db)
	}
	waitFor(t, "the room hears the softphone", func() bool {
		heard := tonePeer.heardCopy()
		if len(heard) < 8000 {
			return false
		}
		hz, db := dominant(heard[len(heard)-4000:], 440, 660, 1000)
		return hz == 660 && db >= 20
	})

	// Bob calling Alice's number is a guest: her lobby.
	bob := newRawUA(t, h)
	bobPeer := newRTPPeer(t, 500)
	bobRes, bobURI := bob.invite(liveNumber, "soft-bob", "bob", bobPassword, bobPeer.port())
	if bobRes.StatusCode != 200 {
		t.Fatalf("bob's softphone INVITE: %d %s", bobRes.StatusCode, bobRes.Reason)
	}
	bob.ack(bobURI, "soft-bob", bobRes)
	if req := op.waitJoin(t); req.Identity.Address != "softphone bob" || req.Identity.Role != dialroom.RoleGuest {
		t.Errorf("bob waits as %+v, want a guest named softphone bob", req.Identity)
	}
	if r := bob.bye(bobURI, "soft-bob", bobRes); r.StatusCode != 200 {
		t.Errorf("bob's BYE: %d", r.StatusCode)
	}

	// A wrong password: 403 and no call.
	mallory := newRawUA(t, h)
	res2, _ := mallory.invite(liveNumber, "soft-wrong", "alice", "not her password", 40000)
	if res2.StatusCode != 403 {
		t.Errorf("a wrong password: %d %s, want 403", res2.StatusCode, res2.Reason)
	}

	if r := u.bye(uri, "soft-alice", res); r.StatusCode != 200 {
		t.Errorf("alice's BYE: %d", r.StatusCode)
	}
	h.waitIdle()
	if recs := h.recordsCopy(); len(recs) != 0 {
		t.Errorf("calls that were refused at authentication left records: %+v", recs)
	}
	toneMember.Leave("left")
	opMember.Leave("left")
}

// TestTrunkInboundAuth: a trunk with inbound_auth takes calls from any
// address that authenticates with its username and password (a peer PBX):
// the call is routed like a carrier's, reaching the lobby as a phone guest
// on that trunk. A wrong password is refused, and the peer cannot register.
func TestTrunkInboundAuth(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32120})
	op, opMember := h.hostAlice(h.numbers[liveNumber])
	u := newRawUA(t, h)
	peer := newRTPPeer(t, 660)
	uri, res := u.answeredCall(liveNumber, "peer-1", "peerpbx", "peer-secret-1", peer.port())
	req := op.waitJoin(t)
	if req.Identity.Trunk != "peer" || req.Identity.Role != dialroom.RoleGuest || req.Identity.Kind != dialroom.MemberKindPhone {
		t.Errorf("the peer's caller waits as %+v, want a phone guest on trunk peer", req.Identity)
	}
	if r := u.bye(uri, "peer-1", res); r.StatusCode != 200 {
		t.Errorf("BYE: %d", r.StatusCode)
	}

	wrong := newRawUA(t, h)
	if res, _ := wrong.invite(liveNumber, "peer-2", "peerpbx", "not-the-secret", 40000); res.StatusCode != 403 {
		t.Errorf("a wrong peer password: %d, want 403", res.StatusCode)
	}
	reg := newRawUA(t, h)
	contact := fmt.Sprintf("Contact: <sip:peerpbx@127.0.0.2:%d>\r\n", reg.port())
	r := reg.register("peerpbx", "peer-reg", contact, "")
	r = reg.register("peerpbx", "peer-reg", contact, digestAnswer(t, r, "MD5", "peerpbx", "peer-secret-1", "REGISTER", "sip:"+reg.srv.String()))
	if r.StatusCode != 403 {
		t.Errorf("a trunk peer registering: %d, want 403", r.StatusCode)
	}
	h.waitIdle()
	opMember.Leave("left")
}
