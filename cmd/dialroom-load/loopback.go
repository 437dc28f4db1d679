package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// This machine must never send load anywhere but itself. Every path out is
// checked: the base URL (literal 127.0.0.0/8 or ::1 only, "localhost" is
// pinned to 127.0.0.1 rather than resolved), every TCP connection the HTTP and
// WebSocket clients make (loopbackDialer), redirects, and ICE (peer.go gathers
// and accepts loopback candidates only).

// errNotLoopback explains the refusal once.
var errNotLoopback = errors.New("dialroom-load only connects to loopback addresses (127.0.0.0/8 or ::1)")

// loopbackBaseURL checks a server URL and returns it as scheme://host:port
// with no path. Only http is accepted: TLS adds nothing on loopback.
func loopbackBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--url %q: %w", raw, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("--url %q: only http:// URLs are supported (loopback needs no TLS)", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("--url %q: user information is not allowed; use --login", raw)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1" // pinned, not resolved: /etc/hosts could say otherwise
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return nil, fmt.Errorf("--url %q: %w", raw, errNotLoopback)
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(ip.Unmap().String(), port)}, nil
}

// isLoopbackIP reports whether ip is in 127.0.0.0/8 or is ::1.
func isLoopbackIP(ip net.IP) bool { return ip.IsLoopback() }

// loopbackDialer refuses, at connect time, every address that is not loopback,
// whatever resolved it.
func loopbackDialer() *net.Dialer {
	return &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !ap.Addr().Unmap().IsLoopback() {
				return fmt.Errorf("refused %s connection to %s: %w", network, address, errNotLoopback)
			}
			return nil
		},
	}
}

// newHTTPClient returns a client that only reaches loopback, ignores proxy
// settings from the environment (a proxy would carry the traffic elsewhere),
// follows no redirects and keeps cookies when withJar is set (the operator's
// session).
func newHTTPClient(withJar bool) *http.Client {
	d := loopbackDialer()
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	c := &http.Client{
		Transport: tr,
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the API never redirects; do not chase one
		},
	}
	if withJar {
		c.Jar, _ = cookiejar.New(nil) // New never fails without options
	}
	return c
}
