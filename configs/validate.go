package configs

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dialroom/dialroom/yamlcheck"
)

// issue is a problem Validate finds: where (a key path), what, and which other
// keys it involves. Load places it at the key's position in the file.
type issue struct {
	path     string
	message  string
	expected string
	related  []string // other keys the problem is about
}

// Validate reports every problem with c, joined with errors.Join, each a
// *Problem without a position (Load adds positions). It returns nil for a
// usable Config. Validate only reads c.
func (c *Config) Validate() error {
	var errs []error
	for _, is := range c.issues() {
		errs = append(errs, &Problem{Path: is.path, Message: is.message, Expected: is.expected})
	}
	return errors.Join(errs...)
}

// checks collects issues.
type checks []issue

func (cs *checks) add(path, expected, format string, args ...any) *issue {
	*cs = append(*cs, issue{path: path, message: fmt.Sprintf(format, args...), expected: expected})
	return &(*cs)[len(*cs)-1]
}

// niceExpected describes the values of nice, for decoding and Validate.
const niceExpected = "a number from -20 (runs first) to 19 (runs last); 0 keeps the normal priority"

func (c *Config) issues() []issue {
	var cs checks
	if c.DataDir == "" {
		cs.add("data_dir", "a directory path, e.g. "+strconv.Quote(DefaultDataDir), "is empty")
	}
	if c.Nice < -20 || c.Nice > 19 {
		cs.add("nice", niceExpected, "is %d", c.Nice)
	}
	c.HTTP.check(&cs)
	c.WebRTC.check(&cs)
	c.SIP.check(&cs)
	if len(c.SIP.TLS) > 0 && !c.HTTP.TLS.Enabled() {
		cs.add("sip.tls", "http.tls configured (cert_file and key_file, self_signed or acme_hosts): SIP over TLS uses its certificate",
			"SIP over TLS needs a certificate, but http.tls has none").related = []string{"http.tls"}
	}
	positive(&cs, "lobby.timeout", c.Lobby.Timeout)
	c.Auth.check(&cs)
	c.Log.check(&cs)
	c.Materials.check(&cs)
	return cs
}

const expectedListen = `host:port, e.g. "127.0.0.1:8080" or ":8443"`

func (h *HTTP) check(cs *checks) {
	if msg := checkListen(h.Listen); msg != "" {
		cs.add("http.listen", expectedListen, "%s", msg)
	}
	if h.PublicURL != "" {
		if msg := checkBaseURL(h.PublicURL, true); msg != "" {
			cs.add("http.public_url", `a base URL like "https://meet.example.com"`, "%s", msg)
		}
	}
	for i, tp := range h.TrustedProxies {
		if _, err := ParseNetwork(tp); err != nil {
			cs.add(fmt.Sprintf("http.trusted_proxies[%d]", i), `an address or network, e.g. "127.0.0.1" or "10.0.0.0/8"`, "%q is neither", tp)
		}
	}
	for i, o := range h.AllowedOrigins {
		if msg := checkBaseURL(o, false); msg != "" {
			cs.add(fmt.Sprintf("http.allowed_origins[%d]", i), `an origin like "https://app.example.com" or "http://localhost:3000"`, "%s", msg)
		}
	}
	h.TLS.check(cs, h.Listen)
}

func (t *TLS) check(cs *checks, listen string) {
	const p = "http.tls."
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		cs.add(p+"cert_file", "cert_file and key_file together", "is set but key_file is not").related = []string{p + "key_file"}
	case t.KeyFile != "" && t.CertFile == "":
		cs.add(p+"key_file", "cert_file and key_file together", "is set but cert_file is not").related = []string{p + "cert_file"}
	}
	files := t.CertFile != "" || t.KeyFile != ""
	if t.SelfSigned && files {
		cs.add(p+"self_signed", "one source of certificates", "cannot be combined with cert_file and key_file").related = []string{p + "cert_file", p + "key_file"}
	}
	if len(t.ACMEHosts) > 0 {
		if files {
			cs.add(p+"acme_hosts", "one source of certificates", "cannot be combined with cert_file and key_file").related = []string{p + "cert_file", p + "key_file"}
		}
		if t.SelfSigned {
			cs.add(p+"acme_hosts", "one source of certificates", "cannot be combined with self_signed").related = []string{p + "self_signed"}
		}
	}
	for i, h := range t.ACMEHosts {
		path := fmt.Sprintf("%sacme_hosts[%d]", p, i)
		_, ipErr := netip.ParseAddr(h)
		switch {
		case ipErr == nil:
			cs.add(path, `a public host name, e.g. "meet.example.com"`, "%q is an IP address; automatic certificates are for host names", h)
		case strings.HasPrefix(h, "*."):
			cs.add(path, `a host name without a wildcard, e.g. "meet.example.com"`, "%q is a wildcard; it needs the ACME DNS-01 challenge, which dialroom does not use", h)
		case strings.ContainsAny(h, ":/"):
			cs.add(path, `a host name alone, e.g. "meet.example.com"`, "%q is not a host name (no scheme, port or path)", h)
		case !validHostname(h) || !strings.Contains(h, ".") || strings.EqualFold(h, "localhost"):
			cs.add(path, `a public host name, e.g. "meet.example.com"`, "%q cannot get a public certificate", h)
		}
	}
	if t.ACMEEmail != "" {
		if a, err := mail.ParseAddress(t.ACMEEmail); err != nil || a.Address != t.ACMEEmail {
			cs.add(p+"acme_email", `an e-mail address like "admin@example.com"`, "%q is not an e-mail address", t.ACMEEmail)
		}
	}
	if t.RedirectListen != "" {
		path := p + "redirect_listen"
		if msg := checkListen(t.RedirectListen); msg != "" {
			cs.add(path, expectedListen, "%s", msg)
		} else if !t.Enabled() {
			cs.add(path, "cert_file and key_file, self_signed or acme_hosts", "redirects to HTTPS, but TLS is off")
		} else if sameListener(t.RedirectListen, listen) {
			cs.add(path, "a different port from http.listen", "%q overlaps http.listen %q", t.RedirectListen, listen).related = []string{"http.listen"}
		}
	}
}

