package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/e2e"
)

// The extension journey's numbers and tones.
const (
	extensionDID       = "0312345679"
	extensionNumber    = "201"
	extensionCallerNum = "09044445555"
	extensionCallerHz  = 1000.0
	extensionSoftHz    = 660.0
)

// extensionPlan routes the front desk's DID to extension 201.
func extensionPlan(carrierAddr string) string {
	return carrierPlan(carrierAddr, `["`+extensionDID+`"]`, `
routes:
  - name: front-desk
    to: "`+extensionDID+`"
    action: extension
    extension: "`+extensionNumber+`"
`)
}

// runCLI runs `dialroom ARGS…` in-process with stdin, failing the test
// unless it succeeds; it returns what it printed.
func runCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, strings.NewReader(stdin), &out, &errb); code != 0 {
		t.Fatalf("dialroom %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

// TestExtensionByPhone is issue 4's extension journey with real peers: the
// admin gives operator admin a softphone password and extension 201 with
// the CLI; a baresip softphone (A-law only) registers with dialroom and
// answers automatically; a caller on the PSTN side (baresip, μ-law) calls
// the front desk's DID through the Kamailio carrier, whose route in the
// dialplan is extension 201. The call rings the softphone, which answers;
// dialroom relays and transcodes the audio: the softphone's recording has
// the caller's 1 kHz tone and the caller's has the softphone's 660 Hz.
// The caller hangs up; both legs end and the call is recorded.
func TestExtensionByPhone(t *testing.T) {
	e2e.RequireBaresip(t)
	e2e.RequireKamailio(t)
	srv, carrier := startWithCarrier(t, extensionPlan, map[string][]byte{})
	carrier.Route(extensionDID, carrierTrunkUser)

	const softPassword = "extension-softphone-pass"
	if out := runCLI(t, softPassword+"\n", "operator", "sip-password", "admin", "--data", srv.DataDir); !strings.Contains(out, "set") {
		t.Errorf("sip-password: %q", out)
	}
	if out := runCLI(t, "", "operator", "extension", "admin", extensionNumber, "--data", srv.DataDir); !strings.Contains(out, "extension 201") {
		t.Errorf("operator extension: %q", out)
	}
	if out := runCLI(t, "", "operator", "list", "--data", srv.DataDir); !strings.Contains(out, "EXTENSION") || !strings.Contains(out, " 201 ") {
		t.Errorf("operator list does not show the extension:\n%s", out)
	}

	sipAddr := srv.SIP.UDPAddrs()[0].String()
	softWAV := filepath.Join(t.TempDir(), "soft.wav")
	if err := e2e.WriteToneWAV(softWAV, extensionSoftHz, 60, 8000, 1); err != nil {
		t.Fatal(err)
	}
	soft := e2e.StartPhone(t, e2e.PhoneOptions{Name: "softphone", User: "admin", Password: softPassword, Registrar: sipAddr,
		AudioWAV: softWAV, AutoAnswer: true, Codecs: []string{"PCMA"}})
	waitPhoneEvent(t, soft, "REGISTER_OK")

	caller := startTonePhone(t, "caller", extensionCallerNum, extensionCallerHz)
	caller.Dial(fmt.Sprintf("sip:%s@%s", extensionDID, carrier.Addr()))
	waitPhoneEvent(t, soft, "CALL_ESTABLISHED")
	waitPhoneEvent(t, caller, "CALL_ESTABLISHED")
	time.Sleep(3 * time.Second) // three seconds of audio each way

	caller.Hangup()
	waitPhoneEvent(t, caller, "CALL_CLOSED")
	waitPhoneEvent(t, soft, "CALL_CLOSED") // our BYE reached the softphone
	deadline := time.Now().Add(10 * time.Second)
	for srv.SIP.Calls() != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := srv.SIP.Calls(); n != 0 {
		t.Errorf("%d calls left after both hung up", n)
	}

	heardEachOther(t, phoneTone{"the softphone", soft, extensionSoftHz}, phoneTone{"the caller", caller, extensionCallerHz})
	if !strings.Contains(srv.logs.String(), `msg="sip: extension answered"`) {
		t.Error("the log has no extension answer")
	}
	// The call record: answered, by the route, the caller masked.
	var recs []*dialroom.CallRecord
	for end := time.Now().Add(5 * time.Second); len(recs) == 0 && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		var err error
		if recs, err = srv.DB.ListCallRecords(t.Context(), "admin", 10); err != nil {
			t.Fatal(err)
		}
	}
	if len(recs) != 1 || recs[0].Outcome != "answered" || recs[0].Rule != "front-desk" || recs[0].Party != dialroom.MaskPhone(extensionCallerNum) || recs[0].Admitted.IsZero() {
		t.Errorf("call records %+v, want one answered by front-desk from %s", recs, dialroom.MaskPhone(extensionCallerNum))
	}
}

// TestOperatorExtensionCommand: `dialroom operator extension` validates
// the number, refuses another operator's naming them, lists it, and clears
// it.
func TestOperatorExtensionCommand(t *testing.T) {
	runCmd := cliIn(t.TempDir())
	for _, login := range []string{"alice", "bob"} {
		if code, out, errs := runCmd("operator", "add", login); code != 0 {
			t.Fatalf("add %s: exit %d %s %s", login, code, out, errs)
		}
	}
	if code, out, errs := runCmd("operator", "extension", "alice", "201"); code != 0 || !strings.Contains(out, "extension 201") {
		t.Errorf("extension: exit %d, %q %q", code, out, errs)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"bob", "201"}, `"alice"`},
		{[]string{"bob", "2"}, "2 to 6 digits"},
		{[]string{"bob", "20x"}, "digits only"},
		{[]string{"nobody", "203"}, "no operator"},
	} {
		if code, _, errs := runCmd(append([]string{"operator", "extension"}, tt.args...)...); code == 0 || !strings.Contains(strings.ToLower(errs), strings.ToLower(tt.want)) {
			t.Errorf("extension %v: exit %d, %q; want an error with %q", tt.args, code, errs, tt.want)
		}
	}
	if code, _, _ := runCmd("operator", "extension", "alice"); code != 2 {
		t.Errorf("extension without a number: exit %d, want 2 (usage)", code)
	}
	if code, out, _ := runCmd("operator", "list"); code != 0 || !strings.Contains(out, "EXTENSION") || !strings.Contains(out, "201") {
		t.Errorf("list: exit %d, %q", code, out)
	}
	if code, out, _ := runCmd("operator", "extension", "alice", "--clear"); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("--clear: exit %d, %q", code, out)
	}
	if code, out, _ := runCmd("operator", "list"); code != 0 || strings.Contains(out, "201") {
		t.Errorf("list after --clear: %q", out)
	}
	if code, _, errs := runCmd("operator", "extension", "bob", "201"); code != 0 {
		t.Errorf("a cleared extension is free again: exit %d %q", code, errs)
	}
}

