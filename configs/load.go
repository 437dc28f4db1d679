package configs

import (
	"go.yaml.in/yaml/v3"

	"github.com/dialroom/dialroom/yamlcheck"
)

// Load parses the server config in data and validates it. filename is only used
// in messages. Keys missing from the file keep their Default value; an empty
// file gives Default().
//
// On any problem Load returns a nil Config and all problems joined with
// errors.Join, each a *Problem that reads FILE:LINE:COL: key: what is wrong
// (expected ...): decoding problems (unknown keys, wrong types) and the
// problems Validate finds, placed at the key they are about. Load is safe to
// call from several goroutines.
func Load(filename string, data []byte) (*Config, error) {
	d := newDecoder(filename)
	c := Default()
	if root := d.Parse(data); root != nil {
		d.mapping("", root, []field{
			{"http", func(p string, v *yaml.Node) { d.http(p, v, &c.HTTP) }},
			{"data_dir", func(p string, v *yaml.Node) { d.str(p, v, &c.DataDir) }},
			{"dialplan", func(p string, v *yaml.Node) { d.str(p, v, &c.Dialplan) }},
			{"nice", func(p string, v *yaml.Node) {
				if n, ok := d.integer(p, v, -20, 19, niceExpected); ok {
					c.Nice = int(n)
				}
			}},
			{"webrtc", func(p string, v *yaml.Node) { d.webrtc(p, v, &c.WebRTC) }},
			{"sip", func(p string, v *yaml.Node) {
				d.mapping(p, v, []field{
					{"udp", func(p string, v *yaml.Node) { d.texts(p, v, &c.SIP.UDP) }},
					{"tcp", func(p string, v *yaml.Node) { d.texts(p, v, &c.SIP.TCP) }},
					{"tls", func(p string, v *yaml.Node) { d.texts(p, v, &c.SIP.TLS) }},
					{"media_ip", func(p string, v *yaml.Node) { d.str(p, v, &c.SIP.MediaIP) }},
					{"rtp_bind", func(p string, v *yaml.Node) { d.str(p, v, &c.SIP.RTPBind) }},
					{"rtp_port_min", func(p string, v *yaml.Node) { d.port(p, v, &c.SIP.RTPPortMin) }},
					{"rtp_port_max", func(p string, v *yaml.Node) { d.port(p, v, &c.SIP.RTPPortMax) }},
					{"realm", func(p string, v *yaml.Node) { d.str(p, v, &c.SIP.Realm) }},
					{"digest_algorithms", func(p string, v *yaml.Node) { d.texts(p, v, &c.SIP.DigestAlgorithms) }},
					{"connections_per_address", func(p string, v *yaml.Node) { d.count(p, v, &c.SIP.ConnectionsPerAddress) }},
				})
			}},
			{"lobby", func(p string, v *yaml.Node) {
				d.mapping(p, v, []field{
					{"timeout", func(p string, v *yaml.Node) { d.duration(p, v, &c.Lobby.Timeout) }},
				})
			}},
			{"auth", func(p string, v *yaml.Node) { d.auth(p, v, &c.Auth) }},
			{"log", func(p string, v *yaml.Node) {
				d.mapping(p, v, []field{
					{"level", func(p string, v *yaml.Node) { d.str(p, v, &c.Log.Level) }},
					{"format", func(p string, v *yaml.Node) { d.str(p, v, &c.Log.Format) }},
				})
			}},
			{"materials", func(p string, v *yaml.Node) { d.materials(p, v, &c.Materials) }},
		})
	}
	for _, is := range c.issues() {
		if d.relatedFailed(is) {
			continue // the decoding problem already explains it
		}
		n := d.locate(is.path)
		line, col := yamlcheck.Position(n)
		d.Problems = append(d.Problems, &Problem{
			File: filename, Line: line, Column: col,
			Path: is.path, Message: is.message, Expected: is.expected,
		})
	}
	if err := d.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// relatedFailed reports whether a key the issue is about, or one inside or
// around it, failed to decode (and so kept a default the admin did not choose).
func (d *decoder) relatedFailed(is issue) bool {
	for failed := range d.failed {
		for _, p := range append([]string{is.path}, is.related...) {
			if within(p, failed) || within(failed, p) {
				return true
			}
		}
	}
	return false
}

// within reports whether path is inner or inside it ("a.b" is within "a").
func within(path, inner string) bool {
	if inner == "" {
		return false // the whole document: a syntax error, handled by parse
	}
	if path == inner {
		return true
	}
	if len(path) > len(inner) && path[:len(inner)] == inner {
		c := path[len(inner)]
		return c == '.' || c == '['
	}
	return false
}

func (d *decoder) http(path string, n *yaml.Node, h *HTTP) {
	d.mapping(path, n, []field{
		{"listen", func(p string, v *yaml.Node) { d.str(p, v, &h.Listen) }},
		{"public_url", func(p string, v *yaml.Node) { d.str(p, v, &h.PublicURL) }},
		{"allowed_origins", func(p string, v *yaml.Node) { d.texts(p, v, &h.AllowedOrigins) }},
		{"trusted_proxies", func(p string, v *yaml.Node) { d.texts(p, v, &h.TrustedProxies) }},
		{"tls", func(p string, v *yaml.Node) { d.tls(p, v, &h.TLS) }},
	})
}

func (d *decoder) tls(path string, n *yaml.Node, t *TLS) {
	redirectSet := false
	d.mapping(path, n, []field{
		{"cert_file", func(p string, v *yaml.Node) { d.str(p, v, &t.CertFile) }},
		{"key_file", func(p string, v *yaml.Node) { d.str(p, v, &t.KeyFile) }},
		{"self_signed", func(p string, v *yaml.Node) { d.boolean(p, v, &t.SelfSigned) }},
		{"acme_hosts", func(p string, v *yaml.Node) { d.texts(p, v, &t.ACMEHosts) }},
		{"acme_email", func(p string, v *yaml.Node) { d.str(p, v, &t.ACMEEmail) }},
		{"acme_cache_dir", func(p string, v *yaml.Node) { d.str(p, v, &t.ACMECacheDir) }},
		{"redirect_listen", func(p string, v *yaml.Node) {
			redirectSet = true
			d.str(p, v, &t.RedirectListen)
		}},
	})
	if len(t.ACMEHosts) > 0 && !redirectSet {
		t.RedirectListen = DefaultRedirectListen
	}
}

func (d *decoder) webrtc(path string, n *yaml.Node, w *WebRTC) {
	d.mapping(path, n, []field{
		{"public_ips", func(p string, v *yaml.Node) { d.texts(p, v, &w.PublicIPs) }},
		{"ice_networks", func(p string, v *yaml.Node) { d.texts(p, v, &w.ICENetworks) }},
		{"udp_port_min", func(p string, v *yaml.Node) { d.port(p, v, &w.UDPPortMin) }},
		{"udp_port_max", func(p string, v *yaml.Node) { d.port(p, v, &w.UDPPortMax) }},
		{"udp_port", func(p string, v *yaml.Node) { d.port(p, v, &w.UDPPort) }},
		{"include_loopback", func(p string, v *yaml.Node) { d.boolean(p, v, &w.Loopback) }},
		{"phone_codec", func(p string, v *yaml.Node) { d.str(p, v, &w.PhoneCodec) }},
		{"ice_servers", func(p string, v *yaml.Node) {
			d.list(p, v, func(ip string, item *yaml.Node) {
				var s ICEServer
				d.iceServer(ip, item, &s)
				w.ICEServers = append(w.ICEServers, s)
			}, func() { w.ICEServers = nil })
		}},
	})
}

func (d *decoder) iceServer(path string, n *yaml.Node, s *ICEServer) {
	d.mapping(path, n, []field{
		{"urls", func(p string, v *yaml.Node) {
			// Like the browser's RTCIceServer.urls: one URL or a list.
			if v.Kind == yaml.ScalarNode {
				var u string
				d.str(p, v, &u)
				s.URLs = []string{u}
				return
			}
			d.texts(p, v, &s.URLs)
		}},
		{"username", func(p string, v *yaml.Node) { d.str(p, v, &s.Username) }},
		{"credential", func(p string, v *yaml.Node) { d.str(p, v, &s.Credential) }},
	})
}

func (d *decoder) auth(path string, n *yaml.Node, a *Auth) {
	d.mapping(path, n, []field{
		{"session_lifetime", func(p string, v *yaml.Node) { d.duration(p, v, &a.SessionLifetime) }},
		{"join_failures", func(p string, v *yaml.Node) { d.count(p, v, &a.JoinFailures) }},
		{"join_window", func(p string, v *yaml.Node) { d.duration(p, v, &a.JoinWindow) }},
		{"login_failures", func(p string, v *yaml.Node) { d.count(p, v, &a.LoginFailures) }},
		{"login_window", func(p string, v *yaml.Node) { d.duration(p, v, &a.LoginWindow) }},
	})
}
