package sip

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// Dial-out against SIPp as a real UAS (dialout_uas_test.go): busy and failure
// statuses, CANCEL before the answer, the ring timeout, a 401 digest
// challenge answered with the trunk's credentials, hold, hang-ups from either
// side, the policy and the limits.

// TestDialoutWeHangUp ends an answered call from our side with BYE (RFC 3261
// §15.1.1): the operator hangs up, the operator removes the member, or the
// callee sends no RTP; each releases the port and every goroutine.
func TestDialoutWeHangUp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rtp   time.Duration
		cause string
	}{
		{"hangup", 0, "operator hung up"},
		{"removed", 0, "removed by the operator"},
		{"rtp-timeout", time.Second, "no RTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			port := freeUDPPort(t)
			h := newDialHarnessRTP(t, dialPlan(port, ""), tc.rtp)
			_, opMember := h.hostAlice(h.numbers[liveNumber])
			u := startUAS(t, port, uasAnswersUntilBye())
			st := newStatuses()
			call, err := h.dial(context.Background(), st, dialCallee, 0)
			if err != nil {
				t.Fatal(err)
			}
			st.until(t, DialAnswered)
			switch tc.name {
			case "hangup":
				call.Hangup()
			case "removed":
				var phoneID string
				for _, m := range opMember.Room().Members() {
					if m.Identity.Kind == dialroom.MemberKindPhone {
						phoneID = m.ID
					}
				}
				if err := opMember.Remove(phoneID); err != nil {
					t.Fatal(err)
				}
			}
			if end := st.until(t, DialEnded); !strings.Contains(end.Reason, tc.cause) {
				t.Errorf("ended %+v, want %q", end, tc.cause)
			}
			<-call.Done()
			u.wait(t) // SIPp got our BYE and answered it
			h.waitIdle()
			if n := len(opMember.Room().Members()); n != 1 {
				t.Errorf("%d members left, want the operator alone", n)
			}
			opMember.Leave("left")
			h.srv.Close()
			h.engine.Close()
			h.clock.Close()
			goroutinesSettle(t, base)
		})
	}
}

// TestDialoutHold: a callee's re-INVITE (hold) is answered within the
// dialog, then its BYE ends the call.
func TestDialoutHold(t *testing.T) {
	port := freeUDPPort(t)
	h := newDialHarness(t, dialPlan(port, ""))
	u := startUAS(t, port, uasHoldsThenHangsUp())
	st := newStatuses()
	call, err := h.dial(context.Background(), st, dialCallee, 0)
	if err != nil {
		t.Fatal(err)
	}
	st.until(t, DialAnswered)
	if end := st.until(t, DialEnded); !strings.Contains(end.Reason, "callee hung up") {
		t.Errorf("ended %+v", end)
	}
	<-call.Done()
	u.wait(t)
	h.waitIdle()
}

// TestDialoutRejected maps each final status to a state: 486 and 600 are
// busy, others failed with the code and reason; each call is recorded and
// releases its port.
func TestDialoutRejected(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   DialState
		code   int
	}{
		{"486 Busy Here", DialBusy, 486},
		{"600 Busy Everywhere", DialBusy, 600},
		{"404 Not Found", DialFailed, 404},
		{"503 Service Unavailable", DialFailed, 503},
	} {
		t.Run(strconv.Itoa(tc.code), func(t *testing.T) {
			port := freeUDPPort(t)
			h := newDialHarness(t, dialPlan(port, ""))
			u := startUAS(t, port, uasRejects(tc.status))
			st := newStatuses()
			call, err := h.dial(context.Background(), st, dialCallee, 0)
			if err != nil {
				t.Fatal(err)
			}
			st.until(t, DialRinging)
			final := st.until(t, tc.want)
			reason := strings.SplitN(tc.status, " ", 2)[1]
			if final.Status != tc.code || final.Reason != reason || final.Number != "09012345678" {
				t.Errorf("final %+v, want %d %q for 09012345678", final, tc.code, reason)
			}
			<-call.Done()
			u.wait(t)
			h.waitIdle()
			if n := h.srv.DialingCalls(); n != 0 {
				t.Errorf("%d dial-out calls left", n)
			}
			recs := h.recordsCopy()
			if len(recs) != 1 || recs[0].Outcome != string(tc.want) || recs[0].Rule != "japan" || recs[0].Party != "090-****-5678" ||
				recs[0].Reason != tc.status || recs[0].Number != liveNumber {
				t.Errorf("records %+v, want one %s by rule japan for 090-****-5678", recs, tc.want)
			}
		})
	}
}

// TestDialoutCancel cancels a ringing call (RFC 3261 §9.1) two ways: the
// operator hangs up, and the ring timeout passes.
func TestDialoutCancel(t *testing.T) {
	for _, tc := range []struct {
		name string
		ring time.Duration
		want DialState
	}{
		{"operator", 0, DialCancelled},
		{"no-answer", 500 * time.Millisecond, DialNoAnswer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freeUDPPort(t)
			h := newDialHarness(t, dialPlan(port, ""))
			u := startUAS(t, port, uasRingsUntilCancel())
			st := newStatuses()
			call, err := h.dial(context.Background(), st, dialCallee, tc.ring)
			if err != nil {
				t.Fatal(err)
			}
			st.until(t, DialRinging)
			if tc.want == DialCancelled {
				call.Hangup()
			}
			st.until(t, tc.want)
			<-call.Done()
			u.wait(t) // SIPp saw CANCEL and the ACK of its 487
			h.waitIdle()
			if recs := h.recordsCopy(); len(recs) != 1 || recs[0].Outcome != string(tc.want) {
				t.Errorf("records %+v, want one %s", recs, tc.want)
			}
		})
	}
}

