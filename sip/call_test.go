package sip

import (
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
)

// TestCallAdmittedHearsRoom: a SIPp caller dials a live number, waits in the
// lobby hearing the waiting beeps, the operator admits them, and they hear the
// room (a 1 kHz phone member) while the room hears them (660 Hz). The caller's
// BYE then releases the call, its RTP port and its goroutines.
func TestCallAdmittedHearsRoom(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 31000})

	num := h.numbers[liveNumber]
	op, opMember := h.hostAlice(num)
	tonePeer, toneMember := h.addTonePhone(num, 1000)

	peer := newRTPPeer(t, 660)
	base := runtime.NumGoroutine()
	result := make(chan e2e.SIPpResult, 1)
	go func() {
		result <- h.sipp("call", e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeAfter(6000))), e2e.SIPpRun{
			Service: liveNumber, Keys: map[string]string{"rtpport": strconv.Itoa(peer.port())},
		})
	}()

	req := op.waitJoin(t)
	if req.Identity.Kind != dialroom.MemberKindPhone || req.Identity.Address != "090-****-5678" || req.Identity.Trunk != "loopback" {
		t.Errorf("operator sees %+v", req.Identity)
	}
	// Let the caller hear the waiting prompt for a while first.
	waitFor(t, "waiting prompt audio", func() bool { return peer.samples() >= 8000*2 })
	peer.mark("admit")
	if _, err := opMember.Admit(req.ID); err != nil {
		t.Fatal(err)
	}
	// Skip the first half second: jitter buffers fill, the mix settles.
	waitFor(t, "room audio", func() bool { return peer.samples() >= 8000*3+8000/2 })
	peer.mark("settled")
	waitFor(t, "more room audio", func() bool { return peer.samples() >= 8000*5 })
	peer.mark("end")

	if hz, db := dominant(peer.between("", "admit"), 440, 660, 1000); hz != 440 || db < 10 {
		t.Errorf("in the lobby the caller heard %v Hz (%.1f dB above the rest), want the 440 Hz waiting beeps", hz, db)
	}
	if hz, db := dominant(peer.between("settled", "end"), 440, 660, 1000); hz != 1000 || db < 20 {
		t.Errorf("in the room the caller heard %v Hz (%.1f dB above the rest), want the room's 1000 Hz", hz, db)
	}
	heard := tonePeer.heardCopy()
	if len(heard) > 8000 {
		heard = heard[len(heard)-8000:]
	}
	if hz, db := dominant(heard, 440, 660, 1000); hz != 660 || db < 20 {
		t.Errorf("the room heard %v Hz (%.1f dB above the rest) from the caller, want 660", hz, db)
	}

	requireSIPpOK(t, <-result)
	h.waitIdle()
	waitFor(t, "caller gone from the room", func() bool { return len(opMember.Room().Members()) == 2 })
	toneMember.Leave("left")
	opMember.Leave("left")
	goroutinesSettle(t, base)
	// The port is free again: the allocator hands every port out once more.
	if got := h.ports.Free(); got != h.nports {
		t.Errorf("free ports %d, want %d", got, h.nports)
	}
}

// TestDeclinedHearsToneThenBye: a declined caller never reaches the room;
// we play the goodbye tone and hang up with BYE.
func TestDeclinedHearsToneThenBye(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 31100})
	num := h.numbers[liveNumber]
	op, opMember := h.hostAlice(num)
	peer := newRTPPeer(t, 660)
	result := make(chan e2e.SIPpResult, 1)
	go func() {
		result <- h.sipp("declined", e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeFromServer)), e2e.SIPpRun{
			Service: liveNumber, Keys: map[string]string{"rtpport": strconv.Itoa(peer.port())},
		})
	}()
	req := op.waitJoin(t)
	if err := opMember.Decline(req.ID); err != nil {
		t.Fatal(err)
	}
	requireSIPpOK(t, <-result)
	h.waitIdle()
	if n := len(opMember.Room().Members()); n != 1 {
		t.Errorf("room has %d members, want only the operator", n)
	}
}

// TestRefusedCalls: numbers that are not live and reject routes get their
// statuses, and nothing is left behind.
func TestRefusedCalls(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 31200})
	for _, tt := range []struct {
		name, number string
		status       int
	}{
		{"unknown number", unknownNumber, 404},
		{"revoked number", revokedNumber, 404},
		{"reject route", closedNumber, 603},
		{"no route", "0120000000", 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := h.sipp("reject", e2e.SIPpUAC(e2e.SIPpRejectedWith(tt.status)), e2e.SIPpRun{
				Service: tt.number, Keys: map[string]string{"rtpport": "40000"},
			})
			requireSIPpOK(t, res)
		})
	}
	h.waitIdle()
	recs := h.recordsCopy()
	if len(recs) != 4 {
		t.Fatalf("records: %+v", recs)
	}
	for _, r := range recs {
		if r.Outcome != "rejected" || r.Party != "090-****-5678" {
			t.Errorf("record %+v", r)
		}
	}
	if recs[2].Rule != "closed" || recs[2].Reason != "603 Decline" {
		t.Errorf("reject route record %+v", recs[2])
	}
}

