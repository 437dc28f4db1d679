package configs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// problems returns the text of each problem in a joined error, checking that
// every one is a *Problem.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []string
	for _, e := range errs {
		var p *Problem
		if !errors.As(e, &p) {
			t.Errorf("error %q is a %T, want *Problem", e, e)
		}
		out = append(out, e.Error())
	}
	return out
}

func TestDefaultYAML(t *testing.T) {
	c, err := Load("dialroom.yaml", DefaultYAML)
	if err != nil {
		t.Fatalf("the embedded default does not load:\n%v", err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("the embedded default differs from Default():\n got %+v\nwant %+v", c, Default())
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default() is not valid: %v", err)
	}
	a, b := Default(), Default()
	a.WebRTC.PublicIPs = append(a.WebRTC.PublicIPs, "203.0.113.7")
	a.Log.Level = "debug"
	if !reflect.DeepEqual(b, Default()) {
		t.Error("changing one Default() changed another")
	}
}

func TestDefaultDialplanYAML(t *testing.T) {
	// Package dialplan tests that it loads; here only that it is embedded.
	if !strings.Contains(string(DefaultDialplanYAML), "\nnumbering:\n") {
		t.Errorf("DefaultDialplanYAML has no numbering section:\n%s", DefaultDialplanYAML)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(c *Config) // changes Default() into the expected Config
		errs []string
	}{
		{name: "empty file", yaml: ""},
		{name: "only comments", yaml: "# nothing\n"},
		{name: "sections without values", yaml: "http:\nwebrtc:\nlog:\n"},
		{name: "key without value keeps default", yaml: "http:\n  listen:\n"},
		{
			name: "a typical production config",
			yaml: `
http:
  listen: ":443"
  public_url: "https://meet.example.com"
  allowed_origins: ["https://app.example.com"]
  tls:
    acme_hosts: [meet.example.com]
    acme_email: admin@example.com
data_dir: /var/lib/dialroom
dialplan: /etc/dialroom/dialplan.yaml
webrtc:
  public_ips: ["203.0.113.7", "2001:db8::7"]
  ice_networks: ["10.1.2.0/24", "2001:db8::7"]
  udp_port: 3478
  include_loopback: false
  phone_codec: pcmu
  ice_servers:
    - urls: "stun:stun.example.com"
    - urls: ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com"]
      username: dialroom
      credential: secret
lobby:
  timeout: 5m
auth:
  session_lifetime: 1d
  join_failures: 3
  join_window: 1h
  login_failures: 10
  login_window: 15m
log:
  level: debug
  format: json
`,
			want: func(c *Config) {
				c.HTTP = HTTP{
					Listen: ":443", PublicURL: "https://meet.example.com",
					AllowedOrigins: []string{"https://app.example.com"},
					TLS: TLS{
						ACMEHosts: []string{"meet.example.com"}, ACMEEmail: "admin@example.com",
						RedirectListen: ":80",
					},
				}
				c.DataDir = "/var/lib/dialroom"
				c.Dialplan = "/etc/dialroom/dialplan.yaml"
				c.WebRTC = WebRTC{
					PublicIPs:   []string{"203.0.113.7", "2001:db8::7"},
					ICENetworks: []string{"10.1.2.0/24", "2001:db8::7"},
					UDPPort:     3478,
					PhoneCodec:  PhoneCodecPCMU,
					ICEServers: []ICEServer{
						{URLs: []string{"stun:stun.example.com"}},
						{URLs: []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com"}, Username: "dialroom", Credential: "secret"},
					},
				}
				c.Lobby.Timeout = 5 * time.Minute
				c.Auth = Auth{SessionLifetime: 24 * time.Hour, JoinFailures: 3, JoinWindow: time.Hour, LoginFailures: 10, LoginWindow: 15 * time.Minute}
				c.Log = Log{Level: "debug", Format: "json"}
			},
		},
		{
			name: "nice",
			yaml: "nice: -10\n",
			want: func(c *Config) { c.Nice = -10 },
		},
		{
			name: "nice out of range",
			yaml: "nice: -21\n",
			errs: []string{`t.yaml:1:7: nice: -21 is out of range (expected a number from -20 (runs first) to 19 (runs last); 0 keeps the normal priority)`},
		},
		{
			name: "redirect_listen kept off with acme",
			yaml: "http:\n  tls:\n    acme_hosts: [meet.example.com]\n    redirect_listen: \"\"\n",
			want: func(c *Config) { c.HTTP.TLS.ACMEHosts = []string{"meet.example.com"} },
		},
		{
			name: "certificate files and a redirect",
			yaml: "http:\n  listen: \":8443\"\n  tls:\n    cert_file: c.pem\n    key_file: k.pem\n    redirect_listen: \":8080\"\n",
			want: func(c *Config) {
				c.HTTP.Listen = ":8443"
				c.HTTP.TLS = TLS{CertFile: "c.pem", KeyFile: "k.pem", RedirectListen: ":8080"}
			},
		},
		{
			name: "udp range",
			yaml: "webrtc:\n  udp_port_min: 40000\n  udp_port_max: 40100\n",
			want: func(c *Config) { c.WebRTC.UDPPortMin, c.WebRTC.UDPPortMax = 40000, 40100 },
		},
		{
			name: "unknown phone codec",
			yaml: "webrtc:\n  phone_codec: PCMA\n",
			errs: []string{`t.yaml:2:16: webrtc.phone_codec: unknown codec "PCMA" (expected opus or pcmu; did you mean "pcmu"?)`},
		},
		{
			name: "unknown keys with suggestions",
			yaml: "htp:\n  listen: x\nhttp:\n  listn: \":80\"\n  tls:\n    certfile: a\n",
			errs: []string{
				`t.yaml:1:1: unknown key "htp" (expected one of http, data_dir, dialplan, nice, webrtc, sip, lobby, auth, log, materials; did you mean "http"?)`,
				`t.yaml:4:3: http: unknown key "listn" (expected one of listen, public_url, allowed_origins, trusted_proxies, tls; did you mean "listen"?)`,
				`t.yaml:6:5: http.tls: unknown key "certfile" (expected one of cert_file, key_file, self_signed, acme_hosts, acme_email, acme_cache_dir, redirect_listen; did you mean "cert_file"?)`,
			},
		},
		{
			name: "wrong types",
			yaml: "http:\n  listen: 8080\n  allowed_origins: https://a.example\n  tls:\n    self_signed: yes\nwebrtc:\n  udp_port: 70000\n  include_loopback: 1\n  ice_servers: {urls: stun:x}\nlobby:\n  timeout: [10m]\nauth:\n  join_failures: 2.5\n",
			errs: []string{
				`t.yaml:2:11: http.listen: found the integer 8080 (expected text; put the value in quotes if it is meant as text)`,
				`t.yaml:3:20: http.allowed_origins: found the text "https://a.example" (expected a list)`,
				`t.yaml:5:18: http.tls.self_signed: found the text "yes" (expected true or false)`,
				`t.yaml:7:13: webrtc.udp_port: 70000 is out of range (expected a port number from 0 to 65535)`,
				`t.yaml:8:21: webrtc.include_loopback: found the integer 1 (expected true or false)`,
				`t.yaml:9:16: webrtc.ice_servers: found a mapping (expected a list)`,
				`t.yaml:11:12: lobby.timeout: found a list (expected a duration like 30s, 10m, 12h or 7d)`,
				`t.yaml:13:18: auth.join_failures: found the number 2.5 (expected a whole number)`,
			},
		},
		{
			name: "invalid values at their keys",
			yaml: "http:\n  listen: localhost\n  public_url: meet.example.com\n  allowed_origins:\n    - https://a.example/path\n    - \"*\"\nlog:\n  level: verbose\n  format: JSON\n",
			errs: []string{
				`t.yaml:2:11: http.listen: "localhost" is not host:port (expected ` + expectedListen + `)`,
				`t.yaml:3:15: http.public_url: "meet.example.com" does not start with http:// or https:// (expected a base URL like "https://meet.example.com")`,
				`t.yaml:5:7: http.allowed_origins[0]: "https://a.example/path" has a path; an origin has none (expected an origin like "https://app.example.com" or "http://localhost:3000")`,
				`t.yaml:6:7: http.allowed_origins[1]: "*" does not start with http:// or https:// (expected an origin like "https://app.example.com" or "http://localhost:3000")`,
				`t.yaml:8:10: log.level: unknown level "verbose" (expected debug, info, warn or error)`,
				`t.yaml:9:11: log.format: unknown format "JSON" (expected text or json; did you mean "json"?)`,
			},
		},
		{
			name: "tls combinations",
			yaml: "http:\n  tls:\n    cert_file: c.pem\n    self_signed: true\n    acme_hosts: [\"1.2.3.4\", \"https://x.example\", localhost]\n    acme_email: Admin <a@example.com>\n",
			errs: []string{
				`t.yaml:3:16: http.tls.cert_file: is set but key_file is not (expected cert_file and key_file together)`,
				`t.yaml:4:18: http.tls.self_signed: cannot be combined with cert_file and key_file (expected one source of certificates)`,
				`t.yaml:5:17: http.tls.acme_hosts: cannot be combined with cert_file and key_file (expected one source of certificates)`,
				`t.yaml:5:17: http.tls.acme_hosts: cannot be combined with self_signed (expected one source of certificates)`,
				`t.yaml:5:18: http.tls.acme_hosts[0]: "1.2.3.4" is an IP address; automatic certificates are for host names (expected a public host name, e.g. "meet.example.com")`,
				`t.yaml:5:29: http.tls.acme_hosts[1]: "https://x.example" is not a host name (no scheme, port or path) (expected a host name alone, e.g. "meet.example.com")`,
				`t.yaml:5:50: http.tls.acme_hosts[2]: "localhost" cannot get a public certificate (expected a public host name, e.g. "meet.example.com")`,
				`t.yaml:6:17: http.tls.acme_email: "Admin <a@example.com>" is not an e-mail address (expected an e-mail address like "admin@example.com")`,
			},
		},
		{
			name: "redirect without tls",
			yaml: "http:\n  tls:\n    redirect_listen: \":80\"\n",
			errs: []string{`t.yaml:3:22: http.tls.redirect_listen: redirects to HTTPS, but TLS is off (expected cert_file and key_file, self_signed or acme_hosts)`},
		},
		{
			name: "redirect on the listen port",
			yaml: "http:\n  listen: \"0.0.0.0:80\"\n  tls:\n    acme_hosts: [meet.example.com]\n",
			errs: []string{`t.yaml:4:5: http.tls.redirect_listen: ":80" overlaps http.listen "0.0.0.0:80" (expected a different port from http.listen)`},
		},
		{
			name: "udp ports",
			yaml: "webrtc:\n  udp_port_min: 5000\n  udp_port: 3478\n",
			errs: []string{
				`t.yaml:2:17: webrtc.udp_port_min: is set but udp_port_max is not (expected udp_port_min and udp_port_max together, or neither)`,
				`t.yaml:3:13: webrtc.udp_port: cannot be combined with udp_port_min and udp_port_max (expected either udp_port (one port for every peer) or udp_port_min and udp_port_max (a range))`,
			},
		},
		{
			name: "udp range reversed",
			yaml: "webrtc:\n  udp_port_min: 5000\n  udp_port_max: 4000\n",
			errs: []string{`t.yaml:2:17: webrtc.udp_port_min: 5000 is above udp_port_max 4000 (expected udp_port_min <= udp_port_max)`},
		},
		{
			name: "public ips and ice servers",
			yaml: "webrtc:\n  public_ips: [\"0.0.0.0\", \"203.0.113.300\", ~]\n  ice_servers:\n    - urls: [\"http://stun.example\", \"stun:\"]\n    - urls: turn:t.example\n      username: u\n    - username: x\n",
			errs: []string{
				`t.yaml:2:16: webrtc.public_ips[0]: "0.0.0.0" cannot be announced to browsers (expected the address browsers reach the server at)`,
				`t.yaml:2:27: webrtc.public_ips[1]: "203.0.113.300" is not an IP address (expected an IP address, e.g. "203.0.113.7")`,
				`t.yaml:2:44: webrtc.public_ips[2]: empty list item (expected a value)`,
				`t.yaml:4:14: webrtc.ice_servers[0].urls[0]: "http://stun.example" is not a STUN or TURN URL (expected a stun:, stuns:, turn: or turns: URL, e.g. "stun:stun.example.com:3478")`,
				`t.yaml:4:37: webrtc.ice_servers[0].urls[1]: "stun:" has no valid host (expected a stun:, stuns:, turn: or turns: URL, e.g. "stun:stun.example.com:3478")`,
				`t.yaml:5:7: webrtc.ice_servers[1]: a TURN server needs both username and credential (expected username and credential for a TURN server)`,
				`t.yaml:7:7: webrtc.ice_servers[2].urls: no URLs (expected a stun:, stuns:, turn: or turns: URL, e.g. "stun:stun.example.com:3478")`,
			},
		},
		{
			name: "ice networks",
			yaml: "webrtc:\n  ice_networks: [\"10.0.0.0/33\", \"eth0\", \"0.0.0.0\", \"fe80::1%eth0\"]\n",
			errs: []string{
				`t.yaml:2:18: webrtc.ice_networks[0]: "10.0.0.0/33" is not a network (CIDR) (expected a network or an address of this machine, e.g. "10.0.0.0/8" or "203.0.113.7")`,
				`t.yaml:2:33: webrtc.ice_networks[1]: "eth0" is neither an address nor a network (CIDR) (expected a network or an address of this machine, e.g. "10.0.0.0/8" or "203.0.113.7")`,
				`t.yaml:2:41: webrtc.ice_networks[2]: "0.0.0.0" cannot be a host candidate (expected a network or an address of this machine, e.g. "10.0.0.0/8" or "203.0.113.7")`,
				`t.yaml:2:52: webrtc.ice_networks[3]: "fe80::1%eth0" is neither an address nor a network (CIDR) (expected a network or an address of this machine, e.g. "10.0.0.0/8" or "203.0.113.7")`,
			},
		},
		{
			name: "durations and counts",
			yaml: "lobby:\n  timeout: 0\nauth:\n  session_lifetime: -1h\n  join_failures: 0\n  join_window: soon\n",
			errs: []string{
				`t.yaml:2:12: lobby.timeout: 0s is not positive (expected a positive duration like 30s, 10m, 12h or 7d)`,
				`t.yaml:4:21: auth.session_lifetime: -1h0m0s is not positive (expected a positive duration like 30s, 10m, 12h or 7d)`,
				`t.yaml:5:18: auth.join_failures: 0 is too small (expected a whole number of at least 1)`,
				`t.yaml:6:16: auth.join_window: "soon" is not a duration (expected a duration like 30s, 10m, 12h or 7d)`,
			},
		},
		{
			name: "a decoding problem hides the validation noise it causes",
			yaml: "http:\n  tls:\n    cert_file: c.pem\n    key_file: 42\n",
			errs: []string{`t.yaml:4:15: http.tls.key_file: found the integer 42 (expected text; put the value in quotes if it is meant as text)`},
		},
		{
			name: "an empty data_dir is an error",
			yaml: "data_dir: \"\"\n",
			errs: []string{`t.yaml:1:11: data_dir: is empty (expected a directory path, e.g. "./data")`},
		},
		{
			name: "structure",
			yaml: "http: [listen]\nlog:\n  level: info\n  level: debug\n  <<: {format: json}\n",
			errs: []string{
				`t.yaml:1:7: http: found a list (expected a mapping of keys to values)`,
				`t.yaml:4:3: log.level: duplicate key "level" (first at line 3, column 3) (expected each key once)`,
				`t.yaml:5:3: log: merge keys (<<) are not supported (expected the keys written out)`,
			},
		},
		{
			name: "aliases are reported where they are used",
			yaml: "log:\n  level: &l warn\n  format: *l\n",
			errs: []string{`t.yaml:3:11: log.format: unknown format "warn" (expected text or json)`},
		},
		{
			name: "syntax error",
			yaml: "http:\n  listen: [\n",
			errs: []string{`t.yaml:2:1: invalid YAML: did not find expected node content (expected well-formed YAML)`},
		},
		{
			name: "two documents",
			yaml: "log: {}\n---\nlog: {}\n",
			errs: []string{`t.yaml:2:1: a second YAML document starts here (expected a single document)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load("t.yaml", []byte(tt.yaml))
			got := problems(t, err)
			if !reflect.DeepEqual(got, tt.errs) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.errs, "\n"))
			}
			if err != nil {
				if c != nil {
					t.Error("Load returned a Config and an error")
				}
				return
			}
			want := Default()
			if tt.want != nil {
				tt.want(want)
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got  %+v\nwant %+v", c, want)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("Load accepted a Config that Validate refuses: %v", err)
			}
		})
	}
}

// TestSIPSection: the sip section decodes, can be turned off, and every
// mistake in it is reported at its key.
func TestSIPSection(t *testing.T) {
	c, err := Load("t.yaml", []byte("sip:\n  udp: [\"0.0.0.0:5070\"]\n  tcp: []\n  media_ip: 203.0.113.7\n  rtp_port_min: 30000\n  rtp_port_max: 30099\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SIP.UDP) != 1 || c.SIP.UDP[0] != "0.0.0.0:5070" || c.SIP.TCP != nil || c.SIP.MediaIP != "203.0.113.7" || c.SIP.RTPPortMin != 30000 {
		t.Errorf("decoded %+v", c.SIP)
	}
	if _, err := Load("t.yaml", []byte("sip:\n  udp: []\n  tcp: []\n  media_ip: nonsense\n")); err != nil {
		t.Errorf("with SIP off the rest of the section does not matter: %v", err)
	}
	_, err = Load("t.yaml", []byte("sip:\n  tls: [\"127.0.0.1:5061\"]\n"))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:2:8: sip.tls: SIP over TLS needs a certificate, but http.tls has none") {
		t.Errorf("SIP over TLS without a certificate: %v", err)
	}
	if c.SIP.Realm != "dialroom" || strings.Join(c.SIP.DigestAlgorithms, ",") != "MD5" {
		t.Errorf("softphone defaults: realm %q, algorithms %v; want dialroom and MD5", c.SIP.Realm, c.SIP.DigestAlgorithms)
	}
	_, err = Load("t.yaml", []byte("sip:\n  udp: [\"nohost\"]\n  media_ip: 0.0.0.0\n  rtp_bind: x\n  rtp_port_min: 3000\n  rtp_port_max: 2000\n  realm: 'a\"b'\n  digest_algorithms: [SHA-256, SHA1]\n"))
	want := []string{
		`t.yaml:2:9: sip.udp[0]:`,
		`t.yaml:3:13: sip.media_ip: "0.0.0.0" is not such an address`,
		`t.yaml:4:13: sip.rtp_bind: "x" is not an IP address`,
		`t.yaml:5:17: sip.rtp_port_min: the range 3000-2000 holds no usable RTP port`,
		`t.yaml:7:10: sip.realm: "a\"b" cannot be a digest realm`,
		`t.yaml:8:32: sip.digest_algorithms[1]: "SHA1" is not a digest algorithm we offer`,
	}
	if err == nil {
		t.Fatal("a broken sip section loaded")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}