func (s *SIP) check(cs *checks) {
	const p = "sip."
	for name, addrs := range map[string][]string{"udp": s.UDP, "tcp": s.TCP, "tls": s.TLS} {
		for i, a := range addrs {
			if msg := checkListen(a); msg != "" {
				cs.add(fmt.Sprintf("%s%s[%d]", p, name, i), `host:port, e.g. "0.0.0.0:5060"`, "%s", msg)
			}
		}
	}
	if len(s.UDP) == 0 && len(s.TCP) == 0 && len(s.TLS) == 0 {
		return // SIP is off: the rest does not matter
	}
	if ip, err := netip.ParseAddr(s.MediaIP); err != nil || ip.IsUnspecified() || ip.IsMulticast() {
		cs.add(p+"media_ip", `the address phones and carriers send audio to, e.g. "203.0.113.7"`, "%q is not such an address", s.MediaIP)
	}
	if s.RTPBind != "" {
		if _, err := netip.ParseAddr(s.RTPBind); err != nil {
			cs.add(p+"rtp_bind", `a local IP address, or "" for every address`, "%q is not an IP address", s.RTPBind)
		}
	}
	if s.Realm == "" || strings.ContainsAny(s.Realm, "\"\\\r\n") {
		cs.add(p+"realm", `a name without quotes or backslashes, e.g. "dialroom"`, "%q cannot be a digest realm", s.Realm)
	}
	if len(s.DigestAlgorithms) == 0 {
		cs.add(p+"digest_algorithms", `e.g. ["MD5"] or ["SHA-256", "MD5"]`, "no algorithm: no softphone could authenticate")
	}
	for i, a := range s.DigestAlgorithms {
		if a != "MD5" && a != "SHA-256" || slices.Index(s.DigestAlgorithms, a) != i {
			cs.add(fmt.Sprintf("%sdigest_algorithms[%d]", p, i), `"MD5" or "SHA-256", each once`, "%q is not a digest algorithm we offer", a)
		}
	}
	if s.ConnectionsPerAddress < 1 {
		cs.add(p+"connections_per_address", "at least 1, e.g. 256", "is %d: no TCP or TLS connection could be served", s.ConnectionsPerAddress)
	}
	if s.RTPPortMin < 1024 || s.RTPPortMax <= s.RTPPortMin {
		cs.add(p+"rtp_port_min", "1024 <= rtp_port_min < rtp_port_max, e.g. 20000 and 29999",
			"the range %d-%d holds no usable RTP port", s.RTPPortMin, s.RTPPortMax).related = []string{p + "rtp_port_max"}
	}
}

func (w *WebRTC) check(cs *checks) {
	const p = "webrtc."
	for i, s := range w.PublicIPs {
		path := fmt.Sprintf("%spublic_ips[%d]", p, i)
		ip, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			cs.add(path, `an IP address, e.g. "203.0.113.7"`, "%q is not an IP address", s)
		case ip.IsUnspecified() || ip.IsMulticast() || ip.Zone() != "":
			cs.add(path, "the address browsers reach the server at", "%q cannot be announced to browsers", s)
		}
	}
	for i, s := range w.ICENetworks {
		if _, err := ParseICENetwork(s); err != nil {
			cs.add(fmt.Sprintf("%sice_networks[%d]", p, i), `a network or an address of this machine, e.g. "10.0.0.0/8" or "203.0.113.7"`, "%v", err)
		}
	}
	switch {
	case w.UDPPortMin != 0 && w.UDPPortMax == 0:
		cs.add(p+"udp_port_min", "udp_port_min and udp_port_max together, or neither", "is set but udp_port_max is not").related = []string{p + "udp_port_max"}
	case w.UDPPortMax != 0 && w.UDPPortMin == 0:
		cs.add(p+"udp_port_max", "udp_port_min and udp_port_max together, or neither", "is set but udp_port_min is not").related = []string{p + "udp_port_min"}
	case w.UDPPortMin > w.UDPPortMax:
		cs.add(p+"udp_port_min", "udp_port_min <= udp_port_max", "%d is above udp_port_max %d", w.UDPPortMin, w.UDPPortMax).related = []string{p + "udp_port_max"}
	}
	if w.UDPPort != 0 && (w.UDPPortMin != 0 || w.UDPPortMax != 0) {
		cs.add(p+"udp_port", "either udp_port (one port for every peer) or udp_port_min and udp_port_max (a range)",
			"cannot be combined with udp_port_min and udp_port_max").related = []string{p + "udp_port_min", p + "udp_port_max"}
	}
	for i, s := range w.ICEServers {
		s.check(cs, fmt.Sprintf("%sice_servers[%d]", p, i))
	}
	if codecs := []string{PhoneCodecOpus, PhoneCodecPCMU}; !slices.Contains(codecs, w.PhoneCodec) {
		cs.add(p+"phone_codec", "opus or pcmu"+yamlcheck.DidYouMean(w.PhoneCodec, codecs...), "unknown codec %q", w.PhoneCodec)
	}
}