// TestNotFromTrunk: a call from an address no trunk names must be an
// operator's softphone: without credentials it is challenged (401) and
// creates no call state (no call, no port, no record).
func TestNotFromTrunk(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 31300})
	res := h.sipp("forbidden", e2e.SIPpUAC(e2e.SIPpRejectedWith(401)), e2e.SIPpRun{
		LocalIP: "127.0.0.2", Service: liveNumber, Keys: map[string]string{"rtpport": "40000"},
	})
	requireSIPpOK(t, res)
	if h.srv.Calls() != 0 || h.ports.Free() != h.nports || len(h.recordsCopy()) != 0 {
		t.Errorf("state left: calls %d, free ports %d/%d, records %v", h.srv.Calls(), h.ports.Free(), h.nports, h.recordsCopy())
	}
	if h.engine.Stats().Waiting != 0 || h.engine.Lookup(liveNumber) != nil {
		t.Error("a refused caller reached the engine")
	}
}

// TestCancelBeforeAnswer: CANCEL while ringing gets 200, the INVITE 487
// (RFC 3261 §9.2), and the call's port is released.
func TestCancelBeforeAnswer(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 31400, answerDelay: 3 * time.Second})
	res := h.sipp("cancel", e2e.SIPpUAC(e2e.SIPpCancelAfterRinging()), e2e.SIPpRun{
		Service: liveNumber, Keys: map[string]string{"rtpport": "40000"},
	})
	requireSIPpOK(t, res)
	h.waitIdle()
	if h.engine.Stats().Waiting != 0 {
		t.Error("a cancelled call reached the lobby")
	}
	recs := h.recordsCopy()
	if len(recs) != 1 || recs[0].Outcome != "abandoned" {
		t.Errorf("records %+v", recs)
	}
}

// TestKeysInRoom: *6 toggles the caller's mute (docs/phone.md) and *#
// plays one beep per member.
func TestKeysInRoom(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 31600})
	num := h.numbers[liveNumber]
	op, opMember := h.hostAlice(num)
	peer := newRTPPeer(t, 660)
	result := make(chan e2e.SIPpResult, 1)
	go func() {
		result <- h.sipp("keys", e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeAfter(5000))), e2e.SIPpRun{
			Service: liveNumber, Keys: map[string]string{"rtpport": strconv.Itoa(peer.port())},
		})
	}()
	req := op.waitJoin(t)
	guest, err := opMember.Admit(req.ID)
	if err != nil {
		t.Fatal(err)
	}
	muted := func() bool {
		for _, m := range opMember.Room().Members() {
			if m.ID == guest.ID() {
				return m.Muted
			}
		}
		return false
	}
	if err := peer.dtmf.Send("*6"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "*6 mutes", muted)
	if err := peer.dtmf.Send("*6"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "*6 again unmutes", func() bool { return !muted() })

	// The room is otherwise silent for the caller (the operator is a browser
	// without audio): after *# the caller hears the 800 Hz count beeps.
	time.Sleep(600 * time.Millisecond) // let the unmute confirmation end
	if err := peer.dtmf.Send("*#"); err != nil {
		t.Fatal(err)
	}
	peer.mark("keys")
	start := peer.samples()
	waitFor(t, "audio after *#", func() bool { return peer.samples() >= start+8000 })
	peer.mark("after")
	if hz, db := dominant(peer.between("keys", "after"), 440, 660, 800, 1000); hz != 800 || db < 10 {
		t.Errorf("after *# the caller heard %v Hz (%.1f dB above the rest), want 800 Hz beeps", hz, db)
	}
	requireSIPpOK(t, <-result)
	h.waitIdle()
}

// TestHoldAndResume: a re-INVITE with sendonly holds the call (we answer
// recvonly and stop sending), one with sendrecv resumes it.
func TestHoldAndResume(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 31700})
	peer := newRTPPeer(t, 660)
	scenario := e2e.SIPpUAC(e2e.SIPpAnsweredThen(
		`<pause milliseconds="1000"/>` + e2e.SIPpReinvite("sendonly", 2, 1500) + e2e.SIPpReinvite("sendrecv", 3, 1000) + e2e.SIPpByeAfterCSeq(0, 4)))
	result := make(chan e2e.SIPpResult, 1)
	go func() {
		result <- h.sipp("hold", scenario, e2e.SIPpRun{
			Service: liveNumber, Keys: map[string]string{"rtpport": strconv.Itoa(peer.port())},
		})
	}()
	// Sample the received count through the call: it must stall during hold.
	var counts []int
	deadline := time.Now().Add(waitTimeout)
	var res e2e.SIPpResult