// TestOperatorCallerIDCommand: `dialroom operator caller-id` cleans the
// number, refuses what is no number, lists it, and clears it.
func TestOperatorCallerIDCommand(t *testing.T) {
	runCmd := cliIn(t.TempDir())
	if code, out, errs := runCmd("operator", "add", "alice"); code != 0 {
		t.Fatalf("add alice: exit %d %s %s", code, out, errs)
	}
	if code, out, errs := runCmd("operator", "caller-id", "alice", "03-5555-0101"); code != 0 || !strings.Contains(out, "present 0355550101") {
		t.Errorf("caller-id: exit %d, %q %q", code, out, errs)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"alice", "03-CALL-ME"}, "is a phone number"},
		{[]string{"alice", "12"}, "3 to 15 digits"},
		{[]string{"nobody", "0355550101"}, "no operator"},
	} {
		if code, _, errs := runCmd(append([]string{"operator", "caller-id"}, tt.args...)...); code == 0 || !strings.Contains(strings.ToLower(errs), strings.ToLower(tt.want)) {
			t.Errorf("caller-id %v: exit %d, %q; want an error with %q", tt.args, code, errs, tt.want)
		}
	}
	if code, _, _ := runCmd("operator", "caller-id", "alice"); code != 2 {
		t.Errorf("caller-id without a number: exit %d, want 2 (usage)", code)
	}
	if code, out, _ := runCmd("operator", "list"); code != 0 || !strings.Contains(out, "CALLER ID") || !strings.Contains(out, "0355550101") {
		t.Errorf("list: exit %d, %q", code, out)
	}
	if code, out, _ := runCmd("operator", "caller-id", "alice", "--clear"); code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("--clear: exit %d, %q", code, out)
	}
	if code, out, _ := runCmd("operator", "list"); code != 0 || strings.Contains(out, "0355550101") {
		t.Errorf("list after --clear: %q", out)
	}
}

// cliIn returns a function running the CLI on the database in dir, with a
// password on standard input, that returns the exit code, standard output
// and standard error.
func cliIn(dir string) func(args ...string) (int, string, string) {
	return func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append(args, "--data", dir), strings.NewReader("a good long password\n"), &out, &errb)
		return code, out.String(), errb.String()
	}
}
