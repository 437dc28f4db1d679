package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom/e2e"
)

// widebandExtensionPlan is extensionPlan with a carrier that may deliver
// G.722 (its codecs list it), which extension calls then may use.
func widebandExtensionPlan(carrierAddr string) string {
	return carrierPlan(carrierAddr, `["`+extensionDID+`"]
    codecs: [G722, PCMU]`, `
routes:
  - name: front-desk
    to: "`+extensionDID+`"
    action: extension
    extension: "`+extensionNumber+`"
`)
}

// TestWidebandExtension proves HD voice through an extension relay with
// real peers: a caller on a G.722 carrier (baresip through Kamailio) rings
// the operator's softphone (baresip, registered with dialroom).
//
//   - Both on G.722: our offer to the softphone puts G.722 first, both legs
//     agree on it and the relay passes the packets through: each side hears
//     the other's 5-6 kHz tone, which no G.711 leg could carry.
//   - The softphone on PCMU only, the caller on G.722 only: the relay
//     transcodes through the half-band resamplers; each side hears the
//     other's narrowband tone, and the caller's 6 kHz does not fold into
//     the softphone's band (it would at 2 kHz).
func TestWidebandExtension(t *testing.T) {
	e2e.RequireBaresip(t)
	e2e.RequireKamailio(t)
	for _, c := range []struct {
		name      string
		softCodec string
		softRate  int
		wantLog   string // the relay's codecs, as the answer's log line gives them
	}{
		{name: "G722 both", softCodec: "G722", softRate: 16000, wantLog: `caller_codec=G722 callee_codec=G722`},
		{name: "G722 to PCMU", softCodec: "PCMU", softRate: 8000, wantLog: `caller_codec=G722 callee_codec=PCMU`},
	} {
		t.Run(c.name, func(t *testing.T) { testWidebandExtension(t, c.softCodec, c.softRate, c.wantLog) })
	}
}

func testWidebandExtension(t *testing.T, softCodec string, softRate int, wantLog string) {
	const (
		callerNarrow, callerWide = 1000.0, 6000.0
		softNarrow, softWide     = 660.0, 5000.0
	)
	srv, carrier := startWithCarrier(t, widebandExtensionPlan, map[string][]byte{})
	carrier.Route(extensionDID, carrierTrunkUser)
	const softPassword = "wideband-extension-pass"
	runCLI(t, softPassword+"\n", "operator", "sip-password", "admin", "--data", srv.DataDir)
	runCLI(t, "", "operator", "extension", "admin", extensionNumber, "--data", srv.DataDir)

	dir := t.TempDir()
	softTones := []float64{softNarrow}
	if softRate > 2*softWide {
		softTones = append(softTones, softWide)
	}
	softWAV, callerWAV := filepath.Join(dir, "soft.wav"), filepath.Join(dir, "caller.wav")
	if err := e2e.WriteTonesWAV(softWAV, softTones, 30, softRate, 1); err != nil {
		t.Fatal(err)
	}
	if err := e2e.WriteTonesWAV(callerWAV, []float64{callerNarrow, callerWide}, 30, 16000, 1); err != nil {
		t.Fatal(err)
	}
	soft := e2e.StartPhone(t, e2e.PhoneOptions{Name: "softphone", User: "admin", Password: softPassword,
		Registrar: srv.SIP.UDPAddrs()[0].String(), AudioWAV: softWAV, AutoAnswer: true, Codecs: []string{softCodec}})
	waitPhoneEvent(t, soft, "REGISTER_OK")
	caller := e2e.StartPhone(t, e2e.PhoneOptions{Name: "caller", User: extensionCallerNum, AudioWAV: callerWAV, Codecs: []string{"G722"}})
	caller.Dial(fmt.Sprintf("sip:%s@%s", extensionDID, carrier.Addr()))
	waitPhoneEvent(t, soft, "CALL_ESTABLISHED")
	waitPhoneEvent(t, caller, "CALL_ESTABLISHED")
	time.Sleep(4 * time.Second)
	caller.Hangup()
	waitPhoneEvent(t, caller, "CALL_CLOSED")
	waitPhoneEvent(t, soft, "CALL_CLOSED")

	if !regexp.MustCompile(`msg="sip: extension answered".*` + regexp.QuoteMeta(wantLog)).MatchString(srv.logs.String()) {
		t.Errorf("no extension answer with %s in the log:\n%s", wantLog, grepLines(srv.logs.String(), "extension answered"))
	}
	level := func(p *e2e.Phone, who string, f float64) float64 {
		t.Helper()
		path := p.Recorded()
		if path == "" {
			t.Fatalf("%s recorded nothing", who)
		}
		w, err := e2e.ReadWAV(path)
		if err != nil {
			t.Fatal(err)
		}
		if f >= float64(w.Rate)/2 {
			t.Fatalf("%s recorded at %d Hz: %.0f Hz cannot be in it", who, w.Rate, f)
		}
		l, err := e2e.ToneLevel(path, f, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	callerHears := map[float64]float64{softNarrow: level(caller, "the caller", softNarrow), callerNarrow: level(caller, "the caller", callerNarrow)}
	softHears := map[float64]float64{callerNarrow: level(soft, "the softphone", callerNarrow), softNarrow: level(soft, "the softphone", softNarrow)}
	if softRate == 16000 {
		callerHears[softWide] = level(caller, "the caller", softWide)
		softHears[callerWide] = level(soft, "the softphone", callerWide)
	} else {
		softHears[8000-callerWide] = level(soft, "the softphone", 8000-callerWide) // where 6 kHz would fold
	}
	t.Logf("%s: the caller hears %v, the softphone hears %v (Hz: dBFS)", softCodec, callerHears, softHears)
	if l := callerHears[softNarrow]; l < -30 {
		t.Errorf("the caller hears the softphone's %.0f Hz at %.1f dBFS, want above -30", softNarrow, l)
	}
	if l := softHears[callerNarrow]; l < -30 {
		t.Errorf("the softphone hears the caller's %.0f Hz at %.1f dBFS, want above -30", callerNarrow, l)
	}
	if own := callerHears[callerNarrow]; own > callerHears[softNarrow]-20 {
		t.Errorf("the caller hears its own %.0f Hz at %.1f dBFS", callerNarrow, own)
	}
	if own := softHears[softNarrow]; own > softHears[callerNarrow]-20 {
		t.Errorf("the softphone hears its own %.0f Hz at %.1f dBFS", softNarrow, own)
	}
	if softRate == 16000 {
		if l := callerHears[softWide]; l < -40 {
			t.Errorf("the caller hears the softphone's %.0f Hz at %.1f dBFS, want above -40 (wideband)", softWide, l)
		}
		if l := softHears[callerWide]; l < -40 {
			t.Errorf("the softphone hears the caller's %.0f Hz at %.1f dBFS, want above -40 (wideband)", callerWide, l)
		}
	} else if alias := softHears[8000-callerWide]; alias > -45 && alias > softHears[callerNarrow]-30 {
		t.Errorf("the caller's %.0f Hz folds to %.0f Hz at %.1f dBFS on the PCMU softphone, want below -45 or 30 dB under its %.0f Hz",
			callerWide, 8000-callerWide, alias, callerNarrow)
	}
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
