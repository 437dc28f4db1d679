package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/e2e"
)

// Trunks over TLS as a client (trunk_tls.go): certificate checks, our
// Contact, and registration, calls in and calls out through a Kamailio
// carrier that speaks TLS.

// tlsTrunkPlan is trunkPlan for a TLS trunk: registrar is the whole URI
// (sip: or sips:), extra holds further trunk keys (tls_ca, …), and a
// dial-out rule sends 0… numbers through the trunk.
func tlsTrunkPlan(registrar, extra string) string {
	return trunkPlanWith(registrar, "tls", trunkPass, extra, `dialout:
  rules:
    - name: japan
      allow: _0X.
      trunk: carrier
`)
}

// leafOf parses the leaf of an issued certificate.
func leafOf(t *testing.T, sc e2e.ServerCert) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, der := range sc.TLS.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func poolOf(t *testing.T, ca *e2e.TestCA) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate")
	}
	return pool
}

// TestVerifyCertificate: the chain must lead to the system's roots or the
// trunk's tls_ca, and the certificate must prove the SIP domain by RFC
// 5922 §7.1's rules; each refusal says why in words for the console.
func TestVerifyCertificate(t *testing.T) {
	ca, other := e2e.NewTestCA(t, "carrier CA"), e2e.NewTestCA(t, "someone else's CA")
	roots := poolOf(t, ca)
	uriAndDNS := leafOf(t, ca.Issue(e2e.CertRequest{URIs: []string{"sip:carrier.test", "sip:alice@user.test"}, DNSNames: []string{"dns.test"}}))
	dnsOnly := leafOf(t, ca.Issue(e2e.CertRequest{DNSNames: []string{"Carrier.Test", "*.wild.test"}}))
	ipOnly := leafOf(t, ca.Issue(e2e.CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}))
	expired := leafOf(t, ca.Issue(e2e.CertRequest{DNSNames: []string{"carrier.test"}, Expired: true}))
	stranger := leafOf(t, other.Issue(e2e.CertRequest{DNSNames: []string{"carrier.test"}}))
	tests := []struct {
		name   string
		certs  []*x509.Certificate
		peer   tlsPeer
		reason string // "" for accepted
	}{
		{"sip URI", uriAndDNS, tlsPeer{"carrier.test", roots}, ""},
		{"sip URI case-insensitive", uriAndDNS, tlsPeer{"CARRIER.test", roots}, ""},
		{"DNS names ignored beside a sip URI", uriAndDNS, tlsPeer{"dns.test", roots}, "TLS: certificate for dns.test names carrier.test instead"},
		{"a URI with a user is no domain", uriAndDNS, tlsPeer{"user.test", roots}, "TLS: certificate for user.test names carrier.test instead"},
		{"DNS name without sip URIs", dnsOnly, tlsPeer{"carrier.test", roots}, ""},
		{"no wildcards", dnsOnly, tlsPeer{"a.wild.test", roots}, "TLS: certificate for a.wild.test names carrier.test, *.wild.test instead"},
		{"IP address", ipOnly, tlsPeer{"127.0.0.1", roots}, ""},
		{"wrong IP address", ipOnly, tlsPeer{"127.0.0.2", roots}, "TLS: certificate for 127.0.0.2 names 127.0.0.1 instead"},
		{"untrusted", stranger, tlsPeer{"carrier.test", roots}, `TLS: certificate for carrier.test is not trusted (issued by "someone else's CA"`},
		{"no tls_ca", dnsOnly, tlsPeer{"carrier.test", nil}, `TLS: certificate for carrier.test is not trusted (issued by "carrier CA"`},
		{"expired", expired, tlsPeer{"carrier.test", roots}, "TLS: certificate for carrier.test has expired or is not valid yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyCertificate(tt.certs, tt.peer)
			switch {
			case tt.reason == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.reason != "" && err == nil:
				t.Errorf("accepted, want %q", tt.reason)
			case tt.reason != "" && !strings.HasPrefix(err.Error(), tt.reason):
				t.Errorf("reason %q, want %q…", err, tt.reason)
			}
		})
	}
}