loop:
	for time.Now().Before(deadline) {
		select {
		case res = <-result:
			break loop
		case <-time.After(250 * time.Millisecond):
			counts = append(counts, peer.samples())
		}
	}
	requireSIPpOK(t, res)
	h.waitIdle()
	// Look for a stall of at least 1 s (4 samples of 250 ms) between growth.
	stalled, grewAfter := false, false
	for i := 4; i < len(counts); i++ {
		if counts[i] == counts[i-4] && counts[i] > 0 {
			stalled = true
		}
		if stalled && counts[i] > counts[i-1] {
			grewAfter = true
		}
	}
	if !stalled || !grewAfter {
		t.Errorf("received sample counts every 250 ms: %v; want a stall during hold and growth after resume", counts)
	}
}

// TestRTPTimeout: a caller who sends no RTP is hung up on with BYE.
func TestRTPTimeout(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 31800, rtpTimeout: time.Second})
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	res := h.sipp("timeout", e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeFromServer)), e2e.SIPpRun{
		Service: liveNumber, Keys: map[string]string{"rtpport": strconv.Itoa(silent.LocalAddr().(*net.UDPAddr).Port)},
	})
	requireSIPpOK(t, res)
	h.waitIdle()
}

// TestCloseEndsCalls: closing the server hangs up on callers in the lobby
// with BYE and leaves nothing running.
func TestCloseEndsCalls(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 31900})
	peer := newRTPPeer(t, 660)
	base := runtime.NumGoroutine()
	result := make(chan e2e.SIPpResult, 1)
	go func() {
		result <- h.sipp("close", e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeFromServer)), e2e.SIPpRun{
			Service: liveNumber, Keys: map[string]string{"rtpport": strconv.Itoa(peer.port())},
		})
	}()
	waitFor(t, "caller in the lobby", func() bool { return h.engine.Stats().Waiting == 1 })
	h.srv.Close()
	requireSIPpOK(t, <-result)
	if h.srv.Calls() != 0 || h.ports.Free() != h.nports {
		t.Errorf("after Close: calls %d, free ports %d/%d", h.srv.Calls(), h.ports.Free(), h.nports)
	}
	if h.engine.Stats().Waiting != 0 {
		t.Error("the caller is still in the lobby")
	}
	goroutinesSettle(t, base)
}

// TestSessionTimer: a caller asking for session timers gets them with
// itself as refresher (RFC 4028 §9); without a refresh we hang up before
// the interval ends (§10). Too short an interval gets 422 with Min-SE.
func TestSessionTimer(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32000})
	h.srv.minSE.Store(int64(3 * time.Second)) // RFC 4028 allows no less than 90 s; the test cannot wait that long
	peer := newRTPPeer(t, 660)
	keys := map[string]string{"rtpport": strconv.Itoa(peer.port())}

	res := h.sipp("se-brief", e2e.SIPpUACWith("\n      Supported: timer\n      Session-Expires: 2", e2e.SIPpRejectedWith(422)),
		e2e.SIPpRun{Service: liveNumber, Keys: keys})
	requireSIPpOK(t, res)

	checkSE := `
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="^ *3;refresher=uac" search_in="hdr" header="Session-Expires:" check_it="true" assign_to="se"/>
    </action>
  </recv>
  <Reference variables="se"/>`
	scenario := e2e.SIPpUACWith("\n      Supported: timer\n      Session-Expires: 3;refresher=uac",
		strings.Replace(e2e.SIPpAnsweredThen(e2e.SIPpByeFromServer), `
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>`, checkSE, 1))
	start := time.Now()
	res = h.sipp("se", scenario, e2e.SIPpRun{Service: liveNumber, Keys: keys})
	requireSIPpOK(t, res)
	if d := time.Since(start); d < 1500*time.Millisecond || d > 5*time.Second {
		t.Errorf("hung up after %v, want about 2 s (3 s interval less a third)", d)
	}
	h.waitIdle()
}

// TestCallOverTCP: the same call over TCP (RFC 3261 §18): answered, in the
// lobby, hung up by the caller.
func TestCallOverTCP(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32100})
	peer := newRTPPeer(t, 660)
	res := h.sipp("tcp", e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeAfter(500))), e2e.SIPpRun{
		Target: h.srv.TCPAddrs()[0].String(), Transport: "t1",
		Service: liveNumber, Keys: map[string]string{"rtpport": strconv.Itoa(peer.port())},
	})
	requireSIPpOK(t, res)
	h.waitIdle()
	if peer.samples() == 0 {
		t.Error("no RTP reached the caller")
	}
}

