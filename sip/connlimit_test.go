package sip

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// tcpOptions sends an OPTIONS over conn and returns the status line of the
// answer ("" and the error if none came).
func tcpOptions(conn net.Conn, n int) (string, error) {
	local := conn.LocalAddr().String()
	req := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP %s;branch=z9hG4bK-limit-%d\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=limit%d\r\n"+
		"To: <sip:%s>\r\n"+
		"Call-ID: limit-%d@127.0.0.1\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n", conn.RemoteAddr(), local, n, n, conn.RemoteAddr(), n)
	_ = conn.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}

// TestConnectionsPerAddress: one address may hold ConnsPerAddress TCP
// connections; the next is closed before it is served and counted, and a
// slot given back by a close serves a new connection.
func TestConnectionsPerAddress(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 34640, connsPerAddress: 2})
	addr := h.srv.TCPAddrs()[0].String()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c1, c2 := dial(), dial()
	for i, c := range []net.Conn{c1, c2} {
		if line, err := tcpOptions(c, i); !strings.HasPrefix(line, "SIP/2.0 200") {
			t.Fatalf("connection %d within the cap: %q, %v; want 200", i+1, line, err)
		}
	}
	c3 := dial()
	_ = c3.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := c3.Read(make([]byte, 1)); err == nil || n != 0 || strings.Contains(err.Error(), "timeout") {
		t.Fatalf("the third connection read %d bytes, %v; want it closed at once", n, err)
	}
	// The count moves before the close the client saw; allow for the
	// scheduler anyway.
	for end := time.Now().Add(time.Second); h.srv.RefusedConns() == 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.srv.RefusedConns(); n != 1 {
		t.Errorf("RefusedConns() = %d, want 1", n)
	}
	c1.Close()
	// The server sees the close when its reader gets EOF: give it a moment.
	var line string
	var err error
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if line, err = tcpOptions(dial(), 9); strings.HasPrefix(line, "SIP/2.0 200") {
			break
		}
	}
	if !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("after a close, a new connection: %q, %v; want 200", line, err)
	}
}
