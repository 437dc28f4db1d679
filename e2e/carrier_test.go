package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The numbers and credentials the carrier tests use.
const (
	testDID       = "15551230001"
	testTrunk     = "trunk"
	testTrunkPass = "s3cret"
	testPSTNPre   = "1555999"
)

// eventTimeout bounds a wait for a phone event that should come at once on
// loopback (a registration, an answer, a hangup).
const eventTimeout = 5 * time.Second

// TestCarrierRegistration proves the carrier's registrar: a trunk registers
// with digest auth (qop=auth) and shows up in ul.dump with its contact; a
// wrong password and an unknown user get 403 (REGISTER_FAIL) and no binding.
func TestCarrierRegistration(t *testing.T) {
	t.Parallel()
	c := StartCarrier(t, CarrierOptions{Users: map[string]string{testTrunk: testTrunkPass}, QOP: true})

	trunk := StartPhone(t, PhoneOptions{Name: testTrunk, Password: testTrunkPass, Registrar: c.Addr()})
	wrong := StartPhone(t, PhoneOptions{Name: "wrong", User: testTrunk, Password: "guess", Registrar: c.Addr()})
	stranger := StartPhone(t, PhoneOptions{Name: "stranger", Password: "x", Registrar: c.Addr()})

	if _, err := trunk.WaitEvent("REGISTER_OK", eventTimeout); err != nil {
		t.Fatal(err)
	}
	reg, err := c.WaitRegistered(testTrunk, eventTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("binding: %+v", reg)
	if want := fmt.Sprintf("@127.0.0.1:%d", trunk.Port()); !strings.HasPrefix(reg.Contact, "sip:") || !strings.HasSuffix(reg.Contact, want) {
		t.Errorf("contact %q, want sip:…%s", reg.Contact, want)
	}
	if reg.Expires <= 0 || reg.Expires > 60 {
		t.Errorf("expires %d s, want 1..60 (the phone asks for 60)", reg.Expires)
	}

	for _, p := range []*Phone{wrong, stranger} {
		e, err := p.WaitEvent("REGISTER_FAIL", eventTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.Param, "403") {
			t.Errorf("%s: REGISTER_FAIL %q, want a 403", p.Name(), e.Param)
		}
	}
	regs, err := c.Registrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 1 || regs[0].Contact != reg.Contact {
		t.Errorf("bindings %+v, want only the trunk's %s", regs, reg.Contact)
	}
}

// TestCarrierCallToDID proves the inbound path, in both carrier styles: a
// phone calls a DID at the carrier, the carrier routes the call to the trunk
// registered for it, the trunk answers, each side hears the other's tone
// (G.711 µ-law), DTMF goes through as RFC 4733 events, and a hangup reaches
// the other side through the record-routed dialog.
func TestCarrierCallToDID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	callerWAV, trunkWAV := filepath.Join(dir, "caller1000.wav"), filepath.Join(dir, "trunk440.wav")
	for path, hz := range map[string]float64{callerWAV: 1000, trunkWAV: 440} {
		if err := WriteToneWAV(path, hz, 30, 8000, 1); err != nil {
			t.Fatal(err)
		}
	}

	for _, style := range []CarrierStyle{KeepContact, RewriteNumber} {
		t.Run(style.String(), func(t *testing.T) {
			c := StartCarrier(t, CarrierOptions{Users: map[string]string{testTrunk: testTrunkPass}, Style: style})
			c.Route(testDID, testTrunk)
			trunk := StartPhone(t, PhoneOptions{
				Name: testTrunk, Password: testTrunkPass, Registrar: c.Addr(),
				AudioWAV: trunkWAV, AutoAnswer: true,
				Numbers: []string{testDID}, // answers sip:DID@… too (RewriteNumber)
			})
			if _, err := trunk.WaitEvent("REGISTER_OK", eventTimeout); err != nil {
				t.Fatal(err)
			}
			caller := StartPhone(t, PhoneOptions{Name: "caller", AudioWAV: callerWAV})

			caller.Dial("sip:" + testDID + "@" + c.Addr())
			if _, err := caller.WaitEvent("CALL_ESTABLISHED", eventTimeout); err != nil {
				t.Fatal(err)
			}
			in, err := trunk.WaitEvent("CALL_ESTABLISHED", eventTimeout)
			if err != nil {
				t.Fatal(err)
			}
			// Which of the trunk's accounts took the call shows what the
			// Request-URI was: the registered contact, or the number.
			wantAcc := map[CarrierStyle]string{KeepContact: "sip:" + testTrunk + "@", RewriteNumber: "sip:" + testDID + "@"}[style]
			if !strings.HasPrefix(in.AccountAOR, wantAcc) {
				t.Errorf("the trunk took the call on account %q, want %s… for %v", in.AccountAOR, wantAcc, style)
			}

			time.Sleep(1500 * time.Millisecond) // audio to measure
			caller.SendDTMF("5")
			if e, err := trunk.WaitEvent("CALL_DTMF_START", eventTimeout); err != nil || e.Param != "5" {
				t.Errorf("trunk DTMF: %v %v, want digit 5", e, err)
			}
			caller.Hangup()
			if _, err := trunk.WaitEvent("CALL_CLOSED", eventTimeout); err != nil {
				t.Fatal(err)
			}
			if _, err := caller.WaitEvent("CALL_CLOSED", eventTimeout); err != nil {
				t.Fatal(err)
			}

			checkHeard(t, caller, 440, 1000)
			checkHeard(t, trunk, 1000, 440)
		})
	}
}

