package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/e2e"
	"github.com/dialroom/dialroom/webclient"
)

// TestTLSTrunkFromConfig: a dialplan's TLS trunk (sips: registrar, tls_ca)
// registers with a Kamailio carrier over TLS through the server's wiring,
// naming the sip.tls listener in its Contact; a tls_ca that does not trust
// the carrier leaves the trunk failing, and the console's trunk list says
// why.
func TestTLSTrunkFromConfig(t *testing.T) {
	ca := e2e.NewTestCA(t, "carrier test CA")
	cert := ca.Issue(e2e.CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	c := e2e.StartCarrier(t, e2e.CarrierOptions{Users: map[string]string{carrierTrunkUser: carrierTrunkPass}, QOP: true, TLS: &cert})

	start := func(caFile string) *testServer {
		dir := t.TempDir()
		plan := fmt.Sprintf(`
trunks:
  - name: carrier
    registrar: sips:%s
    tls_ca: %s
    username: %s
    password_file: trunk.pass
    register_interval: 1m
    sources: ["127.0.0.1"]
`, c.TLSAddr(), caFile, carrierTrunkUser)
		for name, data := range map[string]string{"dialplan.yaml": plan, "trunk.pass": carrierTrunkPass + "\n"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return startServer(t, "", func(cfg *configs.Config) {
			cfg.Dialplan = filepath.Join(dir, "dialplan.yaml")
			cfg.HTTP.TLS.SelfSigned = true // sip.tls presents the HTTPS certificate
			cfg.SIP.TLS = []string{"127.0.0.1:0"}
		})
	}
	waitTrunk := func(srv *testServer, state string) webclient.TrunkStatus {
		t.Helper()
		deadline := time.Now().Add(carrierEventTimeout)
		for {
			if st := srv.trunkStatus(); len(st) == 1 && st[0].State == state {
				return st[0]
			} else if time.Now().After(deadline) {
				t.Fatalf("trunk not %s: %+v", state, st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	srv := start(ca.CAFile)
	waitTrunk(srv, "registered")
	reg, err := c.WaitRegistered(carrierTrunkUser, carrierEventTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if want := "sips:" + carrierTrunkUser + "@127.0.0.1:" + strconv.Itoa(int(srv.SIP.TLSAddrs()[0].Port())); reg.Contact != want {
		t.Errorf("binding %q, want %q", reg.Contact, want)
	}

	untrusting := start(e2e.NewTestCA(t, "another CA").CAFile)
	st := waitTrunk(untrusting, "failing")
	if !strings.HasPrefix(st.LastReason, "TLS: certificate for 127.0.0.1 is not trusted") {
		t.Errorf("console shows %+v, want the certificate's reason", st)
	}
}
