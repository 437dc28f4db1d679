package sip

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/media"
)

// The far end of the dial-out tests (dialout_test.go): SIPp run as a real
// UAS (a carrier and a phone in one) on a port the test's trunk names, its
// scenarios, and a harness whose dialplan points a trunk at it.

const (
	dialTrunkUser = "trunkuser"
	dialTrunkPass = "s3cret"
	dialCallee    = "090-1234-5678" // as an operator might type it
)

// dialPlan is a trunk at the SIPp UAS's port and a dial-out policy that
// allows domestic numbers and denies NaviDial.
func dialPlan(port int, limits string) string {
	return fmt.Sprintf(`
trunks:
  - name: uas
    registrar: sip:127.0.0.1:%d
    register_interval: 0
    username: %s
    password: %s
    sources: ["127.0.0.2"]
dialout:
%s
  rules:
    - name: no-navidial
      deny: _0570XXXXXX
    - name: japan
      allow: _0X.
      trunk: uas
`, port, dialTrunkUser, dialTrunkPass, limits)
}

// newDialHarness is newHarness with a plan of our own.
func newDialHarness(t *testing.T, planText string) *harness {
	return newDialHarnessRTP(t, planText, 0)
}

// newDialHarnessRTP is newDialHarness with an RTP timeout.
func newDialHarnessRTP(t *testing.T, planText string, rtpTimeout time.Duration) *harness {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	plan, err := dialplan.Load("dialout.yaml", []byte(planText))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: t.TempDir(), numbers: map[string]*dialroom.Number{
		liveNumber: {Digits: liveNumber, Operator: "alice", IssuedAt: time.Now().UTC()},
	}}
	h.clock = media.NewClock(media.ClockConfig{})
	h.engine = bridge.NewEngine(bridge.Config{Clock: h.clock, Logger: logger})
	if h.ports, err = media.NewPortAllocator(31400, 31419); err != nil {
		t.Fatal(err)
	}
	h.nports = h.ports.Free()
	h.srv, err = New(Config{
		UDP: []string{"127.0.0.1:0"}, MediaIP: netip.MustParseAddr("127.0.0.1"), RTPBind: netip.MustParseAddr("127.0.0.1"),
		Ports: h.ports, Plan: func() *dialplan.Plan { return plan }, Engine: h.engine, Clock: h.clock,
		LiveNumber: h.lookup, Record: h.record, Logger: logger, RTPTimeout: rtpTimeout, Operator: h.operator,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.srv.Close()
		h.engine.Close()
		h.clock.Close()
	})
	return h
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// uas is one SIPp run as a UAS on a fixed port, answering one call.
type uas struct {
	port int
	done chan struct{}
	out  bytes.Buffer
	err  error
}

