package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// outsidePlan is dialPlan (a trunk at the SIPp UAS's port, NaviDial denied,
// domestic numbers allowed) with the rule for alice only, the trunk's
// source moved off the raw softphone's 127.0.0.2, and operators calling
// each other by extension.
func outsidePlan(port int, dialout string) string {
	return strings.NewReplacer(
		`sources: ["127.0.0.2"]`, `sources: ["127.0.0.9"]
routes:
  - name: operators
    to: _2XX
    from_extension: _2XX
    action: extension`,
		"      allow: _0X.\n", "      allow: _0X.\n      operators: [alice]\n",
	).Replace(dialPlan(port, dialout))
}

// TestOutsideCall: alice's softphone dials a mobile number; the dial-out
// policy allows it, dialroom calls it through the trunk (answering the
// carrier's digest challenge), the softphone gets 200 once the far end
// answers, and when the far end hangs up the softphone gets our BYE. The
// call is recorded with the number masked, and counted.
func TestOutsideCall(t *testing.T) {
	port := freeUDPPort(t)
	h := newHarness(t, harnessOptions{portBase: 33940, plan: outsidePlan(port, "")})
	uas := startUAS(t, port, uasChallenges(1500*time.Millisecond))
	u := newRawUA(t, h)
	peer := newRTPPeer(t, 1000)
	u.answeredCall("090-1234-5678", "out-1", "alice", alicePassword, peer.port())
	if active, _ := h.srv.OutsideCalls(); active != 1 {
		t.Errorf("%d outside calls active, want 1", active)
	}
	u.waitRequest("BYE") // the far end hung up; answered 200
	uas.wait(t)
	h.waitIdle()
	rec := h.lastRecord()
	if rec.Outcome != "answered" || rec.Operator != "alice" || rec.Party != "090-****-5678" || rec.Rule != "japan" || rec.Admitted.IsZero() {
		t.Errorf("record %+v, want answered by alice to 090-****-5678 under japan", rec)
	}
	if n := h.srv.OutboundInvites(); n != 1 {
		t.Errorf("%d INVITEs through the trunk, want 1", n)
	}
	active, ended := h.srv.OutsideCalls()
	if active != 0 || ended["answered"] != 1 {
		t.Errorf("outside calls: %d active, ended %v; want 0 and one answered", active, ended)
	}
	if active, ended := h.srv.ExtensionCalls(); active != 0 || len(ended) != 0 {
		t.Errorf("extension calls: %d active, ended %v; want none (an outside call is not one)", active, ended)
	}
}

// TestOutsideCallRefused: what the policy denies gets 403 with its reason
// in a Warning (a softphone shows it), what is no number 404, and nothing
// reaches the trunk.
func TestOutsideCallRefused(t *testing.T) {
	port := freeUDPPort(t)
	h := newHarness(t, harnessOptions{portBase: 33960, plan: outsidePlan(port, "")})
	u := newRawUA(t, h)
	for i, tt := range []struct {
		user, password, number string
		status                 int
		warning                string
	}{
		{"alice", alicePassword, "0570-123-456", 403, "no-navidial"},
		{"bob", bobPassword, "090-1234-5678", 403, "bob"},
		{"alice", alicePassword, "hello", 404, ""},
	} {
		res, _ := u.invite(tt.number, fmt.Sprintf("refused-%d", i), tt.user, tt.password, 40000)
		if res.StatusCode != tt.status {
			t.Errorf("%s calling %s: %d %s, want %d", tt.user, tt.number, res.StatusCode, res.Reason, tt.status)
			continue
		}
		w := res.GetHeader("Warning")
		if tt.warning != "" && (w == nil || !strings.Contains(w.Value(), tt.warning)) {
			t.Errorf("%s calling %s: Warning %v, want one naming %q", tt.user, tt.number, w, tt.warning)
		}
	}
	if n := h.srv.OutboundInvites(); n != 0 {
		t.Errorf("%d INVITEs through the trunk, want none", n)
	}
}

// TestOutsideCallPrefix: with dialout.outside_prefix "0" (a Japanese office
// PBX's outside line), the desk phone dials 0 and then the number; the
// carrier gets the number without the 0. Without the prefix the call is
// refused with a Warning that says to dial it, and nothing is sent.
func TestOutsideCallPrefix(t *testing.T) {
	port := freeUDPPort(t)
	h := newHarness(t, harnessOptions{portBase: 34000, plan: outsidePlan(port, "  outside_prefix: \"0\"")})
	u := newRawUA(t, h)
	for i, number := range []string{"+14155550100", "09012345678"} { // the second's 0 is taken for the prefix
		res, _ := u.invite(number, fmt.Sprintf("no-prefix-%d", i), "alice", alicePassword, 40000)
		if w := res.GetHeader("Warning"); res.StatusCode != 403 || w == nil || !strings.Contains(w.Value(), "dial 0") {
			t.Errorf("%s without the prefix: %d %s, Warning %v; want 403 saying to dial 0", number, res.StatusCode, res.Reason, w)
		}
	}
	if n := h.srv.OutboundInvites(); n != 0 {
		t.Fatalf("%d INVITEs through the trunk, want none", n)
	}
	uas := startUAS(t, port, uasChallengesTo("+819012345678", 500*time.Millisecond))
	peer := newRTPPeer(t, 1000)
	u.answeredCall("009012345678", "prefixed", "alice", alicePassword, peer.port()) // 0, then 090-1234-5678
	u.waitRequest("BYE")
	uas.wait(t) // the UAS checked the Request-URI's number
	h.waitIdle()
}

// TestOutsideCallerID: alice's own number (dialroom.Operator.CallerID) is
// the From of her desk phone's outside call through a trunk without DIDs;
// through a trunk whose DIDs do not include it, the console's dial-out
// presents the trunk's (its user name here) instead. The SIPp UAS fails
// the call on any other From.
func TestOutsideCallerID(t *testing.T) {
	port := freeUDPPort(t)
	h := newHarness(t, harnessOptions{portBase: 34600, plan: outsidePlan(port, "")})
	h.setCallerID("alice", "0355550101")
	uas := startUAS(t, port, uasChallengesFrom("", "0355550101", 500*time.Millisecond))
	u := newRawUA(t, h)
	peer := newRTPPeer(t, 1000)
	u.answeredCall("090-1234-5678", "cid-1", "alice", alicePassword, peer.port())
	u.waitRequest("BYE")
	uas.wait(t) // the UAS checked the From
	h.waitIdle()

	t.Run("not a DID of the trunk", func(t *testing.T) {
		port := freeUDPPort(t)
		plan := strings.Replace(dialPlan(port, ""), `sources: ["127.0.0.2"]`, `sources: ["127.0.0.2"]
    dids: ["0355550199"]`, 1)
		h := newDialHarness(t, plan)
		h.setCallerID("alice", "0355550101")
		h.hostAlice(h.numbers[liveNumber])
		uas := startUAS(t, port, uasChallengesFrom("", dialTrunkUser, 500*time.Millisecond))
		st := newStatuses()
		if _, err := h.dial(t.Context(), st, dialCallee, 0); err != nil {
			t.Fatal(err)
		}
		st.until(t, DialAnswered)
		st.until(t, DialEnded)
		uas.wait(t) // the UAS checked the From
	})
}
