package dialplan

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/dialroom/dialroom/yamlcheck"
)

// Transport is how SIP messages travel to and from a trunk.
type Transport string

// The transports a trunk may use (RFC 3261 §18).
const (
	UDP Transport = "udp"
	TCP Transport = "tcp"
	TLS Transport = "tls"
)

// Defaults of a trunk.
const (
	// DefaultRegisterInterval is the registration lifetime asked of the
	// registrar: the default expiration of RFC 3261 §10.2.1.1. A registrar
	// that wants a shorter one answers 423 with Min-Expires, which the SIP
	// side honours.
	DefaultRegisterInterval = time.Hour
	// minRegisterInterval: shorter registrations only add load; RFC 3261
	// §10.3 suggests registrars refuse below an hour, and none accepts
	// below a minute.
	minRegisterInterval = time.Minute
	maxRegisterInterval = 24 * time.Hour
)

// DefaultCodecs are offered when a trunk lists none: G.711 μ-law, then
// A-law. Every carrier takes G.711, and Japan's network uses μ-law.
func DefaultCodecs() []string { return []string{"PCMU", "PCMA"} }

// codecs are the codec names a trunk may list, as written in SDP (RFC 3551).
// G722 and opus also let the trunk's calls into a conference be wideband.
var codecs = []string{"PCMU", "PCMA", "G722", "opus"}

// Trunk is a connection to a carrier: where to register, how to
// authenticate, which addresses its calls come from, which numbers it
// delivers and how we present ourselves on it.
type Trunk struct {
	Name    string
	Line    int  // where the trunk is defined
	Enabled bool // a disabled trunk neither registers nor carries calls

	// Registrar is the carrier's SIP server as a URI, sip:host[:port] or
	// sips:host[:port]; Host and Port are its parts (Port 0: the default
	// port of the transport, 5060, or 5061 for TLS).
	Registrar string
	Host      string
	Port      int
	Transport Transport

	// Username and Password are the digest credentials (RFC 3261 §22);
	// both are empty for a trunk that authenticates us by address. Password
	// is empty for a disabled trunk: it is read only when the trunk is
	// enabled.
	Username string
	Password Secret
	// RegisterInterval is the registration lifetime to ask for; 0 means the
	// trunk is not registered (the carrier knows our address).
	RegisterInterval time.Duration

	// Sources are the addresses and networks the carrier sends calls from.
	// A call from anywhere else is not from this trunk.
	Sources []netip.Prefix
	// DIDs are the numbers (or patterns of numbers) the carrier delivers to us.
	DIDs []string
	// CallerID is the number presented on calls we place; "" leaves it to
	// the carrier.
	CallerID string
	// Codecs lists the codecs to offer, most preferred first, as SDP names
	// (dial-out offers its G.711 laws); G722 and opus in it also let the
	// trunk's calls into a conference be answered wideband (sip/widecodec.go).
	Codecs []string
	// InboundAuth accepts calls from addresses outside Sources when they
	// authenticate with the trunk's Username and Password (digest, RFC 3261
	// §22): a peer PBX or an SBC pool whose addresses change. Off by
	// default: a carrier is known by its addresses.
	InboundAuth bool

	// TLSCAFile (tls_ca, TLS trunks only) names a PEM file of certificates
	// trusted for this trunk's carrier in addition to the system's roots: a
	// private carrier's CA, or a test's. TLSRoots holds them; nil when the
	// trunk has none, or when the file was not read (a disabled trunk, or
	// LoadOptions.SkipSecrets).
	TLSCAFile string
	TLSRoots  *x509.CertPool
	// TLSServerName (tls_server_name, TLS trunks only) is the SIP domain
	// the carrier's certificate must prove (RFC 5922 §7) when it differs
	// from the registrar's host, e.g. a registrar given by IP address; ""
	// means the registrar's host.
	TLSServerName string
	// TLSCertFile and TLSKeyFile (tls_cert and tls_key, TLS trunks only,
	// both or neither) name the PEM certificate chain and key presented to
	// this carrier when it asks for a client certificate (mutual TLS): a
	// certificate the carrier issued or its CA signed. Without them the
	// server's HTTPS certificate is presented, which a public CA may no
	// longer issue for client authentication. TLSCert holds them; nil when
	// the trunk has none, or when the files were not read (a disabled
	// trunk, or LoadOptions.SkipSecrets).
	TLSCertFile, TLSKeyFile string
	TLSCert                 *tls.Certificate

	dids   []*pattern
	column int    // where the trunk is written, with Line, for warnings
	path   string // e.g. trunks[0]
}