// TestTLSPeersFor: a name is checked against the trunks registering there
// (or the system's roots alone); an IP address, which the handshake does
// not name, against every TLS trunk at an address.
func TestTLSPeersFor(t *testing.T) {
	plan, err := dialplan.Load("t.yaml", []byte(`
trunks:
  - name: named
    registrar: sips:SIP.carrier.test
  - name: by-ip
    registrar: sips:192.0.2.1
    tls_server_name: carrier.test
    sources: [192.0.2.1]
  - name: udp
    registrar: sip:192.0.2.2
  - name: off
    enabled: false
    registrar: sips:192.0.2.3
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		serverName string
		want       []string
	}{
		{"sip.carrier.test", []string{"sip.carrier.test"}},
		{"", []string{"carrier.test"}},
		{"elsewhere.test", []string{"elsewhere.test"}},
	} {
		var got []string
		for _, p := range tlsPeersFor(plan, tt.serverName) {
			got = append(got, p.domain)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%q: domains %v, want %v", tt.serverName, got, tt.want)
		}
	}
}

// TestTLSTrunkWithoutListener: a TLS trunk needs our TLS listener, which
// its Contact names; without one it fails with a reason and sends nothing.
func TestTLSTrunkWithoutListener(t *testing.T) {
	th := newTrunkHarness(t, tlsTrunkPlan("sips:127.0.0.1:9", ""), 33700)
	st := th.waitTrunk("carrier", waitTimeout, func(st TrunkState) bool { return st.State == TrunkFailing })
	if want := "no tls listener: configure one (sip.tls in the server config) to register over tls"; st.LastReason != want {
		t.Errorf("reason %q, want %q", st.LastReason, want)
	}
}

// tlsCarrier starts a Kamailio carrier with a TLS listener whose
// certificate, from a test CA, names 127.0.0.1 and sip:carrier.test; our
// own TLS listener's certificate comes from the same CA.
func tlsCarrier(t *testing.T, opts e2e.CarrierOptions) (*e2e.Carrier, *e2e.TestCA, *tls.Config) {
	t.Helper()
	return tlsCarrierWith(t, e2e.NewTestCA(t, "carrier test CA"), opts)
}

// tlsCarrierWith is tlsCarrier with the test CA given.
func tlsCarrierWith(t *testing.T, ca *e2e.TestCA, opts e2e.CarrierOptions) (*e2e.Carrier, *e2e.TestCA, *tls.Config) {
	t.Helper()
	cert := ca.Issue(e2e.CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, URIs: []string{"sip:carrier.test"}})
	opts.Users = map[string]string{trunkUser: trunkPass}
	opts.QOP = true
	opts.TLS = &cert
	c := e2e.StartCarrier(t, opts)
	ours := ca.Issue(e2e.CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	return c, ca, &tls.Config{Certificates: []tls.Certificate{ours.TLS}, MinVersion: tls.VersionTLS12}
}

// TestTLSTrunkRegisters: a TLS trunk registers at Kamailio over TLS with
// digest auth (qop=auth); the binding is our TLS listener, as
// sip:…;transport=tls, or as a sips: URI through a sips: registrar (RFC
// 5630). The certificate proves the registrar's IP address, or the
// tls_server_name (its sip: URI, RFC 5922 §7.1).
func TestTLSTrunkRegisters(t *testing.T) {
	for i, tc := range []struct {
		name, scheme, extra string
	}{
		{"sips", "sips", ""},
		{"sip-transport-tls-server-name", "sip", "    tls_server_name: carrier.test\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ca, ours := tlsCarrier(t, e2e.CarrierOptions{})
			th := newTrunkHarnessTLS(t, tlsTrunkPlan(tc.scheme+":"+c.TLSAddr(), "    tls_ca: "+ca.CAFile+"\n"+tc.extra), 33720+20*i, ours)
			st := th.waitTrunk("carrier", waitTimeout, registered)
			if st.LastStatus != 200 {
				t.Errorf("state %+v", st)
			}
			reg, err := c.WaitRegistered(trunkUser, waitTimeout)
			if err != nil {
				t.Fatal(err)
			}
			port := strconv.Itoa(int(th.srv.TLSAddrs()[0].Port()))
			want := "sip:" + trunkUser + "@127.0.0.1:" + port + ";transport=tls"
			if tc.scheme == "sips" {
				want = "sips:" + trunkUser + "@127.0.0.1:" + port
			}
			if reg.Contact != want {
				t.Errorf("binding %q, want %q", reg.Contact, want)
			}
		})
	}
}

// TestTLSTrunkCertificateRefused: a carrier whose certificate the trunk
// does not trust, or that names another domain, leaves the trunk failing
// with the reason the console shows; nothing is registered.
func TestTLSTrunkCertificateRefused(t *testing.T) {
	for i, tc := range []struct {
		name, extra, reason string
	}{
		{"untrusted", "", `TLS: certificate for 127.0.0.1 is not trusted (issued by "carrier test CA"`},
		{"other domain", "    tls_server_name: other.test\n", "TLS: certificate for other.test names carrier.test instead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ca, ours := tlsCarrier(t, e2e.CarrierOptions{})
			caFile := ca.CAFile
			if tc.name == "untrusted" {
				caFile = e2e.NewTestCA(t, "another CA").CAFile
			}
			th := newTrunkHarnessTLS(t, tlsTrunkPlan("sips:"+c.TLSAddr(), "    tls_ca: "+caFile+"\n"+tc.extra), 33760+20*i, ours)
			st := th.waitTrunk("carrier", waitTimeout, func(st TrunkState) bool { return st.State == TrunkFailing })
			if st.LastStatus != 0 || !strings.HasPrefix(st.LastReason, tc.reason) {
				t.Errorf("state %+v, want reason %q…", st, tc.reason)
			}
			if regs, err := c.Registrations(); err != nil || len(regs) != 0 {
				t.Errorf("bindings %v (%v), want none", regs, err)
			}
		})
	}
}

// TestTLSTrunkCallThroughCarrier: a SIPp phone calls one of our numbers at
// the carrier (UDP); the carrier relays it over TLS, to our registered
// Contact (our TLS listener) or back over the connection the trunk
// registered on (RFC 5923 style), and either way the call reaches the
// lobby as a call from the trunk (its sources rule, whatever the
// transport).
func TestTLSTrunkCallThroughCarrier(t *testing.T) {
	for i, reuse := range []bool{false, true} {
		name := "to-listener"
		if reuse {
			name = "over-registration-connection"
		}
		t.Run(name, func(t *testing.T) { tlsCallThroughCarrier(t, reuse, 33800+20*i) })
	}
}

func tlsCallThroughCarrier(t *testing.T, reuse bool, portBase int) {
	c, ca, ours := tlsCarrier(t, e2e.CarrierOptions{ReuseConnection: reuse})
	c.Route(liveNumber, trunkUser)
	th := newTrunkHarnessTLS(t, tlsTrunkPlan("sips:"+c.TLSAddr(), "    tls_ca: "+ca.CAFile+"\n"), portBase, ours)
	th.waitTrunk("carrier", waitTimeout, registered)
	reg, err := c.WaitRegistered(trunkUser, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	// With the alias, the carrier sends the call to the registration's
	// source port, where only that connection answers: the call getting
	// through proves it came over it.
	if got := strings.Contains(reg.Contact, "alias="); got != reuse {
		t.Fatalf("binding %q: alias %v, want %v", reg.Contact, got, reuse)
	}

	th.callIntoLobby(t, c.Addr())
}

// TestTLSTrunkMutual: a carrier that requires a client certificate (mutual
// TLS) gets the one our TLS listener presents, or the trunk's own
// (tls_cert, tls_key) where it has one: issued by a CA the carrier trusts,
// the trunk registers; otherwise it fails with a reason that says the
// carrier refused our certificate, and nothing is registered.
func TestTLSTrunkMutual(t *testing.T) {
	for i, tc := range []struct {
		name      string
		trusted   bool // our listener's certificate is the carrier CA's
		trunkCert bool // the trunk has its own, from the carrier's CA
	}{
		{"our certificate accepted", true, false},
		{"our certificate refused", false, false},
		{"the trunk's own certificate", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := e2e.NewTestCA(t, "carrier test CA")
			c, _, ours := tlsCarrierWith(t, ca, e2e.CarrierOptions{TLSClientCA: ca.CAFile})
			if !tc.trusted {
				stranger := e2e.NewTestCA(t, "a CA the carrier does not know").Issue(e2e.CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
				ours = &tls.Config{Certificates: []tls.Certificate{stranger.TLS}, MinVersion: tls.VersionTLS12}
			}
			extra := "    tls_ca: " + ca.CAFile + "\n"
			if tc.trunkCert {
				own := ca.Issue(e2e.CertRequest{DNSNames: []string{"dialroom.test"}})
				extra += "    tls_cert: " + own.CertFile + "\n    tls_key: " + own.KeyFile + "\n"
			}
			th := newTrunkHarnessTLS(t, tlsTrunkPlan("sips:"+c.TLSAddr(), extra), 33880+20*i, ours)
			if tc.trusted || tc.trunkCert {
				th.waitTrunk("carrier", waitTimeout, registered)
				if _, err := c.WaitRegistered(trunkUser, waitTimeout); err != nil {
					t.Fatal(err)
				}
				return
			}
			// With TLS 1.3 the refusal is an alert after the handshake that
			// closes the connection; the REGISTER's transaction ends with
			// it, long before its Timer F (32 s, RFC 3261 §17.1.2.2).
			began := time.Now()
			st := th.waitTrunk("carrier", 45*time.Second, func(st TrunkState) bool { return st.State == TrunkFailing })
			if took := time.Since(began); took > 10*time.Second {
				t.Errorf("the refusal took %v to show, want well under Timer F (32 s)", took.Round(time.Second))
			}
			const want = "TLS: the carrier refused our certificate"
			if st.LastStatus != 0 || !strings.HasPrefix(st.LastReason, want) {
				t.Errorf("state %+v, want reason %q…", st, want)
			}
			if regs, err := c.Registrations(); err != nil || len(regs) != 0 {
				t.Errorf("bindings %v (%v), want none", regs, err)
			}
		})
	}
}

// TestTLSTrunkDialout: a call placed through a TLS trunk goes to the
// carrier over TLS (proxy digest auth), which forwards it to a SIPp phone;
// the phone answers, and our BYE reaches it back through the carrier.
func TestTLSTrunkDialout(t *testing.T) {
	c, ca, ours := tlsCarrier(t, e2e.CarrierOptions{})
	d := tlsDialout(t, c, "    tls_ca: "+ca.CAFile+"\n", 33860, ours)
	d.hangUp(t)
}

// tlsCall is a dial-out call through a TLS carrier to a SIPp phone, answered.
type tlsCall struct {
	th       *trunkHarness
	u        *uas
	st       *statuses
	call     *OutboundCall
	opMember *bridge.Member
}

// tlsDialout places a call from the operator's console through carrier c
// (the trunk's plan lines extra, no registration) to a SIPp phone, which
// answers with the carrier's Record-Route, so the ACK and BYE go back
// through the carrier (over TLS), not to the phone; the phone expects the
// BYE.
func tlsDialout(t *testing.T, c *e2e.Carrier, extra string, portBase int, ours *tls.Config) *tlsCall {
	port := freeUDPPort(t)
	c.RoutePSTN("+8190", fmt.Sprintf("sip:callee@127.0.0.1:%d", port))
	plan := strings.Replace(tlsTrunkPlan("sips:"+c.TLSAddr(), extra), "register_interval: 1m", "register_interval: 0", 1)
	d := &tlsCall{th: newTrunkHarnessTLS(t, plan, portBase, ours), st: newStatuses()}
	_, d.opMember = d.th.hostAlice(d.th.numbers[liveNumber])
	d.u = startUAS(t, port, uasHead+`  <recv request="INVITE"/>
`+uasResponse("200 OK", "[last_Record-Route:]\n", strings.Replace(uasAnswerSDP, "8 101\na=rtpmap:8 PCMA/8000", "0 101\na=rtpmap:0 PCMU/8000", 1))+`  <recv request="ACK"/>
  <recv request="BYE"/>
`+uasResponse("200 OK", "", "")+`</scenario>
`)
	var err error
	if d.call, err = d.th.dial(context.Background(), d.st, dialCallee, 0); err != nil {
		t.Fatal(err)
	}
	d.st.until(t, DialAnswered)
	return d
}

// hangUp ends the call from the console; the phone must get the BYE.
func (d *tlsCall) hangUp(t *testing.T) {
	d.call.Hangup()
	d.st.until(t, DialEnded)
	<-d.call.Done()
	d.u.wait(t)
	d.opMember.Leave("left")
	d.th.waitIdle()
}

// TestTLSSettingsRestartRegistration: a reload that changes a TLS trunk's
// tls_ca file, its certificates or tls_server_name restarts the
// registration, so the next connection is checked with them.
func TestTLSSettingsRestartRegistration(t *testing.T) {
	ca, other := e2e.NewTestCA(t, "a"), e2e.NewTestCA(t, "b")
	base := &dialplan.Trunk{Name: "c", Registrar: "sips:c.test", Transport: dialplan.TLS, TLSCAFile: "/ca.pem", TLSRoots: poolOf(t, ca)}
	r := &registration{key: keyOf(base), roots: base.TLSRoots}
	same := *base
	same.TLSRoots = poolOf(t, ca) // read again, same certificates
	if !sameRegistration(r, &same) {
		t.Error("the same settings restart the registration")
	}
	for name, change := range map[string]func(*dialplan.Trunk){
		"certificates": func(t2 *dialplan.Trunk) { t2.TLSRoots = poolOf(t, other) },
		"file":         func(t2 *dialplan.Trunk) { t2.TLSCAFile = "/other.pem" },
		"server name":  func(t2 *dialplan.Trunk) { t2.TLSServerName = "other.test" },
	} {
		changed := *base
		change(&changed)
		if sameRegistration(r, &changed) {
			t.Errorf("%s changed: the registration is kept", name)
		}
	}
}

// TestTLSClientConfigRefusesStrangers: the configuration sipgo dials TLS
// with refuses a certificate no trunk vouches for, both for an address
// (no TLS trunk there) and for a name (the system's roots only): switching
// Go's own verification off never means accepting anything.
func TestTLSClientConfigRefusesStrangers(t *testing.T) {
	ca := e2e.NewTestCA(t, "stranger CA")
	cert := ca.Issue(e2e.CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}})
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	h := newHarness(t, harnessOptions{portBase: 33880})
	for _, name := range []string{"127.0.0.1", "localhost"} {
		cfg := h.srv.tlsClientConfig()
		cfg.ServerName = name // as sipgo sets it: the destination's host
		conn, err := tls.Dial("tcp", l.Addr().String(), cfg)
		if err == nil {
			conn.Close()
			t.Errorf("%s: handshake accepted a certificate nobody trusts", name)
			continue
		}
		var perr *TLSPeerError
		if !errors.As(err, &perr) {
			t.Errorf("%s: %v, want a TLSPeerError", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestTLSTrunkByeOnNewConnection: when the TLS connection a dial-out call
// went out on is gone by the time we hang up, sipgo opens a new one for the
// BYE, and a carrier that requires client certificates must see the trunk's
// own there too (our listener's is one it does not trust): the BYE reaches
// the callee through the carrier.
func TestTLSTrunkByeOnNewConnection(t *testing.T) {
	ca := e2e.NewTestCA(t, "carrier test CA")
	c, _, _ := tlsCarrierWith(t, ca, e2e.CarrierOptions{TLSClientCA: ca.CAFile})
	stranger := e2e.NewTestCA(t, "a CA the carrier does not know").Issue(e2e.CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	ours := &tls.Config{Certificates: []tls.Certificate{stranger.TLS}, MinVersion: tls.VersionTLS12}
	own := ca.Issue(e2e.CertRequest{DNSNames: []string{"dialroom.test"}})
	d := tlsDialout(t, c, "    tls_ca: "+ca.CAFile+"\n    tls_cert: "+own.CertFile+"\n    tls_key: "+own.KeyFile+"\n", 33960, ours)
	th := d.th

	// The connection to the carrier goes away (a carrier's restart, a NAT
	// timeout); the next request has to open a new one.
	conn, err := th.srv.ua.TransportLayer().GetConnection("tls", c.TLSAddr())
	if err != nil || conn == nil {
		t.Fatalf("no TLS connection to the carrier after the call: %v", err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		if again, _ := th.srv.ua.TransportLayer().GetConnection("tls", c.TLSAddr()); again == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the closed connection stays in sipgo's pool")
		}
		time.Sleep(20 * time.Millisecond)
	}

	d.hangUp(t) // the callee gets the BYE, through the carrier
}
