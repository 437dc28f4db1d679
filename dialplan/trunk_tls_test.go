package dialplan

import (
	"os"
	"strings"
	"testing"

	"github.com/dialroom/dialroom/e2e"
)

// testCAPEM returns a test CA's certificate in PEM.
func testCAPEM(t *testing.T) string {
	t.Helper()
	return readFile(t, e2e.NewTestCA(t, "test CA").CAFile)
}

// testCertPEM returns a certificate for client authentication, issued by a
// test CA of its own, and its key in PEM.
func testCertPEM(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	c := e2e.NewTestCA(t, "client CA").Issue(e2e.CertRequest{DNSNames: []string{"dialroom.test"}})
	return readFile(t, c.CertFile), readFile(t, c.KeyFile)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const tlsPlan = `
trunks:
  - name: secure
    registrar: sips:192.0.2.7
    tls_ca: ca/carrier.pem
    tls_server_name: SIP.Example.NET.
    tls_cert: client.pem
    tls_key: /etc/dialroom/private/client.key
  - name: plain-tls
    registrar: sip:sip.example.net
    transport: tls
`

func TestTrunkTLS(t *testing.T) {
	certPEM, keyPEM := testCertPEM(t)
	p, err := LoadWith("/etc/dialroom/dialplan.yaml", []byte(tlsPlan), fakeEnv(nil, map[string]string{"/etc/dialroom/ca/carrier.pem": testCAPEM(t),
		"/etc/dialroom/client.pem": certPEM, "/etc/dialroom/private/client.key": keyPEM}))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Trunk("secure")
	if s.Transport != TLS || s.TLSCAFile != "/etc/dialroom/ca/carrier.pem" || s.TLSRoots == nil || s.TLSServerName != "sip.example.net" {
		t.Errorf("secure: transport %s, tls_ca %q (roots %v), server name %q", s.Transport, s.TLSCAFile, s.TLSRoots != nil, s.TLSServerName)
	}
	if s.TLSCertFile != "/etc/dialroom/client.pem" || s.TLSKeyFile != "/etc/dialroom/private/client.key" || s.TLSCert == nil || len(s.TLSCert.Certificate) == 0 {
		t.Errorf("secure: tls_cert %q, tls_key %q, certificate %v", s.TLSCertFile, s.TLSKeyFile, s.TLSCert != nil)
	}
	if pt := p.Trunk("plain-tls"); pt.Transport != TLS || pt.TLSRoots != nil || pt.TLSServerName != "" || pt.TLSCert != nil {
		t.Errorf("plain-tls: %+v", pt)
	}
	// A check that skips the server's files does not read the CA.
	p, err = LoadWith("/etc/dialroom/dialplan.yaml", []byte(tlsPlan), LoadOptions{SkipSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Trunk("secure"); s.TLSRoots != nil || s.TLSCAFile == "" || s.TLSCert != nil || s.TLSCertFile == "" {
		t.Errorf("SkipSecrets: roots read or file lost: %+v", s)
	}
}

func TestTrunkTLSErrors(t *testing.T) {
	ca := testCAPEM(t)
	certPEM, _ := testCertPEM(t)
	_, otherKey := testCertPEM(t)
	key := "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"
	tests := []struct {
		name, plan string
		files      map[string]string
		want       []string
	}{
		{"not tls", "trunks:\n  - name: c\n    registrar: sip:c.example\n    transport: tcp\n    tls_ca: ca.pem\n    tls_server_name: c.example\n",
			map[string]string{"ca.pem": ca},
			[]string{"t.yaml:5:5: trunks[0]: tls_ca applies to TLS trunks only, and this one uses tcp",
				"t.yaml:6:5: trunks[0]: tls_server_name applies to TLS trunks only, and this one uses tcp"}},
		{"missing file", "trunks:\n  - name: c\n    registrar: sips:c.example\n    tls_ca: nope.pem\n", nil,
			[]string{"t.yaml:4:13: trunks[0].tls_ca: cannot read the CA certificates: open nope.pem: file does not exist"}},
		{"not a certificate", "trunks:\n  - name: c\n    registrar: sips:c.example\n    tls_ca: key.pem\n", map[string]string{"key.pem": key},
			[]string{"t.yaml:4:13: trunks[0].tls_ca: key.pem: holds a PRIVATE KEY block, want CERTIFICATE blocks only"}},
		{"no PEM", "trunks:\n  - name: c\n    registrar: sips:c.example\n    tls_ca: empty.pem\n", map[string]string{"empty.pem": "hello\n"},
			[]string{"t.yaml:4:13: trunks[0].tls_ca: empty.pem: holds no PEM certificate"}},
		{"client certificate without a key", "trunks:\n  - name: c\n    registrar: sips:c.example\n    tls_cert: c.pem\n", map[string]string{"c.pem": certPEM},
			[]string{"t.yaml:4:5: trunks[0]: tls_cert without tls_key"}},
		{"key without a certificate", "trunks:\n  - name: c\n    registrar: sips:c.example\n    tls_key: k.pem\n", nil,
			[]string{"t.yaml:4:5: trunks[0]: tls_key without tls_cert"}},
		{"key of another certificate", "trunks:\n  - name: c\n    registrar: sips:c.example\n    tls_cert: c.pem\n    tls_key: k.pem\n",
			map[string]string{"c.pem": certPEM, "k.pem": otherKey},
			[]string{"t.yaml:4:15: trunks[0].tls_cert: c.pem and k.pem: tls: private key does not match public key"}},
		{"client certificate on a tcp trunk", "trunks:\n  - name: c\n    registrar: sip:c.example\n    transport: tcp\n    tls_cert: c.pem\n    tls_key: k.pem\n",
			map[string]string{"c.pem": certPEM, "k.pem": otherKey},
			[]string{"t.yaml:5:5: trunks[0]: tls_cert applies to TLS trunks only, and this one uses tcp",
				"t.yaml:6:5: trunks[0]: tls_key applies to TLS trunks only, and this one uses tcp"}},
		{"server name an address", "trunks:\n  - name: c\n    registrar: sips:c.example\n    tls_server_name: 192.0.2.1\n", nil,
			[]string{`t.yaml:4:22: trunks[0].tls_server_name: bad server name "192.0.2.1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadWith("t.yaml", []byte(tt.plan), fakeEnv(nil, tt.files))
			got := problems(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], w)
				}
			}
		})
	}
}
