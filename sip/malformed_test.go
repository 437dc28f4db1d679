package sip

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// rawRequest writes a SIP request from a trunk address by hand, so a test
// can break it in ways no SIP stack would. hdrs replace or drop the default
// headers: a value of "" drops the header.
func rawRequest(method, ruri string, local *net.UDPAddr, n int, hdrs map[string]string, body string) []byte {
	def := []struct{ k, v string }{
		{"Via", fmt.Sprintf("SIP/2.0/UDP %s;branch=z9hG4bK-raw-%d;rport", local, n)},
		{"From", fmt.Sprintf("<sip:09012345678@%s>;tag=raw%d", local, n)},
		{"To", "<" + ruri + ">"},
		{"Call-ID", fmt.Sprintf("raw-%d@test", n)},
		{"CSeq", "1 " + method},
		{"Contact", fmt.Sprintf("<sip:09012345678@%s>", local)},
		{"Max-Forwards", "70"},
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, ruri)
	for _, h := range def {
		v, ok := hdrs[h.k]
		if !ok {
			v = h.v
		}
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", h.k, v)
		}
	}
	if body != "" {
		ct, ok := hdrs["Content-Type"]
		if !ok {
			ct = "application/sdp"
		}
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ct)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.Bytes()
}

// TestMalformedRequests: requests that are broken in ways that matter to
// us get their specific status, garbage gets nothing, and the server keeps
// answering afterwards with no call state left.
func TestMalformedRequests(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 31500})
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr)
	server := net.UDPAddrFromAddrPort(h.srv.UDPAddrs()[0])
	ruri := fmt.Sprintf("sip:%s@%s", liveNumber, server)
	goodSDP := string(offerPCMU)

	// status reads the first final response to the request numbered n
	// (skipping 100 Trying and answers to earlier requests); 0 means none
	// came within wait.
	status := func(n int, wait time.Duration) int {
		callID := fmt.Sprintf("Call-ID: raw-%d@test\r\n", n)
		buf := make([]byte, 4096)
		deadline := time.Now().Add(wait)
		for {
			_ = conn.SetReadDeadline(deadline)
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return 0
			}
			var code int
			if !strings.Contains(string(buf[:n]), callID) {
				continue
			}
			if _, err := fmt.Sscanf(string(buf[:n]), "SIP/2.0 %d", &code); err == nil && code >= 200 {
				return code
			}
		}
	}
	send := func(b []byte) {
		if _, err := conn.WriteToUDP(b, server); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name string
		msg  []byte
		want int // 0: no answer expected (none is checked for)
	}{
		{"INVITE without Contact", rawRequest("INVITE", ruri, local, 1, map[string]string{"Contact": ""}, goodSDP), 400},
		{"INVITE whose CSeq names BYE", rawRequest("INVITE", ruri, local, 2, map[string]string{"CSeq": "1 BYE"}, goodSDP), 400},
		{"INVITE with garbage SDP", rawRequest("INVITE", ruri, local, 3, nil, "v=0\r\nthis is not sdp\r\n"), 400},
		{"INVITE with only G.729", rawRequest("INVITE", ruri, local, 4, nil, string(offerG729Only)), 488},
		// (An INVITE without a body is a late offer: latesdp_test.go.)
		{"INVITE with a body that is not SDP", rawRequest("INVITE", ruri, local, 5, map[string]string{"Content-Type": "text/plain"}, "hello"), 415},
		{"re-INVITE for no dialog", rawRequest("INVITE", ruri, local, 6, map[string]string{"To": "<" + ruri + ">;tag=nosuch"}, goodSDP), 481},
		{"BYE for no dialog", rawRequest("BYE", ruri, local, 7, map[string]string{"To": "<" + ruri + ">;tag=nosuch"}, ""), 481},
		{"CANCEL for no INVITE", rawRequest("CANCEL", ruri, local, 8, nil, ""), 481},
		{"unsupported method", rawRequest("SUBSCRIBE", ruri, local, 9, nil, ""), 405},
		{"binary garbage", []byte("\x00\x01\x02\xffINVITE\r\n\r\n"), 0},
		{"request line only", []byte("INVITE sip:x SIP/2.0\r\n\r\n"), 0},
		{"header without colon", []byte(strings.Replace(string(rawRequest("INVITE", ruri, local, 10, nil, goodSDP)), "Max-Forwards: 70", "Max-Forwards 70", 1)), 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			send(tt.msg)
			if tt.want != 0 {
				if got := status(i+1, 2*time.Second); got != tt.want {
					t.Errorf("status %d, want %d", got, tt.want)
				}
			}
			// Whatever came before, the server still answers.
			send(rawRequest("OPTIONS", ruri, local, 100+i, nil, ""))
			if got := status(100+i, 2*time.Second); got != 200 {
				t.Errorf("OPTIONS afterwards: %d, want 200", got)
			}
		})
	}
	h.waitIdle()
	if h.engine.Stats().Waiting != 0 {
		t.Error("a malformed call reached the lobby")
	}
}
