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
		c.SIP.TLS = []string{"127.0.0.1:0"}
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

	// SIP over TLS uses the same certificate and answers OPTIONS.
	sipAddr := srv.SIP.TLSAddrs()[0].String()
	conn, err := tls.Dial("tcp", sipAddr, &tls.Config{InsecureSkipVerify: true}) // self-signed, as above
	if err != nil {
		t.Fatalf("SIP over TLS: %v", err)
	}
	if got, want := conn.ConnectionState().PeerCertificates[0].Raw, srv.tlsConf.Certificates; len(want) == 0 || string(got) != string(want[0].Certificate[0]) {
		t.Error("SIP over TLS does not present the HTTPS certificate")
	}
	local := conn.LocalAddr().String()
	_, _ = conn.Write([]byte("OPTIONS sip:" + sipAddr + ";transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS " + local + ";branch=z9hG4bK-1\r\n" +
		"From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:t@127.0.0.1>\r\nCall-ID: tls-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, _ := conn.Read(buf)
	conn.Close()
	if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Errorf("OPTIONS over TLS answered %q", buf[:n])
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
