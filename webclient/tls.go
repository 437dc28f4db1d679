package webclient

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

// TLSOptions chooses where the HTTPS certificate comes from: files, a
// self-signed certificate for a LAN trial, or ACME (Let's Encrypt and friends).
// Browsers allow microphone and camera only on HTTPS (or localhost), so any
// deployment reached from other machines needs one of these.
type TLSOptions struct {
	CertFile, KeyFile string
	SelfSigned        bool
	// SelfSignedHosts are the names and addresses the self-signed certificate
	// covers (localhost and 127.0.0.1 are always added).
	SelfSignedHosts []string
	ACMEHosts       []string
	ACMEEmail       string
	// ACMECacheDir keeps ACME accounts and certificates; "" means Dir/acme.
	ACMECacheDir string
	// HTTPSPort is the port HTTPS listens on; redirects name it unless it is 443.
	HTTPSPort string
	// Dir keeps the self-signed certificate and the ACME cache.
	Dir string
}

// TLSSetup returns the server's TLS configuration and the handler for the plain
// HTTP listener: a redirect to HTTPS, which with ACME also answers http-01
// challenges. Exactly one source must be chosen (the config validates that).
func TLSSetup(o TLSOptions, log *slog.Logger) (*tls.Config, http.Handler, error) {
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(r.Host); err == nil {
			host = h
		}
		if o.HTTPSPort != "" && o.HTTPSPort != "443" {
			host = net.JoinHostPort(host, o.HTTPSPort)
		} else if strings.Contains(host, ":") {
			host = "[" + host + "]" // a bare IPv6 address
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
	switch {
	case len(o.ACMEHosts) > 0:
		cache := o.ACMECacheDir
		if cache == "" {
			cache = filepath.Join(o.Dir, "acme")
		}
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(o.ACMEHosts...),
			Cache:      autocert.DirCache(cache),
			Email:      o.ACMEEmail,
		}
		return m.TLSConfig(), m.HTTPHandler(redirect), nil
	case o.CertFile != "":
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("TLS certificate %s / key %s: %w", o.CertFile, o.KeyFile, err)
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, redirect, nil
	case o.SelfSigned:
		cert, fingerprint, err := selfSigned(o.Dir, o.SelfSignedHosts)
		if err != nil {
			return nil, nil, err
		}
		log.Warn("TLS: using a SELF-SIGNED certificate, fine for a LAN trial only: browsers will warn, and users must check this fingerprint before accepting it",
			"sha256", fingerprint, "file", filepath.Join(o.Dir, "self-signed.crt"))
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, redirect, nil
	}
	return nil, nil, errors.New("TLS: no certificate source configured")
}

// selfSigned loads the self-signed certificate kept in dir, or makes one valid
// for a year (ECDSA P-256). Keeping it means browsers that were told to trust it
// keep trusting it across restarts.
func selfSigned(dir string, hosts []string) (tls.Certificate, string, error) {
	certPath, keyPath := filepath.Join(dir, "self-signed.crt"), filepath.Join(dir, "self-signed.key")
	if cert, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && cert.Leaf != nil && time.Now().Before(cert.Leaf.NotAfter.Add(-24*time.Hour)) {
		return cert, fingerprintOf(cert.Leaf.Raw), nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"dialroom self-signed"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// Client authentication too: SIP over TLS presents this certificate
		// to carriers that ask for one (sip/trunk_tls.go).
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, "", err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return tls.Certificate{}, "", err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, "", err
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	return cert, fingerprintOf(der), err
}

func fingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