// Delivers reports whether number (in national form) is one of the trunk's
// DIDs.
func (t *Trunk) Delivers(number string) bool {
	for _, p := range t.dids {
		if p.match(number) {
			return true
		}
	}
	return false
}

// MayPresent reports whether calls through the trunk may present number
// (national 0… or international +…) as their caller ID: a trunk that lists
// DIDs presents only those (a carrier refuses or replaces a number that is
// not on the account); a trunk without DIDs presents any.
func (t *Trunk) MayPresent(number string) bool {
	if len(t.dids) == 0 {
		return true
	}
	clean, ok := cleanDialString(number)
	return ok && t.Delivers(nationalForm(clean))
}

// From reports whether a call from addr comes from this trunk's sources.
func (t *Trunk) From(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range t.Sources {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

var trunkKeys = []string{"name", "enabled", "registrar", "transport", "username", "password", "password_file",
	"register_interval", "sources", "dids", "caller_id", "codecs", "inbound_auth", "tls_ca", "tls_server_name", "tls_cert", "tls_key"}

// decodeTrunks decodes the trunks section, a list of trunks.
func decodeTrunks(d *decoder, path string, n *yaml.Node) []*Trunk {
	items, ok := d.list(path, n, "a list of trunks, each a mapping starting with - name: …")
	if !ok {
		return nil
	}
	var trunks []*Trunk
	var nodes []*yaml.Node // nodes[i] defines trunks[i]
	first := make(map[string]*Trunk)
	for i, item := range items {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		t := decodeTrunk(d, ipath, item)
		if t == nil {
			continue
		}
		if prev := first[t.Name]; prev != nil {
			d.errorf(item, ipath, "each trunk name once", "duplicate trunk name %q (first at line %d)", t.Name, prev.Line)
			continue
		}
		first[t.Name] = t
		trunks = append(trunks, t)
		nodes = append(nodes, item)
	}
	checkSourceOverlap(d, path, nodes, trunks)
	return trunks
}

func decodeTrunk(d *decoder, path string, n *yaml.Node) *Trunk {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "a trunk: a mapping with name, registrar and so on", "found %s", describe(n))
		return nil
	}
	rec := d.record(path, n, trunkKeys...)
	t := &Trunk{column: n.Column, path: path, Enabled: true, Line: n.Line, Transport: UDP, RegisterInterval: DefaultRegisterInterval, Codecs: DefaultCodecs()}
	ok := true
	if e, has := rec["name"]; has {
		t.Name, ok = d.name(e.path, e.value, "trunk")
	} else {
		d.errorf(n, path, "name: a name for logs and for routes to refer to", "missing key \"name\"")
		ok = false
	}
	if e, has := rec["enabled"]; has {
		t.Enabled, _ = d.boolean(e.path, e.value)
	}
	if e, has := rec["registrar"]; has {
		d.registrar(e.path, e.value, t)
	} else {
		d.errorf(n, path, "registrar: the carrier's SIP server, e.g. sip:sip.example.net", "missing key \"registrar\"")
	}
	if e, has := rec["transport"]; has {
		const expected = "udp, tcp or tls"
		s, good := d.str(e.path, e.value, expected)
		switch tr := Transport(strings.ToLower(s)); {
		case !good:
		case tr == UDP || tr == TCP || tr == TLS:
			t.Transport = tr
		default:
			d.errorf(e.value, e.path, expected, "unknown transport %q", s)
		}
		if strings.HasPrefix(t.Registrar, "sips:") && t.Transport != TLS {
			// RFC 3261 §26.2.2: a SIPS URI is reached over TLS only.
			d.errorf(e.value, e.path, "tls, or a sip: registrar", "a sips: registrar is reached over TLS only, not %s", t.Transport)
		}
	} else if strings.HasPrefix(t.Registrar, "sips:") {
		t.Transport = TLS
	}
	decodeCredentials(d, path, rec, t)
	if e, has := rec["register_interval"]; has {
		if v, good := d.duration(e.path, e.value, "0 (do not register), or a duration from 1m to 24h, e.g. 10m"); good {
			switch {
			case v == 0:
			case v < minRegisterInterval || v > maxRegisterInterval:
				d.errorf(e.value, e.path, "0 (do not register), or a duration from 1m to 24h", "%s is out of range", e.value.Value)
			case v%time.Second != 0:
				d.errorf(e.value, e.path, "whole seconds (SIP counts registration in seconds)", "%s is not a whole number of seconds", e.value.Value)
			}
			t.RegisterInterval = v
		}
	}
	if e, has := rec["sources"]; has {
		t.Sources = d.sources(e.path, e.value)
	}
	if e, has := rec["dids"]; has {
		if pats, good := d.patterns(e.path, e.value, patternOptions{}); good {
			t.dids = pats
			for _, p := range pats {
				t.DIDs = append(t.DIDs, p.text)
			}
		}
	}
	if e, has := rec["caller_id"]; has {
		t.CallerID = d.callerID(e.path, e.value)
	}
	if e, has := rec["codecs"]; has {
		if cs := d.codecs(e.path, e.value); cs != nil {
			t.Codecs = cs
		}
	}
	if e, has := rec["inbound_auth"]; has {
		t.InboundAuth, _ = d.boolean(e.path, e.value)
		if t.InboundAuth && t.Username == "" {
			d.errorf(e.value, e.path, "username and password: the credentials the peer authenticates with", "inbound_auth needs the trunk's username and password")
		}
	}
	decodeTLS(d, path, rec, t)
	if t.Enabled {
		if len(t.DIDs) > 0 && len(t.Sources) == 0 && !t.InboundAuth {
			d.warnf(n, path, "trunk %q delivers numbers but has no sources: calls from it cannot be told from a stranger's and are refused (add sources: with the carrier's addresses)", t.Name)
		}
		for _, p := range t.Sources {
			if p.Bits() == 0 {
				d.warnf(rec["sources"].value, yamlcheck.Join(path, "sources"), "trunk %q accepts calls from any address (%s): anyone on the network can call in as this carrier", t.Name, p)
			}
		}
	}
	// A trunk with problems other than its name is still returned, so that
	// routes referring to it are not reported as well: Load fails anyway.
	if !ok {
		return nil
	}
	return t
}

