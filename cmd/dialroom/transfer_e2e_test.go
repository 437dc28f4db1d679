package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dialroom/dialroom/e2e"
)

// transferPlan is extensionPlan with operators' softphones reaching each
// other's extensions (and so transferring to them).
func transferPlan(carrierAddr string) string {
	return extensionPlan(carrierAddr) + `  - name: operators
    to: _2XX
    from_extension: _2XX
    action: extension
`
}

// TestTransferByPhone is a desk phone's blind transfer with real peers: a
// caller (baresip through the Kamailio carrier) reaches the front desk,
// whose softphone (baresip, operator admin, extension 201) answers and
// transfers the call with baresip's own transfer command (REFER) to bob's
// extension 202; bob's softphone (baresip) rings and answers, and the caller
// and bob hear each other; the desk's call ends.
func TestTransferByPhone(t *testing.T) {
	e2e.RequireBaresip(t)
	e2e.RequireKamailio(t)
	const deskHz, bobHz = 660.0, 1500.0
	srv, carrier := startWithCarrier(t, transferPlan, map[string][]byte{})
	carrier.Route(extensionDID, carrierTrunkUser)
	const deskPassword, bobPassword = "front-desk-softphone", "bobs-softphone-pass"
	runCLI(t, deskPassword+"\n", "operator", "sip-password", "admin", "--data", srv.DataDir)
	runCLI(t, "", "operator", "extension", "admin", extensionNumber, "--data", srv.DataDir)
	runCLI(t, "bob's console password\n", "operator", "add", "bob", "--data", srv.DataDir)
	runCLI(t, bobPassword+"\n", "operator", "sip-password", "bob", "--data", srv.DataDir)
	runCLI(t, "", "operator", "extension", "bob", "202", "--data", srv.DataDir)

	sipAddr := srv.SIP.UDPAddrs()[0].String()
	dir := t.TempDir()
	phone := func(name, user, password string, hz float64) *e2e.Phone {
		wav := filepath.Join(dir, name+".wav")
		if err := e2e.WriteToneWAV(wav, hz, 60, 8000, 1); err != nil {
			t.Fatal(err)
		}
		p := e2e.StartPhone(t, e2e.PhoneOptions{Name: name, User: user, Password: password, Registrar: sipAddr,
			AudioWAV: wav, AutoAnswer: true})
		waitPhoneEvent(t, p, "REGISTER_OK")
		return p
	}
	desk := phone("desk", "admin", deskPassword, deskHz)
	bob := phone("bob", "bob", bobPassword, bobHz)

	caller := startTonePhone(t, "caller", extensionCallerNum, extensionCallerHz)
	caller.Dial(fmt.Sprintf("sip:%s@%s", extensionDID, carrier.Addr()))
	waitPhoneEvent(t, desk, "CALL_ESTABLISHED")
	waitPhoneEvent(t, caller, "CALL_ESTABLISHED")
	time.Sleep(time.Second)

	if _, err := desk.Command("transfer", fmt.Sprintf("sip:202@%s", sipAddr)); err != nil {
		t.Fatal(err)
	}
	waitPhoneEvent(t, desk, "CALL_CLOSED") // its part is over
	waitPhoneEvent(t, bob, "CALL_ESTABLISHED")
	time.Sleep(3 * time.Second)
	caller.Hangup()
	waitPhoneEvent(t, caller, "CALL_CLOSED")
	waitPhoneEvent(t, bob, "CALL_CLOSED")

	heardEachOther(t, phoneTone{"the caller", caller, extensionCallerHz}, phoneTone{"bob", bob, bobHz})
}
