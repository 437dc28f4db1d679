package sip

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/dialroom/dialroom/e2e"
	"github.com/emiago/sipgo/sip"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it (its test CA).
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	ca := e2e.NewTestCA(t, "dialroom test CA")
	return ca.Issue(e2e.CertRequest{IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}).TLS, ca.Pool()
}

// TestTLSListener: with a certificate the server takes SIP over TLS (RFC
// 3261 §26.2): a client that verifies the certificate gets OPTIONS answered
// and a REGISTER challenged on the same connection, with our Contact
// naming transport=tls.
func TestTLSListener(t *testing.T) {
	cert, pool := selfSigned(t)
	h := newHarness(t, harnessOptions{portBase: 32080, tls: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	addrs := h.srv.TLSAddrs()
	if len(addrs) != 1 {
		t.Fatalf("TLS addresses %v", addrs)
	}
	conn, err := tls.Dial("tcp", addrs[0].String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake with the SIP listener: %v", err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	r := bufio.NewReader(conn)
	send := func(method, callID string, cseq int) *sip.Response {
		t.Helper()
		msg := fmt.Sprintf("%s sip:%s;transport=tls SIP/2.0\r\n"+
			"Via: SIP/2.0/TLS %s;branch=z9hG4bK-tls-%d\r\nMax-Forwards: 70\r\n"+
			"From: <sip:alice@127.0.0.1>;tag=tls%d\r\nTo: <sip:alice@127.0.0.1>\r\n"+
			"Call-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:alice@%s;transport=tls>\r\nContent-Length: 0\r\n\r\n",
			method, addrs[0], local, cseq, cseq, callID, cseq, method, local)
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var raw []byte
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				t.Fatalf("reading the answer to %s: %v (so far %q)", method, err, raw)
			}
			raw = append(raw, line...)
			if string(line) == "\r\n" {
				break
			}
		}
		m, err := sip.ParseMessage(raw)
		if err != nil {
			t.Fatalf("answer %q: %v", raw, err)
		}
		res, ok := m.(*sip.Response)
		if !ok {
			t.Fatalf("got a request: %v", m)
		}
		return res
	}
	if res := send("OPTIONS", "tls-options", 1); res.StatusCode != 200 {
		t.Errorf("OPTIONS over TLS: %d %s", res.StatusCode, res.Reason)
	}
	res := send("REGISTER", "tls-register", 2)
	if res.StatusCode != 401 || res.GetHeader("WWW-Authenticate") == nil {
		t.Errorf("REGISTER over TLS: %d %s, want a 401 challenge", res.StatusCode, res.Reason)
	}
	// A plain TCP client on the TLS port gets nothing SIP-shaped back.
	plain, err := net.Dial("tcp", addrs[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, _ = plain.Write([]byte("OPTIONS sip:x SIP/2.0\r\n\r\n"))
	_ = plain.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 64)
	if n, _ := plain.Read(buf); n > 0 && string(buf[:7]) == "SIP/2.0" {
		t.Errorf("the TLS port answered plain SIP: %q", buf[:n])
	}
}