// decodeCredentials decodes username, password and password_file.
func decodeCredentials(d *decoder, path string, rec map[string]entry, t *Trunk) {
	pw, hasPW := rec["password"]
	pf, hasPF := rec["password_file"]
	if e, has := rec["username"]; has {
		const expected = "the user name the carrier gave you"
		if s, ok := d.numberText(e.path, e.value, expected); ok {
			if s == "" || strings.ContainsAny(s, "\x00\r\n") {
				d.errorf(e.value, e.path, expected, "bad user name %q", s)
			}
			t.Username = s
		}
		if !hasPW && !hasPF {
			d.errorf(e.key, path, "password: ${NAME} or password_file: PATH", "a username without a password")
		}
	} else if hasPW || hasPF {
		e := pw
		if !hasPW {
			e = pf
		}
		d.errorf(e.key, path, "username: the user name the carrier gave you", "a password without a username")
	}
	switch {
	case hasPW && hasPF:
		d.errorf(pf.key, path, "either password or password_file", "both password and password_file are set")
	case hasPW:
		t.Password, _ = d.secretValue(pw.path, pw.value, t.Enabled)
	case hasPF:
		t.Password, _ = d.secretFile(pf.path, pf.value, t.Enabled)
	}
}

// decodeTLS decodes tls_ca, tls_server_name, tls_cert and tls_key, which
// only a TLS trunk takes.
func decodeTLS(d *decoder, path string, rec map[string]entry, t *Trunk) {
	for _, key := range []string{"tls_ca", "tls_server_name", "tls_cert", "tls_key"} {
		if e, has := rec[key]; has && t.Transport != TLS {
			d.errorf(e.key, path, "transport: tls (or a sips: registrar)", "%s applies to TLS trunks only, and this one uses %s", key, t.Transport)
		}
	}
	if t.Transport == TLS {
		decodeClientCert(d, path, rec, t)
	}
	if e, has := rec["tls_server_name"]; has {
		const expected = "the carrier's SIP domain as its certificate names it, e.g. sip.example.net"
		if s, ok := d.str(e.path, e.value, expected); ok {
			if _, err := netip.ParseAddr(s); err == nil || !validHost(s) {
				d.errorf(e.value, e.path, expected, "bad server name %q", s)
			} else {
				t.TLSServerName = strings.ToLower(strings.TrimSuffix(s, "."))
			}
		}
	}
	e, has := rec["tls_ca"]
	if !has {
		return
	}
	const expected = "the path of a PEM file of CA certificates, e.g. /etc/dialroom/carrier-ca.pem"
	file, data, ok := d.tlsFile(e, expected, "the CA certificates", t)
	if file != "" {
		t.TLSCAFile = file
	}
	if !ok {
		return
	}
	pool, err := parseCAs(data)
	if err != nil {
		d.errorf(e.value, e.path, expected, "%s: %v", file, err)
		return
	}
	t.TLSRoots = pool
}

