package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCA is a certificate authority made for one test: it issues server
// certificates for peers (a TLS carrier) and writes everything as PEM files
// into a temporary directory, as real peers and dialplans want them.
type TestCA struct {
	t    testing.TB
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// CAFile is the CA certificate in PEM: a tls_ca for a trunk.
	CAFile string
	serial int64
}

// NewTestCA makes a CA named name (its certificate's Common Name), valid
// from an hour ago for a day. It fails the test on errors.
func NewTestCA(t testing.TB, name string) *TestCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &TestCA{t: t, dir: t.TempDir(), cert: cert, key: key, serial: 1}
	ca.CAFile = filepath.Join(ca.dir, "ca.pem")
	ca.write(ca.CAFile, "CERTIFICATE", der)
	return ca
}

// Pool returns a certificate pool that trusts the CA, for a TLS client.
func (ca *TestCA) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return pool
}

// ServerCert is a certificate issued by a TestCA, with its key.
type ServerCert struct {
	CertFile, KeyFile string // PEM files: the certificate, the PKCS #8 key
	TLS               tls.Certificate
}

// CertRequest names what a server certificate proves: subjectAltName DNS
// names, IP addresses and URIs (e.g. "sip:carrier.test", RFC 5922 §7.1).
type CertRequest struct {
	DNSNames []string
	IPs      []net.IP
	URIs     []string
	// Expired issues a certificate whose validity ended an hour ago.
	Expired bool
}

// Issue issues a server certificate for req and writes it and its key as
// PEM files. It fails the test on errors.
func (ca *TestCA) Issue(req CertRequest) ServerCert {
	ca.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatal(err)
	}
	ca.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial), Subject: pkix.Name{CommonName: "dialroom test server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: req.DNSNames, IPAddresses: req.IPs,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if req.Expired {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	}
	for _, s := range req.URIs {
		u, err := url.Parse(s)
		if err != nil {
			ca.t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	sc := ServerCert{
		CertFile: filepath.Join(ca.dir, "server"+big.NewInt(ca.serial).String()+".pem"),
		KeyFile:  filepath.Join(ca.dir, "server"+big.NewInt(ca.serial).String()+".key"),
		TLS:      tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key},
	}
	// The chain file holds the leaf, then the CA, as servers send them.
	ca.write(sc.CertFile, "CERTIFICATE", der)
	f, err := os.OpenFile(sc.CertFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		ca.t.Fatal(err)
	}
	defer f.Close()
	if err := pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}); err != nil {
		ca.t.Fatal(err)
	}
	ca.write(sc.KeyFile, "PRIVATE KEY", keyDER)
	return sc
}

func (ca *TestCA) write(path, typ string, der []byte) {
	ca.t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
}