// TestCarrierDialOut proves the outbound path: the registered trunk calls a
// PSTN number, the carrier demands proxy auth (407), relays the
// authenticated INVITE to the PSTN phone for that prefix, and the two hear
// each other. A call to a number without a route gets 404, one with a wrong
// password 403.
func TestCarrierDialOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	trunkWAV, pstnWAV := filepath.Join(dir, "trunk660.wav"), filepath.Join(dir, "pstn880.wav")
	for path, hz := range map[string]float64{trunkWAV: 660, pstnWAV: 880} {
		if err := WriteToneWAV(path, hz, 30, 8000, 1); err != nil {
			t.Fatal(err)
		}
	}
	c := StartCarrier(t, CarrierOptions{Users: map[string]string{testTrunk: testTrunkPass}, QOP: true})
	pstn := StartPhone(t, PhoneOptions{Name: "pstn", AudioWAV: pstnWAV, AutoAnswer: true})
	c.RoutePSTN(testPSTNPre, pstn.URI())
	trunk := StartPhone(t, PhoneOptions{Name: testTrunk, Password: testTrunkPass, Registrar: c.Addr(), AudioWAV: trunkWAV})
	if _, err := trunk.WaitEvent("REGISTER_OK", eventTimeout); err != nil {
		t.Fatal(err)
	}

	trunk.Dial("sip:4420799900@" + c.Addr())
	if e, err := trunk.WaitEvent("CALL_CLOSED", eventTimeout); err != nil || !strings.HasPrefix(e.Param, "404") {
		t.Errorf("call without a route: %v %v, want closed with 404", e, err)
	}

	// The same user with a wrong password: challenged (407), then refused.
	impostor := StartPhone(t, PhoneOptions{Name: "impostor", User: testTrunk, Password: "guess"})
	impostor.Dial("sip:" + testPSTNPre + "0042@" + c.Addr())
	if e, err := impostor.WaitEvent("CALL_CLOSED", eventTimeout); err != nil || !strings.HasPrefix(e.Param, "403") {
		t.Errorf("call with a wrong password: %v %v, want closed with 403", e, err)
	}

	trunk.Dial("sip:" + testPSTNPre + "0042@" + c.Addr())
	if _, err := trunk.WaitEvent("CALL_ESTABLISHED", eventTimeout); err != nil {
		t.Fatal(err)
	}
	if _, err := pstn.WaitEvent("CALL_ESTABLISHED", eventTimeout); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	pstn.Hangup() // a BYE the other way through the record-routed dialog
	for _, p := range []*Phone{trunk, pstn} {
		if _, err := p.WaitEvent("CALL_CLOSED", eventTimeout); err != nil {
			t.Fatal(err)
		}
	}
	checkHeard(t, trunk, 880, 660)
	checkHeard(t, pstn, 660, 880)
}

