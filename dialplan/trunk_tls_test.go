package dialplan

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// testCAPEM returns a self-signed CA certificate in PEM.
func testCAPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

const tlsPlan = `
trunks:
  - name: secure
    registrar: sips:192.0.2.7
    tls_ca: ca/carrier.pem
    tls_server_name: SIP.Example.NET.
  - name: plain-tls
    registrar: sip:sip.example.net
    transport: tls
`

func TestTrunkTLS(t *testing.T) {
	p, err := LoadWith("/etc/dialroom/dialplan.yaml", []byte(tlsPlan), fakeEnv(nil, map[string]string{"/etc/dialroom/ca/carrier.pem": testCAPEM(t)}))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Trunk("secure")
	if s.Transport != TLS || s.TLSCAFile != "/etc/dialroom/ca/carrier.pem" || s.TLSRoots == nil || s.TLSServerName != "sip.example.net" {
		t.Errorf("secure: transport %s, tls_ca %q (roots %v), server name %q", s.Transport, s.TLSCAFile, s.TLSRoots != nil, s.TLSServerName)
	}
	if pt := p.Trunk("plain-tls"); pt.Transport != TLS || pt.TLSRoots != nil || pt.TLSServerName != "" {
		t.Errorf("plain-tls: %+v", pt)
	}
	// A check that skips the server's files does not read the CA.
	p, err = LoadWith("/etc/dialroom/dialplan.yaml", []byte(tlsPlan), LoadOptions{SkipSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Trunk("secure"); s.TLSRoots != nil || s.TLSCAFile == "" {
		t.Errorf("SkipSecrets: roots read or file lost: %+v", s)
	}
}

func TestTrunkTLSErrors(t *testing.T) {
	ca := testCAPEM(t)
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
