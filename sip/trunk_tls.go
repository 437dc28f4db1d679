package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/dialroom/dialroom/dialplan"
)

// SIP over TLS as a client (RFC 3261 §26.2, RFC 5922): the connections we
// open to carriers for TLS trunks (REGISTER, dial-out INVITEs, in-dialog
// requests) verify the carrier's certificate against the system's roots and
// the trunk's tls_ca, and its identity against the trunk's SIP domain.

// TLSPeerError is why a TLS peer's certificate was refused. Its message is
// meant for the console ("TLS: certificate for carrier.example is not
// trusted …"); registration reports it as the trunk's LastReason.
type TLSPeerError struct {
	Domain string // the SIP domain we expected the certificate to prove; "" when unknown
	Reason string
	Err    error // the x509 error behind it, if any
}

func (e *TLSPeerError) Error() string {
	if e.Domain == "" {
		return "TLS: " + e.Reason
	}
	return fmt.Sprintf("TLS: certificate for %s %s", e.Domain, e.Reason)
}

func (e *TLSPeerError) Unwrap() error { return e.Err }

// tlsClientConfig is the configuration of every TLS connection the server
// opens (sipgo dials them; there is one configuration per user agent).
//
// Go's built-in verification is switched off only because verifyPeer
// replaces it and runs on every handshake (crypto/tls calls
// VerifyConnection even with InsecureSkipVerify): it needs the trust of the
// trunk being dialled, which one static RootCAs cannot express, and RFC
// 5922's identity rules, which are not Go's. A handshake it refuses fails.
func (s *Server) tlsClientConfig() *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS12,
		InsecureSkipVerify:   true, // replaced by VerifyConnection, see above
		VerifyConnection:     s.verifyPeer,
		GetClientCertificate: s.clientCertificate,
	}
}

// clientCertificate is what we present to a carrier that asks for a client
// certificate (mutual TLS, RFC 5922 §7.3 read from our side): the trunk's
// own (tls_cert and tls_key, carried by the request's clientCertNote), else
// the certificate our TLS listeners serve (Config.TLSClientCertificate,
// else the first of TLSConfig.Certificates), so the carrier sees the same
// identity whichever side opened the connection. Without one the handshake
// goes on without a certificate and a carrier that requires one refuses it
// (transportReason says so).
func (s *Server) clientCertificate(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	cert := &tls.Certificate{}
	note, _ := cri.Context().Value(clientCertNoteKey{}).(*clientCertNote)
	switch c := s.cfg.TLSConfig; {
	case note != nil && note.trunkCert != nil:
		cert = note.trunkCert
	case s.cfg.TLSClientCertificate != nil:
		var err error
		if cert, err = s.cfg.TLSClientCertificate(cri); err != nil {
			s.log.Warn("sip: no client certificate for a carrier that asks for one", "err", err)
			cert = &tls.Certificate{}
		}
	case c != nil && len(c.Certificates) > 0:
		cert = &c.Certificates[0]
	}
	if note != nil {
		note.asked.Store(true)
		note.presented.Store(len(cert.Certificate) > 0)
	}
	return cert, nil
}

// clientCertNote records whether the carrier asked for our certificate in
// a TLS handshake that one REGISTER attempt (or INVITE) caused, and whether
// we had one; and it carries the trunk's own certificate to present, if
// it has one.
// It rides in the request's context, which crypto/tls hands to
// clientCertificate (sipgo dials with it). Why: with TLS 1.3 a carrier
// refuses a client certificate only after our side of the handshake has
// finished, by an alert that closes the connection, so the REGISTER just
// fails to get an answer; the note is how transportReason can still say
// what went wrong.
type clientCertNote struct {
	asked, presented atomic.Bool
	trunkCert        *tls.Certificate // the trunk's tls_cert; nil: the server's
}

type clientCertNoteKey struct{}

// trunkCert returns the client certificate (tls_cert) of the trunk named
// name in the current dialplan; nil for none, for "" (not a trunk's call)
// and for a trunk a reload removed. In-dialog requests use it: the trunk's
// certificate at the time they are sent is the one its carrier expects.
func (s *Server) trunkCert(name string) *tls.Certificate {
	if name == "" {
		return nil
	}
	if t := s.cfg.Plan().Trunk(name); t != nil {
		return t.TLSCert
	}
	return nil
}

// withClientCertNote returns ctx carrying a new note, which presents
// trunkCert (a trunk's tls_cert) when not nil.
func withClientCertNote(ctx context.Context, trunkCert *tls.Certificate) (context.Context, *clientCertNote) {
	note := &clientCertNote{trunkCert: trunkCert}
	return context.WithValue(ctx, clientCertNoteKey{}, note), note
}

// tlsPeer is what a certificate is checked against.
type tlsPeer struct {
	domain string         // the SIP domain to prove (RFC 5922 §7.1)
	roots  *x509.CertPool // trusted besides the system's; may be nil
}