// TestCarrierRestart proves Stop/Start: the carrier forgets its
// registrations when it stops, comes back on the same port, and the trunk
// (asking for a short registration) registers again by itself; a call to
// the DID then reaches it again.
func TestCarrierRestart(t *testing.T) {
	t.Parallel()
	const regint = 4 * time.Second
	c := StartCarrier(t, CarrierOptions{Users: map[string]string{testTrunk: testTrunkPass}, Expires: regint, Style: KeepContact})
	c.Route(testDID, testTrunk)
	trunk := StartPhone(t, PhoneOptions{
		Name: testTrunk, Password: testTrunkPass, Registrar: c.Addr(),
		RegInterval: regint, AutoAnswer: true,
	})
	if _, err := trunk.WaitEvent("REGISTER_OK", eventTimeout); err != nil {
		t.Fatal(err)
	}
	// Restart right after a refresh, so that the next one falls after the
	// carrier is back: a refresh sent while it is down fails, and baresip
	// then waits 30 s or more before it tries again.
	trunk.DiscardEvents()
	if _, err := trunk.WaitEvent("REGISTER_OK", 2*regint); err != nil {
		t.Fatal(err)
	}
	port := c.Port()
	c.Stop()
	if regs, err := c.Registrations(); err != nil || len(regs) != 0 {
		t.Errorf("stopped carrier: bindings %v (%v), want none", regs, err)
	}
	c.Start()
	if c.Port() != port {
		t.Errorf("port %d after restart, want %d", c.Port(), port)
	}
	if regs, err := c.Registrations(); err != nil || len(regs) != 0 {
		t.Errorf("restarted carrier: bindings %v (%v), want none (usrloc in memory only)", regs, err)
	}

	start := time.Now()
	if _, err := trunk.WaitEvent("REGISTER_OK", 2*regint); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitRegistered(testTrunk, time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("re-registered %v after the restart", time.Since(start).Round(time.Millisecond))

	caller := StartPhone(t, PhoneOptions{Name: "caller"})
	caller.Dial("sip:" + testDID + "@" + c.Addr())
	if _, err := trunk.WaitEvent("CALL_ESTABLISHED", eventTimeout); err != nil {
		t.Fatal(err)
	}
	caller.Hangup()
	if _, err := trunk.WaitEvent("CALL_CLOSED", eventTimeout); err != nil {
		t.Fatal(err)
	}
}

// checkHeard fails the test unless p's recording of its last call holds
// want (above -30 dBFS, as the dominant frequency) and not notWant (its own
// tone: no echo or loop).
func checkHeard(t *testing.T, p *Phone, want, notWant float64) {
	t.Helper()
	const (
		minLevel = -30.0 // sent at -12 dBFS; G.711 and a gap or two cost little
		skip     = 300 * time.Millisecond
	)
	path := p.Recorded()
	if path == "" {
		t.Errorf("%s: no recording", p.Name())
		return
	}
	level, err := ToneLevel(path, want, skip)
	if err != nil {
		t.Errorf("%s: %v", p.Name(), err)
		return
	}
	other, err := ToneLevel(path, notWant, skip)
	if err != nil {
		t.Errorf("%s: %v", p.Name(), err)
		return
	}
	hz, hzLevel, err := DominantFrequency(path, skip)
	if err != nil {
		t.Errorf("%s: %v", p.Name(), err)
		return
	}
	t.Logf("%s heard %g Hz at %.1f dBFS, %g Hz at %.1f dBFS; dominant %.1f Hz at %.1f dBFS (%s)",
		p.Name(), want, level, notWant, other, hz, hzLevel, filepath.Base(path))
	if level < minLevel {
		t.Errorf("%s: %g Hz at %.1f dBFS, want above %.0f dBFS", p.Name(), want, level, minLevel)
	}
	if math.Abs(hz-want) > 2 {
		t.Errorf("%s: dominant frequency %.1f Hz, want %g Hz", p.Name(), hz, want)
	}
	if other > level-30 {
		t.Errorf("%s: its own %g Hz tone at %.1f dBFS, want 30 dB below the %.1f dBFS it heard", p.Name(), notWant, other, level)
	}
}

// TestCarrierTLS proves the carrier's TLS listener: a client that trusts
// the test CA completes the handshake, sees the certificate issued for
// 127.0.0.1, and gets OPTIONS answered over it.
func TestCarrierTLS(t *testing.T) {
	t.Parallel()
	ca := NewTestCA(t, "carrier test CA")
	cert := ca.Issue(CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, URIs: []string{"sip:127.0.0.1"}})
	c := StartCarrier(t, CarrierOptions{Users: map[string]string{testTrunk: testTrunkPass}, TLS: &cert})
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", c.TLSAddr(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake with the carrier: %v", err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	msg := "OPTIONS sip:" + c.TLSAddr() + ";transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS " + local + ";branch=z9hG4bK-e2e-tls\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:probe@127.0.0.1>\r\nCall-ID: e2e-tls-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(eventTimeout))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TLS: %q, %v", buf[:n], err)
	}
}