// tlsFile decodes a trunk's file key (tls_ca, tls_cert, tls_key): the path,
// relative to the dialplan's directory unless absolute, and the file's
// contents. Files are read like password_file: only for an enabled trunk,
// and not by a check that skips the server's files (ok false, file set).
func (d *decoder) tlsFile(e entry, expected, what string, t *Trunk) (file string, data []byte, ok bool) {
	file, ok = d.str(e.path, e.value, expected)
	if !ok {
		return "", nil, false
	}
	if file == "" || strings.ContainsRune(file, 0) {
		d.errorf(e.value, e.path, expected, "bad file name %q", file)
		return "", nil, false
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(d.File), file)
	}
	if !t.Enabled || d.opts.SkipSecrets {
		return file, nil, false
	}
	if d.opts.ReadFile == nil {
		d.errorf(e.value, e.path, "a loader that may read files", "%s cannot be read: this loader reads no files", file)
		return file, nil, false
	}
	data, err := d.opts.ReadFile(file)
	if err != nil {
		d.errorf(e.value, e.path, "a readable file", "cannot read %s: %v", what, err)
		return file, nil, false
	}
	return file, data, true
}

// decodeClientCert decodes tls_cert and tls_key: both or neither, a
// certificate chain and the private key that matches its first
// certificate.
func decodeClientCert(d *decoder, path string, rec map[string]entry, t *Trunk) {
	ce, hasCert := rec["tls_cert"]
	ke, hasKey := rec["tls_key"]
	switch {
	case !hasCert && !hasKey:
		return
	case !hasKey:
		d.errorf(ce.key, path, "tls_cert and tls_key together", "tls_cert without tls_key")
		return
	case !hasCert:
		d.errorf(ke.key, path, "tls_cert and tls_key together", "tls_key without tls_cert")
		return
	}
	certFile, certPEM, certOK := d.tlsFile(ce, "the path of a PEM certificate chain, e.g. /etc/dialroom/carrier-client.pem", "the client certificate", t)
	keyFile, keyPEM, keyOK := d.tlsFile(ke, "the path of the PEM private key of tls_cert", "the client key", t)
	t.TLSCertFile, t.TLSKeyFile = certFile, keyFile
	if !certOK || !keyOK {
		return
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		d.errorf(ce.value, ce.path, "a PEM certificate chain whose first certificate matches tls_key", "%s and %s: %v", certFile, keyFile, err)
		return
	}
	t.TLSCert = &cert
}

// parseCAs reads PEM CERTIFICATE blocks; anything else, or none, is an
// error (a key or a mangled file in place of the CA would otherwise go
// unnoticed until every handshake fails).
func parseCAs(data []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("holds a %s block, want CERTIFICATE blocks only", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %v", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("holds no PEM certificate")
	}
	return pool, nil
}

// registrar decodes the registrar URI into t.Registrar, t.Host and t.Port.
// A bare host[:port] is taken as sip:host[:port].
func (d *decoder) registrar(path string, n *yaml.Node, t *Trunk) bool {
	const expected = "a SIP URI of the carrier's server, sip:host[:port] or sips:host[:port], e.g. sip:sip.example.net:5060"
	s, ok := d.str(path, n, expected)
	if !ok {
		return false
	}
	scheme, rest := "sip", s
	if _, err := netip.ParseAddr(s); err == nil {
		// A bare IPv6 address: its colons are not a scheme or a port.
		if strings.Contains(s, ":") {
			rest = "[" + s + "]"
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 && !strings.HasPrefix(s, "[") {
		if sc := strings.ToLower(s[:i]); sc == "sip" || sc == "sips" {
			scheme, rest = sc, s[i+1:]
		} else if _, err := strconv.Atoi(s[i+1:]); err != nil {
			d.errorf(n, path, expected, "unsupported URI scheme %q", s[:i])
			return false
		}
	}
	switch {
	case strings.Contains(rest, "@"):
		// RFC 3261 §10.2: a REGISTER's Request-URI names the domain only.
		d.errorf(n, path, expected+"; the user name goes in username", "the registrar URI has a user part")
		return false
	case strings.ContainsAny(rest, ";?"):
		d.errorf(n, path, expected+"; the transport goes in transport", "URI parameters and headers are not supported here")
		return false
	}
	host, port := rest, 0
	if h, p, err := splitHostPort(rest); err == nil {
		host = h
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 || v > 65535 {
			d.errorf(n, path, "a port from 1 to 65535", "bad port %q", p)
			return false
		}
		port = v
	} else if strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") {
		host = rest[1 : len(rest)-1]
	}
	if !validHost(host) {
		d.errorf(n, path, expected, "bad host %q", host)
		return false
	}
	t.Host, t.Port = host, port
	t.Registrar = scheme + ":" + rest
	return true
}

// splitHostPort splits host:port and [v6]:port; it fails without a port.
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return "", "", fmt.Errorf("no port")
		}
		return s[1:end], s[end+2:], nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Count(s, ":") > 1 {
		return "", "", fmt.Errorf("no port")
	}
	return s[:i], s[i+1:], nil
}

