package main

import (
	"crypto/tls"
	"errors"
	"testing"
)

// TestACMEClientCertificate: with ACME, carriers asking for our certificate
// get the one made for the first ACME host; with a fixed certificate (or no
// TLS) the SIP side is left to present TLSConfig's own.
func TestACMEClientCertificate(t *testing.T) {
	want := &tls.Certificate{Certificate: [][]byte{{1}}}
	conf := &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if h.ServerName != "meet.example.com" {
			return nil, errors.New("not ours: " + h.ServerName)
		}
		return want, nil
	}}
	get := acmeClientCertificate(conf, []string{"meet.example.com", "other.example.com"})
	if get == nil {
		t.Fatal("no client certificate source with ACME")
	}
	if got, err := get(&tls.CertificateRequestInfo{}); err != nil || got != want {
		t.Errorf("got %v, %v; want the first ACME host's certificate", got, err)
	}
	if acmeClientCertificate(&tls.Config{Certificates: []tls.Certificate{*want}}, nil) != nil {
		t.Error("a fixed certificate got an ACME source")
	}
	if acmeClientCertificate(nil, []string{"meet.example.com"}) != nil {
		t.Error("no TLS got a source")
	}
}
