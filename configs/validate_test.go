package configs

import (
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Validate works on a Config built in Go, without positions.
func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		errs   []string
	}{
		{name: "default", change: func(*Config) {}},
		{
			name: "listen on port 0 for tests",
			change: func(c *Config) {
				c.HTTP.Listen = "127.0.0.1:0"
			},
		},
		{
			name: "ipv6 listen and self-signed redirect",
			change: func(c *Config) {
				c.HTTP.Listen = "[::1]:8443"
				c.HTTP.TLS.SelfSigned = true
				c.HTTP.TLS.RedirectListen = "[::1]:8080"
			},
		},
		{
			name: "every problem at once",
			change: func(c *Config) {
				c.DataDir = ""
				c.HTTP.Listen = "127.0.0.1:http"
				c.HTTP.TLS.KeyFile = "k.pem"
				c.WebRTC.UDPPortMax = 10
				c.WebRTC.ICEServers = []ICEServer{{URLs: []string{"turns:t.example"}, Credential: "x"}}
				c.Lobby.Timeout = 0
				c.Auth.LoginFailures = -1
				c.Log.Level = ""
			},
			errs: []string{
				`data_dir: is empty (expected a directory path, e.g. "./data")`,
				`http.listen: port "http" in "127.0.0.1:http" is not a number from 0 to 65535 (expected ` + expectedListen + `)`,
				`http.tls.key_file: is set but cert_file is not (expected cert_file and key_file together)`,
				`webrtc.udp_port_max: is set but udp_port_min is not (expected udp_port_min and udp_port_max together, or neither)`,
				`webrtc.ice_servers[0]: a TURN server needs both username and credential (expected username and credential for a TURN server)`,
				`lobby.timeout: 0s is not positive (expected a positive duration like 30s, 10m, 12h or 7d)`,
				`auth.login_failures: -1 is too small (expected a whole number of at least 1)`,
				`log.level: unknown level "" (expected debug, info, warn or error)`,
			},
		},
		{
			name: "listen host",
			change: func(c *Config) {
				c.HTTP.Listen = "my host:80"
			},
			errs: []string{`http.listen: host "my host" in "my host:80" is neither an IP address nor a host name (expected ` + expectedListen + `)`},
		},
		{
			name: "public url",
			change: func(c *Config) {
				c.HTTP.PublicURL = "https://user@meet.example.com/?x=1"
				c.HTTP.AllowedOrigins = []string{"https://a.example#frag", "https://"}
			},
			errs: []string{
				`http.public_url: "https://user@meet.example.com/?x=1" contains a user name (expected a base URL like "https://meet.example.com")`,
				`http.allowed_origins[0]: "https://a.example#frag" has a query or fragment (expected an origin like "https://app.example.com" or "http://localhost:3000")`,
				`http.allowed_origins[1]: "https://" has no host (expected an origin like "https://app.example.com" or "http://localhost:3000")`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(c)
			got := problems(t, c.Validate())
			if !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.errs, "\n"))
			}
		})
	}
}

func TestTLSEnabled(t *testing.T) {
	tests := []struct {
		tls  TLS
		want bool
	}{
		{TLS{}, false},
		{TLS{RedirectListen: ":80", ACMEEmail: "a@example.com"}, false},
		{TLS{CertFile: "c", KeyFile: "k"}, true},
		{TLS{SelfSigned: true}, true},
		{TLS{ACMEHosts: []string{"meet.example.com"}}, true},
	}
	for _, tt := range tests {
		if got := tt.tls.Enabled(); got != tt.want {
			t.Errorf("%+v.Enabled() = %v, want %v", tt.tls, got, tt.want)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
	} {
		if got := (Log{Level: level}).SlogLevel(); got != want {
			t.Errorf("SlogLevel(%q) = %v, want %v", level, got, want)
		}
	}
}

func TestACMECacheDir(t *testing.T) {
	c := Default()
	if got, want := c.ACMECacheDir(), filepath.Join("data", "acme"); got != want {
		t.Errorf("ACMECacheDir() = %q, want %q", got, want)
	}
	c.HTTP.TLS.ACMECacheDir = "/var/cache/acme"
	if got := c.ACMECacheDir(); got != "/var/cache/acme" {
		t.Errorf("ACMECacheDir() = %q, want the configured one", got)
	}
}
