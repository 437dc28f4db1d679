package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/e2e"
)

// TestOutsideCallFromSoftphone is a PBX's most ordinary call with real
// peers: the operator's desk phone (baresip, registered with dialroom)
// dials a mobile number; the dial-out policy allows it, dialroom calls it
// through the trunk registered at the Kamailio carrier (digest on the
// INVITE), the carrier routes it to the PSTN phone (baresip), which answers;
// each hears the other's tone through dialroom's relay. A NaviDial number
// is refused (403) and nothing reaches the carrier. The desk phone hangs up,
// the PSTN phone's call ends, and the record keeps the masked number and
// the dial-out rule. The PSTN phone sees the operator's own number (set
// with `dialroom operator caller-id`) as the caller.
func TestOutsideCallFromSoftphone(t *testing.T) {
	e2e.RequireBaresip(t)
	e2e.RequireKamailio(t)
	const deskHz, pstnHz = 660.0, 1000.0
	dir := t.TempDir()
	carrier := e2e.StartCarrier(t, e2e.CarrierOptions{Users: map[string]string{dialTrunkUser: dialTrunkPass}, QOP: true})
	pstnWAV, deskWAV := filepath.Join(dir, "pstn.wav"), filepath.Join(dir, "desk.wav")
	for path, hz := range map[string]float64{pstnWAV: pstnHz, deskWAV: deskHz} {
		if err := e2e.WriteToneWAV(path, hz, 60, 8000, 1); err != nil {
			t.Fatal(err)
		}
	}
	pstn := e2e.StartPhone(t, e2e.PhoneOptions{Name: "pstn", AudioWAV: pstnWAV, AutoAnswer: true})
	carrier.RoutePSTN("+8190555", pstn.URI()) // 090-555… in E.164

	plan := filepath.Join(dir, "dialplan.yaml")
	// No sources: the desk phone calls from 127.0.0.1 like the carrier,
	// and a call from a trunk's source is the trunk's (this trunk only
	// takes calls out).
	planText := strings.Replace(dialoutDialplan(carrier.Addr()), "    sources: [\"127.0.0.1\"]\n", "", 1)
	if err := os.WriteFile(plan, []byte(planText), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, filepath.Join(dir, "data"), func(c *configs.Config) { c.Dialplan = plan })
	if _, err := carrier.WaitRegistered(dialTrunkUser, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	const deskPassword = "desk-phone-pass"
	runCLI(t, deskPassword+"\n", "operator", "sip-password", "admin", "--data", srv.DataDir)
	sipAddr := srv.SIP.UDPAddrs()[0].String()
	desk := e2e.StartPhone(t, e2e.PhoneOptions{Name: "desk", User: "admin", Password: deskPassword, Registrar: sipAddr, AudioWAV: deskWAV})
	waitPhoneEvent(t, desk, "REGISTER_OK")

	// Refused by the policy: 403, nothing sent.
	desk.Dial(fmt.Sprintf("sip:0570123456@%s", sipAddr))
	closed := waitPhoneEvent(t, desk, "CALL_CLOSED")
	t.Logf("the desk phone's refused call: %q", closed.Param)
	if !strings.Contains(closed.Param, "403") {
		t.Errorf("the NaviDial call closed with %q, want 403 Forbidden", closed.Param)
	}
	if n := srv.SIP.OutboundInvites(); n != 0 {
		t.Fatalf("%d INVITEs left dialroom for a refused number, want 0", n)
	}

	// The operator's own direct line goes out as the caller ID: a number
	// of the trunk's account at the carrier, which presents only those
	// (the dialplan's trunk lists no DIDs, so dialroom may present any).
	carrier.Route("0355550101", dialTrunkUser)
	runCLI(t, "", "operator", "caller-id", "admin", "03-5555-0101", "--data", srv.DataDir)
	desk.Dial(fmt.Sprintf("sip:09055500001@%s", sipAddr))
	// (An auto-answering baresip reports no CALL_INCOMING.)
	if in := waitPhoneEvent(t, pstn, "CALL_ESTABLISHED"); !strings.Contains(in.PeerURI, "sip:0355550101@") {
		t.Errorf("the PSTN phone sees the call from %q, want the operator's caller ID 0355550101", in.PeerURI)
	}
	waitPhoneEvent(t, desk, "CALL_ESTABLISHED")
	time.Sleep(3 * time.Second)
	desk.Hangup()
	waitPhoneEvent(t, desk, "CALL_CLOSED")
	waitPhoneEvent(t, pstn, "CALL_CLOSED") // our BYE reached the far end
	if n := srv.SIP.OutboundInvites(); n != 1 {
		t.Errorf("%d INVITEs through the trunk, want 1", n)
	}

	heardEachOther(t, phoneTone{"the desk phone", desk, deskHz}, phoneTone{"the PSTN phone", pstn, pstnHz})
	var recs []*dialroom.CallRecord
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		var err error
		if recs, err = srv.DB.ListCallRecords(t.Context(), "admin", 10); err != nil {
			t.Fatal(err)
		}
		if len(recs) == 2 {
			break
		}
	}
	var answered bool
	for _, r := range recs {
		if r.Outcome == "answered" && r.Rule == "mobiles" && r.Party == "090-****-0001" {
			answered = true
		}
	}
	if !answered {
		t.Errorf("call records %+v, want an answered one to 090-****-0001 under rule mobiles", recs)
	}
}