// validHost accepts an IP address or a DNS name of letters, digits, '-' and
// '.' (RFC 1123 labels).
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

// sources decodes a list of addresses and networks.
func (d *decoder) sources(path string, n *yaml.Node) []netip.Prefix {
	const expected = "an IP address or network, e.g. 203.0.113.7 or 203.0.113.0/24 (no host names: they would need DNS at every call)"
	paths, items := d.oneOrMore(path, n, "a list of IP addresses or networks, e.g. [203.0.113.0/24]")
	var out []netip.Prefix
	for i, item := range items {
		s, ok := d.str(paths[i], item, expected)
		if !ok {
			continue
		}
		var p netip.Prefix
		if strings.Contains(s, "/") {
			var err error
			if p, err = netip.ParsePrefix(s); err != nil {
				d.errorf(item, paths[i], expected, "bad network %q", s)
				continue
			}
			if p.Masked() != p {
				d.errorf(item, paths[i], fmt.Sprintf("the network's first address, %s", p.Masked()), "%s has bits set after the /%d", s, p.Bits())
				continue
			}
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil {
				d.errorf(item, paths[i], expected, "bad address %q", s)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p)
	}
	return out
}

// checkSourceOverlap reports enabled trunks whose sources overlap: a call
// from the shared addresses could not be told apart. nodes[i] defines
// trunks[i].
func checkSourceOverlap(d *decoder, path string, nodes []*yaml.Node, trunks []*Trunk) {
	for i, a := range trunks {
		if !a.Enabled {
			continue
		}
		for j := i + 1; j < len(trunks); j++ {
			b := trunks[j]
			if !b.Enabled {
				continue
			}
		pairs:
			for _, pa := range a.Sources {
				for _, pb := range b.Sources {
					if pa.Overlaps(pb) {
						d.errorf(nodes[j], b.path+".sources", "each address in the sources of one trunk only",
							"trunk %q's source %s overlaps trunk %q's source %s (line %d): a call from there could be from either", b.Name, pb, a.Name, pa, a.Line)
						break pairs
					}
				}
			}
		}
	}
}

// callerID decodes a number to present: national (0…) or international (+…),
// separators allowed.
func (d *decoder) callerID(path string, n *yaml.Node) string {
	const expected = "a number like 0312345678 or +81312345678"
	s, ok := d.numberText(path, n, expected)
	if !ok {
		return ""
	}
	clean, valid := cleanDialString(s)
	if !valid || clean == "" || strings.ContainsAny(clean, "*#") || len(strings.TrimPrefix(clean, "+")) < 3 || len(clean) > 16 {
		d.errorf(n, path, expected, "%q is not a phone number", s)
		return ""
	}
	return clean
}

// codecs decodes the codec list.
func (d *decoder) codecs(path string, n *yaml.Node) []string {
	expected := "codec names from " + strings.Join(codecs, ", ")
	items, ok := d.list(path, n, "a list of "+expected+", most preferred first")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(n, path, "at least one of "+strings.Join(codecs, ", "), "the list is empty")
		return nil
	}
	var out []string
	good := true
	for i, item := range items {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		s, ok := d.str(ipath, item, expected)
		if !ok {
			good = false
			continue
		}
		name := ""
		for _, c := range codecs {
			if strings.EqualFold(c, s) {
				name = c
			}
		}
		switch {
		case name == "":
			d.errorf(item, ipath, expected, "unknown codec %q", s)
			good = false
		case containsFold(out, name):
			d.errorf(item, ipath, "each codec once", "duplicate codec %q", s)
			good = false
		default:
			out = append(out, name)
		}
	}
	if !good {
		return nil
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