// startUAS runs a UAS scenario on port and waits until SIPp listens.
func startUAS(t *testing.T, port int, scenario string) *uas {
	t.Helper()
	bin := e2e.RequireSIPp(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "uas.xml")
	if err := os.WriteFile(path, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	u := &uas{port: port, done: make(chan struct{})}
	cmd := exec.Command(bin, "-sf", path, "-i", "127.0.0.1", "-p", strconv.Itoa(port),
		"-mp", strconv.Itoa(freeUDPPort(t)), "-m", "1", "-timeout", "20", "-timeout_error", "-nostdin",
		"-trace_err", "-error_file", filepath.Join(dir, "errors.log"))
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &u.out, &u.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { u.err = cmd.Wait(); close(u.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-u.done
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case <-u.done:
			t.Fatalf("SIPp UAS exited: %v\n%s", u.err, tail(u.out.String(), 3000))
		default:
		}
		c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return u // taken: SIPp is listening
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("SIPp UAS did not listen on %d", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits for the UAS to finish its scenario and fails the test unless it
// succeeded.
func (u *uas) wait(t *testing.T) {
	t.Helper()
	select {
	case <-u.done:
	case <-time.After(waitTimeout):
		t.Fatal("SIPp UAS did not finish")
	}
	if u.err != nil {
		t.Errorf("SIPp UAS: %v\n%s", u.err, tail(u.out.String(), 3000))
	}
}

// statuses collects a call's DialStatus reports.
type statuses struct {
	mu   sync.Mutex
	list []DialStatus
	ch   chan DialStatus
}

func newStatuses() *statuses { return &statuses{ch: make(chan DialStatus, 32)} }

func (s *statuses) add(st DialStatus) {
	s.mu.Lock()
	s.list = append(s.list, st)
	s.mu.Unlock()
	s.ch <- st
}

// until waits for a report in state want and returns it.
func (s *statuses) until(t *testing.T, want DialState) DialStatus {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case st := <-s.ch:
			if st.State == want {
				return st
			}
			if st.State.Final() {
				t.Fatalf("call ended %+v, waiting for %s", st, want)
			}
		case <-deadline:
			t.Fatalf("no %s", want)
		}
	}
}

func (h *harness) dial(ctx context.Context, st *statuses, to string, ring time.Duration) (*OutboundCall, error) {
	return h.srv.Dial(ctx, DialRequest{Operator: "alice", OperatorName: "Alice", Room: h.numbers[liveNumber],
		To: to, RingTimeout: ring, OnStatus: st.add})
}

// SIPp UAS scenario pieces. Responses copy the request's dialog headers;
// the To tag is fixed per scenario run.
const uasHead = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="dialroom dial-out UAS">
`

func uasResponse(status string, extra, body string) string {
	cl := "Content-Length: [len]"
	if body != "" {
		extra += "Content-Type: application/sdp\n"
	}
	return fmt.Sprintf(`  <send><![CDATA[
SIP/2.0 %s
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
%s%s

%s]]></send>
`, status, extra, cl, body)
}

const uasAnswerSDP = `v=0
o=callee 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=ptime:20
`

// uasRejects rings, then answers status.
func uasRejects(status string) string {
	return uasHead + `  <recv request="INVITE"/>
` + uasResponse("180 Ringing", "", "") + `  <pause milliseconds="100"/>
` + uasResponse(status, "", "") + `  <recv request="ACK"/>
</scenario>
`
}

// uasRingsUntilCancel rings until our CANCEL (RFC 3261 §9.2: 200 for the
// CANCEL, 487 for the INVITE, then the ACK of the 487).
func uasRingsUntilCancel() string {
	return uasHead + `  <recv request="INVITE"/>
` + uasResponse("180 Ringing", "", "") + `  <recv request="CANCEL"/>
` + uasResponse("200 OK", "", "") + strings.Replace(uasResponse("487 Request Terminated", "", ""), "[last_CSeq:]", "CSeq: 1 INVITE", 1) + `  <recv request="ACK"/>
</scenario>
`
}

// uasChallenges answers the first INVITE with a 401 digest challenge; the
// second must carry valid credentials (SIPp's verifyauth) and is answered
// with PCMA; the callee hangs up after byeAfter.
func uasChallenges(byeAfter time.Duration) string { return uasChallengesTo("", byeAfter) }

// uasChallengesTo is uasChallengesFrom for any caller.
func uasChallengesTo(number string, byeAfter time.Duration) string {
	return uasChallengesFrom(number, "", byeAfter)
}

// uasChallengesFrom is uasChallenges checking that the INVITE's
// Request-URI is for number and its From for the user from (either any
// when ""): SIPp fails the call otherwise.
func uasChallengesFrom(number, from string, byeAfter time.Duration) string {
	first := `  <recv request="INVITE"/>`
	if number != "" || from != "" {
		var checks, vars []string
		if number != "" {
			checks = append(checks, `      <ereg regexp="INVITE sip:`+regexp.QuoteMeta(number)+`@" search_in="msg" check_it="true" assign_to="ruri"/>`)
			vars = append(vars, "ruri")
		}
		if from != "" {
			checks = append(checks, `      <ereg regexp="sip:`+regexp.QuoteMeta(from)+`@" search_in="hdr" header="From:" check_it="true" assign_to="fromuser"/>`)
			vars = append(vars, "fromuser")
		}
		first = `  <recv request="INVITE">
    <action>
` + strings.Join(checks, "\n") + `
    </action>
  </recv>
  <Reference variables="` + strings.Join(vars, ",") + `"/>`
	}
	return uasHead + first + `
` + uasResponse("401 Unauthorized", `WWW-Authenticate: Digest realm="uas.test", nonce="[pid]n[call_number]", algorithm=MD5
`, "") + `  <recv request="ACK"/>
  <recv request="INVITE" next="authok" test="authvalid">
    <action><verifyauth assign_to="authvalid" username="` + dialTrunkUser + `" password="` + dialTrunkPass + `"/></action>
  </recv>
` + uasResponse("403 Bad Credentials", "", "") + `  <recv request="ACK"/>
  <label id="authok"/>
` + uasResponse("200 OK", "", uasAnswerSDP) + `  <recv request="ACK">
    <action>
      <ereg regexp="tag=[A-Za-z0-9.~_-]*" search_in="hdr" header="From:" assign_to="ftag"/>
      <ereg regexp="sip:[A-Za-z0-9.@:_-]*" search_in="hdr" header="Contact:" assign_to="contact"/>
    </action>
  </recv>
  <pause milliseconds="` + strconv.Itoa(int(byeAfter/time.Millisecond)) + `"/>
  <send><![CDATA[
BYE [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:callee@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: <sip:dialroom@127.0.0.1>;[$ftag]
[last_Call-ID:]
CSeq: 1 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
`
}

// uasAnswersUntilBye answers at once (PCMU, no RTP) and waits for our BYE.
func uasAnswersUntilBye() string {
	return uasHead + `  <recv request="INVITE"/>
` + uasResponse("200 OK", "", strings.Replace(uasAnswerSDP, "8 101\na=rtpmap:8 PCMA/8000", "0 101\na=rtpmap:0 PCMU/8000", 1)) + `  <recv request="ACK"/>
  <recv request="BYE"/>
` + uasResponse("200 OK", "", "") + `</scenario>
`
}

// uasHoldsThenHangsUp answers, puts us on hold with a re-INVITE
// (sendonly) and checks our answer is recvonly (RFC 3264 §8.4), then hangs
// up.
func uasHoldsThenHangsUp() string {
	dialog := `From: <sip:callee@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: <sip:dialroom@127.0.0.1>;[$ftag]
[last_Call-ID:]
Max-Forwards: 70
`
	return uasHead + `  <recv request="INVITE"/>
` + uasResponse("200 OK", "", uasAnswerSDP) + `  <recv request="ACK">
    <action>
      <ereg regexp="tag=[A-Za-z0-9.~_-]*" search_in="hdr" header="From:" assign_to="ftag"/>
      <ereg regexp="sip:[A-Za-z0-9.@:_-]*" search_in="hdr" header="Contact:" assign_to="contact"/>
    </action>
  </recv>
  <pause milliseconds="300"/>
  <send><![CDATA[
INVITE [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
` + dialog + `CSeq: 1 INVITE
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

` + strings.Replace(uasAnswerSDP, "a=ptime:20\n", "a=ptime:20\na=sendonly\n", 1) + `]]></send>
  <recv response="200">
    <action><ereg regexp="a=recvonly" search_in="body" check_it="true" assign_to="held"/></action>
  </recv>
  <send><![CDATA[
ACK [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
` + dialog + `CSeq: 1 ACK
X-Held: [$held]
Content-Length: 0

]]></send>
  <pause milliseconds="300"/>
  <send><![CDATA[
BYE [$contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
` + dialog + `CSeq: 2 BYE
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
`
}