func (s *ICEServer) check(cs *checks, path string) {
	const expected = `a stun:, stuns:, turn: or turns: URL, e.g. "stun:stun.example.com:3478"`
	if len(s.URLs) == 0 {
		cs.add(path+".urls", expected, "no URLs")
		return
	}
	turn := false
	for i, u := range s.URLs {
		scheme, rest, ok := strings.Cut(u, ":")
		switch {
		case !ok || (scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns"):
			cs.add(fmt.Sprintf("%s.urls[%d]", path, i), expected, "%q is not a STUN or TURN URL", u)
		case rest == "" || strings.ContainsAny(rest, " /"):
			cs.add(fmt.Sprintf("%s.urls[%d]", path, i), expected, "%q has no valid host", u)
		case scheme == "turn" || scheme == "turns":
			turn = true
		}
	}
	if turn && (s.Username == "" || s.Credential == "") {
		cs.add(path, "username and credential for a TURN server", "a TURN server needs both username and credential")
	}
}

func (a *Auth) check(cs *checks) {
	positive(cs, "auth.session_lifetime", a.SessionLifetime)
	atLeastOne(cs, "auth.join_failures", a.JoinFailures)
	positive(cs, "auth.join_window", a.JoinWindow)
	atLeastOne(cs, "auth.login_failures", a.LoginFailures)
	positive(cs, "auth.login_window", a.LoginWindow)
}

func (l *Log) check(cs *checks) {
	levels := []string{"debug", "info", "warn", "error"}
	if !slices.Contains(levels, l.Level) {
		cs.add("log.level", "debug, info, warn or error"+yamlcheck.DidYouMean(l.Level, levels...), "unknown level %q", l.Level)
	}
	formats := []string{"text", "json"}
	if !slices.Contains(formats, l.Format) {
		cs.add("log.format", "text or json"+yamlcheck.DidYouMean(l.Format, formats...), "unknown format %q", l.Format)
	}
}

func positive(cs *checks, path string, d time.Duration) {
	if d <= 0 {
		cs.add(path, "a positive duration like 30s, 10m, 12h or 7d", "%v is not positive", d)
	}
}

func atLeastOne(cs *checks, path string, n int) {
	if n < 1 {
		cs.add(path, "a whole number of at least 1", "%d is too small", n)
	}
}

// checkListen checks a listen address and returns what is wrong, or "".
func checkListen(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Sprintf("port %q in %q is not a number from 0 to 65535", port, addr)
	}
	if host != "" && !validHostname(host) {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Sprintf("host %q in %q is neither an IP address nor a host name", host, addr)
		}
	}
	return ""
}

// sameListener reports whether two valid listen addresses would compete for
// one port. Port 0 picks a free port, so it never competes.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb {
		return false
	}
	if n, _ := strconv.Atoi(pa); n == 0 {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wildcard(ha) || wildcard(hb)
}

// checkBaseURL checks an absolute http(s) URL without user, query or fragment;
// withPath allows a path (a base URL) where an origin has none.
func checkBaseURL(s string, withPath bool) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL", s)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q does not start with http:// or https://", s)
	case u.Host == "" || u.Opaque != "":
		return fmt.Sprintf("%q has no host", s)
	case u.User != nil:
		return fmt.Sprintf("%q contains a user name", s)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Sprintf("%q has a query or fragment", s)
	case !withPath && u.Path != "":
		return fmt.Sprintf("%q has a path; an origin has none", s)
	}
	return ""
}

// validHostname reports whether h is a DNS host name: dot-separated labels of
// letters, digits and inner hyphens, 253 characters at most.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ParseNetwork parses an address ("192.0.2.1", a network of one) or a network in
// CIDR form ("192.0.2.0/24").
func ParseNetwork(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ParseICENetwork reads one webrtc.ice_networks entry: a network in CIDR
// notation or a single address (a network of one).
func ParseICENetwork(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		n, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network (CIDR)", s)
		}
		return n.Masked(), nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a network (CIDR)", s)
	}
	if ip.IsUnspecified() || ip.IsMulticast() {
		return netip.Prefix{}, fmt.Errorf("%q cannot be a host candidate", s)
	}
	return netip.PrefixFrom(ip, ip.BitLen()), nil
}
