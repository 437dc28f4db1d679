package sip

import (
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestInfoKey: the INFO bodies phones and gateways send for a key.
func TestInfoKey(t *testing.T) {
	for _, tt := range []struct {
		ctype, body string
		key         byte
		code        int
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5', 0},
		{"application/dtmf-relay", "signal= *\nduration=100", '*', 0},
		{"Application/DTMF-Relay; charset=utf-8", "Duration=250\r\nSignal=#\r\n", '#', 0},
		{"application/dtmf-relay", "Signal=10\r\n", '*', 0},
		{"application/dtmf-relay", "Signal=11\r\n", '#', 0},
		{"application/dtmf-relay", "Signal=d", 'D', 0},
		{"application/dtmf", "7", '7', 0},
		{"application/dtmf", "11\r\n", '#', 0},
		{"application/dtmf-relay", "Duration=160", 0, 400},
		{"application/dtmf-relay", "Signal=x", 0, 400},
		{"application/dtmf", "55", 0, 400},
		{"text/plain", "5", 0, 415},
		{"", "", 0, 415},
	} {
		req := sip.NewRequest(sip.INFO, sip.Uri{User: "x", Host: "127.0.0.1"})
		if tt.ctype != "" {
			req.AppendHeader(sip.NewHeader("Content-Type", tt.ctype))
		}
		req.SetBody([]byte(tt.body))
		key, code := infoKey(req)
		if key != tt.key || code != tt.code {
			t.Errorf("%s %q: key %q, status %d; want %q, %d", tt.ctype, tt.body, key, code, tt.key, tt.code)
		}
	}
}

// An INFO for no call of ours is 481 (RFC 3261 §12.2.2), before its body
// is looked at.
func TestInfoOutsideDialog(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32290})
	u := newRawUA(t, h)
	u.cseq++
	u.sendRaw("INFO sip:x@" + u.srv.String() + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:" + strconv.Itoa(u.port()) + ";branch=z9hG4bK-info-1\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.2>;tag=a1\r\nTo: <sip:x@127.0.0.1>;tag=nosuch\r\nCall-ID: info-outside\r\n" +
		"CSeq: 1 INFO\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 8\r\n\r\nSignal=5")
	u.expectResponse(481, "INFO outside a dialog")
}
