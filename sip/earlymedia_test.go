package sip

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo/sip"
)

// inviteCollecting sends an INVITE with an offer for rtpPort from the raw
// UA and returns every response status until the final one, and the final.
func (u *rawUA) inviteCollecting(number, callID string, rtpPort int) ([]int, *sip.Response) {
	u.t.Helper()
	u.cseq++
	uri := fmt.Sprintf("sip:%s@%s", number, u.srv)
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", rtpPort)
	msg := fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s\r\nMax-Forwards: 70\r\n"+
		"From: <sip:09012345678@127.0.0.1>;tag=em-%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\n"+
		"Contact: <sip:caller@127.0.0.1:%d>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		uri, u.port(), callID, callID, uri, callID, u.cseq, u.port(), len(sdp), sdp)
	u.sendRaw(msg)
	var codes []int
	buf := make([]byte, 65535)
	for {
		_ = u.conn.SetReadDeadline(time.Now().Add(waitTimeout))
		n, _, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			u.t.Fatalf("after %v: %v", codes, err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			continue
		}
		if res, ok := m.(*sip.Response); ok {
			codes = append(codes, res.StatusCode)
			if res.StatusCode >= 200 {
				return codes, res
			}
		}
	}
}

// TestAnnouncedRefusals: a reject route with a prompt, and a conference
// route with not_live_prompt for a number that is not live, play the
// prompt as early media (183 with our answer, RFC 3960) and then send the
// status; the caller hears the announcement (the special information tone)
// and is never answered. Nothing is left behind.
func TestAnnouncedRefusals(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32140})
	for _, tt := range []struct {
		number string
		want   int
	}{
		{"0312345600", 410},  // reject route "moved" with prompt not-in-service
		{"04099998888", 404}, // conference route, number not live
	} {
		u := newRawUAAt(t, h, "127.0.0.1")
		peer := newRTPPeer(t, 660)
		start := time.Now()
		codes, final := u.inviteCollecting(tt.number, "em-"+tt.number, peer.port())
		took := time.Since(start)
		if final.StatusCode != tt.want || !containsInt(codes, 183) {
			t.Errorf("%s: responses %v, want 183 then %d", tt.number, codes, tt.want)
		}
		u.ackBranch("sip:"+tt.number+"@"+u.srv.String(), "em-"+tt.number, "z9hG4bK-em-"+tt.number, final)
		heard := peer.between("", "")
		for _, hz := range []float64{950, 1400, 1800} {
			if l := e2e.PCMToneLevel(heard, media.G711Rate, hz); l < -35 {
				t.Errorf("%s: the special information tone's %v Hz at %.1f dBFS before the %d, want it heard (%d samples)", tt.number, hz, l, tt.want, len(heard))
			}
		}
		if l := e2e.PCMToneLevel(heard, media.G711Rate, 660); l > -45 {
			t.Errorf("%s: the caller hears its own 660 Hz at %.1f dBFS", tt.number, l)
		}
		if took < 900*time.Millisecond {
			t.Errorf("%s: the status came after %v, before the announcement (about 1.1 s) could play", tt.number, took)
		}
	}
	h.waitIdle()
	if h.engine.Stats().Waiting != 0 {
		t.Error("a refused caller reached a lobby")
	}
	// Without a prompt the refusal is immediate (the carrier announces it).
	u := newRawUAAt(t, h, "127.0.0.1")
	if codes, final := u.inviteCollecting("06099998888", "em-plain", 40002); final.StatusCode != 404 || containsInt(codes, 183) {
		t.Errorf("a number that is not live on a route without not_live_prompt: %v, want 404 without early media", codes)
	}
}

func containsInt(xs []int, x int) bool { return slices.Contains(xs, x) }
