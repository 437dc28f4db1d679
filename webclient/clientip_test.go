package webclient

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"),
	}}}
	for _, c := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct client", "192.0.2.7:5000", nil, "192.0.2.7"},
		{"direct client forging the header", "192.0.2.7:5000", []string{"198.51.100.1"}, "192.0.2.7"},
		{"behind our proxy", "127.0.0.1:40000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a client's forged entry is left of the real one", "127.0.0.1:40000", []string{"203.0.113.9, 198.51.100.1"}, "198.51.100.1"},
		{"two of our proxies", "127.0.0.1:40000", []string{"198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
		{"headers repeated", "127.0.0.1:40000", []string{"203.0.113.9", "198.51.100.1"}, "198.51.100.1"},
		{"only proxies", "127.0.0.1:40000", []string{"10.1.2.3"}, "127.0.0.1"},
		{"malformed entry", "127.0.0.1:40000", []string{"not-an-ip"}, "127.0.0.1"},
		{"proxy without header", "127.0.0.1:40000", nil, "127.0.0.1"},
		{"IPv6 client", "[::1]:40000", nil, "::1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, h := range c.xff {
			r.Header.Add("X-Forwarded-For", h)
		}
		if got := s.clientIP(r); got != c.want {
			t.Errorf("%s: clientIP = %q, want %q", c.name, got, c.want)
		}
	}
	noProxies := &Server{}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := noProxies.clientIP(r); got != "127.0.0.1" {
		t.Errorf("with no trusted proxy the header must be ignored, got %q", got)
	}
}