// TestAccessNumber: a caller dials the access number, keys an issued number
// and #, and reaches that number's lobby; a caller who keys only wrong
// numbers hears the invalid beeps, then the goodbye, then BYE.
func TestAccessNumber(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32200})
	t.Run("valid", func(t *testing.T) {
		op, opMember := h.hostAlice(h.numbers[liveNumber])
		defer opMember.Leave("left")
		peer := newRTPPeer(t, 660)
		result := make(chan e2e.SIPpResult, 1)
		go func() {
			result <- h.sipp("access", e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeFromServer)), e2e.SIPpRun{
				Service: accessNumber, Keys: map[string]string{"rtpport": strconv.Itoa(peer.port())},
			})
		}()
		waitFor(t, "the question", func() bool { return peer.samples() > 0 })
		if err := peer.dtmf.Send(liveNumber + "#"); err != nil {
			t.Fatal(err)
		}
		req := op.waitJoin(t)
		if err := opMember.Decline(req.ID); err != nil { // ends the call: BYE from us
			t.Fatal(err)
		}
		requireSIPpOK(t, <-result)
	})
	t.Run("invalid", func(t *testing.T) {
		peer := newRTPPeer(t, 660)
		result := make(chan e2e.SIPpResult, 1)
		go func() {
			result <- h.sipp("access-bad", e2e.SIPpUAC(e2e.SIPpAnsweredThen(e2e.SIPpByeFromServer)), e2e.SIPpRun{
				Service: accessNumber, Keys: map[string]string{"rtpport": strconv.Itoa(peer.port())},
			})
		}()
		waitFor(t, "the question", func() bool { return peer.samples() > 0 })
		if err := peer.dtmf.Send("123#"); err != nil {
			t.Fatal(err)
		}
		// The second attempt: nothing keyed; the first-digit timeout ends it.
		requireSIPpOK(t, <-result)
	})
	h.waitIdle()
	var outcomes []string
	for _, r := range h.recordsCopy() {
		outcomes = append(outcomes, r.Outcome+" "+r.Rule)
	}
	if len(outcomes) != 1 || outcomes[0] != "rejected access" {
		t.Errorf("records from the sip side: %q, want one rejected (the declined one is the bridge's)", outcomes)
	}
}

// TestAccessNumberKeysWithoutEvents: callers whose keys do not come as RFC
// 4733 events still reach their conference through an access number:
// keys played in-band by a caller whose offer has no telephone-event, and
// keys sent as SIP INFO (application/dtmf-relay). Both with SIPp placing the
// call and the test's RTP socket playing the caller's audio.
func TestAccessNumberKeysWithoutEvents(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32260})
	for _, tt := range []struct {
		name     string
		scenario func(peer *rtpPeer) string
	}{
		{"in-band", func(*rtpPeer) string {
			return e2e.SIPpUACWithoutEvents(e2e.SIPpAnsweredThen(e2e.SIPpByeFromServer))
		}},
		{"SIP INFO", func(*rtpPeer) string {
			// The keys follow the question's first second of audio. First
			// two INFOs that are not keys: an Info Package (469: we
			// support none) and a body of another type (415).
			return e2e.SIPpUAC(e2e.SIPpAnsweredThen(`
  <pause milliseconds="1000"/>` +
				e2e.SIPpInfo(2, "application/dtmf-relay", "Signal=5", "\n      Info-Package: foo", 469) +
				e2e.SIPpInfo(3, "text/plain", "5", "", 415) +
				e2e.SIPpInfoKeys(liveNumber+"#", 4, 150) + e2e.SIPpByeFromServer))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			op, opMember := h.hostAlice(h.numbers[liveNumber])
			defer opMember.Leave("left")
			peer := newRTPPeer(t, 660)
			result := make(chan e2e.SIPpResult, 1)
			go func() {
				result <- h.sipp("access-"+strings.ReplaceAll(tt.name, " ", "-"), tt.scenario(peer), e2e.SIPpRun{
					Service: accessNumber, Keys: map[string]string{"rtpport": strconv.Itoa(peer.port())},
				})
			}()
			waitFor(t, "the question", func() bool { return peer.samples() > 0 })
			if tt.name == "in-band" {
				peer.playInband(inbandKeyAudio(t, media.G711Rate, liveNumber+"#"))
			}
			req := op.waitJoin(t)
			if err := opMember.Decline(req.ID); err != nil { // ends the call: BYE from us
				t.Fatal(err)
			}
			requireSIPpOK(t, <-result)
		})
	}
	h.waitIdle()
}