// tlsPeersFor returns the trust to check a server certificate with, for a
// connection sipgo opened to serverName (the request's destination host;
// crypto/tls reports "" for an IP address, which it sends no SNI for).
//
// A name: the enabled TLS trunks whose registrar host it is, else the
// system's roots for that name. An IP address: since the handshake does not
// tell which one was dialled, every enabled TLS trunk whose registrar is an
// IP address; the certificate must prove the identity of one of them. Calls
// to carriers are normally by name, which is checked exactly.
func tlsPeersFor(plan *dialplan.Plan, serverName string) []tlsPeer {
	var peers []tlsPeer
	if plan != nil {
		for _, t := range plan.Trunks {
			if !t.Enabled || t.Transport != dialplan.TLS {
				continue
			}
			_, err := netip.ParseAddr(t.Host)
			byAddress := err == nil
			switch {
			case serverName == "" && !byAddress:
				continue
			case serverName != "" && !strings.EqualFold(strings.TrimSuffix(t.Host, "."), serverName):
				continue
			}
			domain := t.TLSServerName
			if domain == "" {
				domain = strings.ToLower(t.Host)
			}
			peers = append(peers, tlsPeer{domain: domain, roots: t.TLSRoots})
		}
	}
	if len(peers) == 0 && serverName != "" {
		peers = append(peers, tlsPeer{domain: strings.ToLower(serverName)})
	}
	return peers
}

// verifyPeer checks the carrier's certificate chain and identity (RFC 5922
// §7); it is the VerifyConnection of tlsClientConfig. The error is a
// *TLSPeerError.
func (s *Server) verifyPeer(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return &TLSPeerError{Reason: "the server sent no certificate"}
	}
	peers := tlsPeersFor(s.cfg.Plan(), cs.ServerName)
	if len(peers) == 0 {
		return &TLSPeerError{Reason: "no TLS trunk names this address, so its certificate cannot be checked"}
	}
	var first error
	for _, p := range peers {
		err := verifyCertificate(cs.PeerCertificates, p)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	s.log.Warn("sip: TLS certificate refused", "server_name", cs.ServerName, "err", first)
	return first
}

// verifyCertificate checks certs (the leaf first, then the intermediates
// the server sent) against the system's roots, then p.roots, and the leaf's
// identity against p.domain.
func verifyCertificate(certs []*x509.Certificate, p tlsPeer) error {
	leaf := certs[0]
	opts := x509.VerifyOptions{Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := leaf.Verify(opts) // Roots nil: the system's
	if err != nil && p.roots != nil {
		opts.Roots = p.roots
		_, err = leaf.Verify(opts)
	}
	if err != nil {
		var invalid x509.CertificateInvalidError
		var unknown x509.UnknownAuthorityError
		switch {
		case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
			return &TLSPeerError{Domain: p.domain, Reason: "has expired or is not valid yet", Err: err}
		case errors.As(err, &unknown):
			return &TLSPeerError{Domain: p.domain, Reason: fmt.Sprintf("is not trusted (issued by %q, which neither the system's roots nor the trunk's tls_ca include)", leaf.Issuer.CommonName), Err: err}
		}
		return &TLSPeerError{Domain: p.domain, Reason: "is not trusted: " + err.Error(), Err: err}
	}
	if ids, ok := certIdentities(leaf, p.domain); !ok {
		return &TLSPeerError{Domain: p.domain, Reason: fmt.Sprintf("names %s instead", strings.Join(ids, ", "))}
	}
	return nil
}

// certIdentities reports whether leaf proves domain (RFC 5922 §7.1, §7.2),
// and the identities it does prove, for the error message.
//
// §7.1: the SIP domain identities are the host parts of the subjectAltName
// URIs of scheme sip without a user part; only when there are none, the
// subjectAltName DNS names. The Common Name is not used (§7.1 allows it
// only without a subjectAltName; Go and the CA/Browser rules have dropped
// it). §7.2: names compare whole and case-insensitively; no wildcards. An IP
// address (a registrar given by address) must be an IP subjectAltName.
func certIdentities(leaf *x509.Certificate, domain string) ([]string, bool) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if ip, err := netip.ParseAddr(domain); err == nil {
		var ids []string
		for _, a := range leaf.IPAddresses {
			if got, ok := netip.AddrFromSlice(a); ok && got.Unmap() == ip.Unmap() {
				return nil, true
			}
			ids = append(ids, a.String())
		}
		return ids, false
	}
	var ids []string
	for _, u := range leaf.URIs {
		if host, ok := sipURIDomain(u); ok {
			ids = append(ids, host)
		}
	}
	if len(ids) == 0 {
		for _, n := range leaf.DNSNames {
			ids = append(ids, strings.ToLower(strings.TrimSuffix(n, ".")))
		}
	}
	for _, id := range ids {
		if id == domain {
			return nil, true
		}
	}
	if len(ids) == 0 {
		ids = []string{"no SIP domain (no subjectAltName)"}
	}
	return ids, false
}

// sipURIDomain returns the host of a sip: URI without a user part (RFC
// 5922 §7.1 step 1); a URI with a user names a user, not a domain.
func sipURIDomain(u *url.URL) (string, bool) {
	if !strings.EqualFold(u.Scheme, "sip") {
		return "", false
	}
	rest := u.Opaque
	if rest == "" {
		rest = u.Host
	}
	if u.User != nil || strings.Contains(rest, "@") {
		return "", false
	}
	rest, _, _ = strings.Cut(rest, ";")
	if h, _, err := splitHostPortLoose(rest); err == nil {
		rest = h
	}
	return strings.ToLower(strings.TrimSuffix(rest, ".")), rest != ""
}

// splitHostPortLoose splits "host:port"; a host alone is an error.
func splitHostPortLoose(s string) (string, string, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Contains(s[:i], ":") {
		return "", "", errors.New("no port")
	}
	return s[:i], s[i+1:], nil
}