// TestDialoutDigestAnswered: the far end challenges with 401, the INVITE is
// sent again with the trunk's digest credentials, the 200 is ACKed, and the
// callee is in the operator's room at once (no lobby) as a masked phone
// member with the trunk and rule; when it hangs up everything is released
// and the call recorded as answered.
func TestDialoutDigestAnswered(t *testing.T) {
	port := freeUDPPort(t)
	h := newDialHarness(t, dialPlan(port, ""))
	op, _ := h.hostAlice(h.numbers[liveNumber])
	u := startUAS(t, port, uasChallenges(1500*time.Millisecond))
	st := newStatuses()
	call, err := h.dial(context.Background(), st, dialCallee, 0)
	if err != nil {
		t.Fatal(err)
	}
	ans := st.until(t, DialAnswered)
	if ans.Status != 200 {
		t.Errorf("answered %+v", ans)
	}
	room := h.engine.Lookup(liveNumber)
	var phone *bridge.MemberInfo
	for _, m := range room.Members() {
		if m.Identity.Kind == dialroom.MemberKindPhone {
			phone = &m
		}
	}
	if phone == nil {
		t.Fatalf("no phone member in the room: %+v", room.Members())
	}
	if id := phone.Identity; id.Address != "090-****-5678" || id.Trunk != "uas" || id.Rule != "japan" || id.Role != dialroom.RoleGuest {
		t.Errorf("phone member %+v", id)
	}
	if len(room.Lobby()) != 0 {
		t.Errorf("lobby %+v, want none: an operator-placed call needs no approval", room.Lobby())
	}
	op.mu.Lock()
	joined := false
	for _, ev := range op.events {
		if j, ok := ev.(bridge.MemberJoined); ok && j.Member.ID == phone.ID {
			joined = true
		}
	}
	op.mu.Unlock()
	if !joined {
		t.Error("the operator was not told the phone joined")
	}
	end := st.until(t, DialEnded)
	if !strings.Contains(end.Reason, "callee hung up") {
		t.Errorf("ended %+v, want the callee hung up", end)
	}
	<-call.Done()
	u.wait(t)
	h.waitIdle()
	var answered bool
	for _, r := range h.recordsCopy() {
		if r.Outcome == "answered" && r.Rule == "japan" && r.Party == "090-****-5678" && !r.Admitted.IsZero() {
			answered = true
		}
	}
	if !answered {
		t.Errorf("records %+v, want an answered one", h.recordsCopy())
	}
	if n := h.srv.OutboundInvites(); n != 1 {
		t.Errorf("%d calls placed, want 1", n)
	}
}

// TestDialoutRefused: the policy's denials and the limits refuse before
// anything is sent.
func TestDialoutRefused(t *testing.T) {
	port := freeUDPPort(t)
	h := newDialHarness(t, dialPlan(port, "  limits:\n    per_operator: 1\n"))
	st := newStatuses()
	for _, to := range []string{"0570-123-456", "+1 415 555 0100", "not a number"} {
		_, err := h.dial(context.Background(), st, to, 0)
		if dialroom.ErrorCode(err) != dialroom.EDENIED {
			t.Errorf("%s: %v, want denied", to, err)
		}
		t.Logf("%s: %s", to, dialroom.ErrorMessage(err))
	}
	if _, err := h.dial(context.Background(), st, "0570-123-456", 0); !strings.Contains(dialroom.ErrorMessage(err), `rule "no-navidial"`) {
		t.Errorf("NaviDial refused with %q, want the rule named", dialroom.ErrorMessage(err))
	}
	other := &dialroom.Number{Digits: "06099990000", Operator: "bob"}
	if _, err := h.srv.Dial(context.Background(), DialRequest{Operator: "alice", Room: other, To: dialCallee}); dialroom.ErrorCode(err) != dialroom.EDENIED {
		t.Errorf("into bob's room: %v, want denied", err)
	}

	// The per-operator limit of 1: a second call while one rings is refused.
	u := startUAS(t, port, uasRingsUntilCancel())
	call, err := h.dial(context.Background(), st, dialCallee, 0)
	if err != nil {
		t.Fatal(err)
	}
	st.until(t, DialRinging)
	if _, err := h.dial(context.Background(), st, "03-1234-5678", 0); dialroom.ErrorCode(err) != dialroom.ETHROTTLED {
		t.Errorf("second call: %v, want throttled", err)
	}
	if n := h.srv.OutboundInvites(); n != 1 {
		t.Errorf("%d INVITEs sent, want only the allowed call's", n)
	}
	call.Hangup()
	st.until(t, DialCancelled)
	<-call.Done()
	u.wait(t)
	h.waitIdle()
}

// TestDialoutSetupContext: the console going away before the answer cancels
// the call.
func TestDialoutSetupContext(t *testing.T) {
	port := freeUDPPort(t)
	h := newDialHarness(t, dialPlan(port, ""))
	u := startUAS(t, port, uasRingsUntilCancel())
	st := newStatuses()
	ctx, cancel := context.WithCancel(context.Background())
	call, err := h.dial(ctx, st, dialCallee, 0)
	if err != nil {
		t.Fatal(err)
	}
	st.until(t, DialRinging)
	cancel()
	if got := st.until(t, DialCancelled); !strings.Contains(got.Reason, "console") {
		t.Errorf("cancelled %+v, want the console's going away as reason", got)
	}
	<-call.Done()
	u.wait(t)
	h.waitIdle()
}
