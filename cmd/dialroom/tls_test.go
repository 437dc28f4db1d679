package main

import (
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom/configs"
)

// TestSelfSignedTLS: with a self-signed certificate the server speaks HTTPS,
// warns with the certificate's fingerprint, marks the session cookie Secure, and
// its plain-HTTP listener redirects to HTTPS.
func TestSelfSignedTLS(t *testing.T) {
	srv := startServer(t, "", func(c *configs.Config) {
		c.HTTP.TLS.SelfSigned = true
		c.HTTP.TLS.RedirectListen = "127.0.0.1:0"
	})
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("URL %s is not https", srv.URL())
	}
	if !strings.Contains(srv.logs.String(), "SELF-SIGNED") || !strings.Contains(srv.logs.String(), "sha256=") {
		t.Errorf("no self-signed warning with fingerprint in the log:\n%s", srv.logs)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the point of the test: a self-signed certificate
	}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(srv.URL()+"/api/login", "application/json",
		strings.NewReader(`{"login":"admin","password":"`+srv.AdminPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login over https: %d", resp.StatusCode)
	}
	var secure bool
	for _, c := range resp.Cookies() {
		if c.Name == "dialroom_session" {
			secure = c.Secure && c.HttpOnly
		}
	}
	if !secure {
		t.Errorf("session cookie is not Secure+HttpOnly: %v", resp.Header["Set-Cookie"])
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("no HSTS header over TLS")
	}

	resp, err = client.Get("http://" + srv.redirectAddr + "/join?n=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := srv.URL() + "/join?n=1"; resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("plain HTTP: %d Location %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}
