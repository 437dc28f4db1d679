package sip

import (
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestReferTarget: what a blind transfer's Refer-To names, and the statuses
// of what is not one.
func TestReferTarget(t *testing.T) {
	for _, tt := range []struct {
		referTo []string
		target  string
		code    int
	}{
		{[]string{"<sip:202@192.0.2.1>"}, "202", 0},
		{[]string{"sip:09012345678@192.0.2.1;user=phone"}, "09012345678", 0},
		{[]string{`"Bob" <sip:202@192.0.2.1:5060;transport=udp>`}, "202", 0},
		{[]string{"<sip:202@192.0.2.1?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>"}, "", 501},
		{nil, "", 400},
		{[]string{"<sip:202@a>", "<sip:203@a>"}, "", 400},
		{[]string{"<tel:202>"}, "", 400},
	} {
		req := sip.NewRequest(sip.REFER, sip.Uri{User: "x", Host: "127.0.0.1"})
		for _, v := range tt.referTo {
			req.AppendHeader(sip.NewHeader("Refer-To", v))
		}
		target, code, _ := referTarget(req)
		if target != tt.target || code != tt.code {
			t.Errorf("Refer-To %q: %q, %d; want %q, %d", tt.referTo, target, code, tt.target, tt.code)
		}
	}
}

// A REFER for no call of ours is 481.
func TestReferOutsideDialog(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 34140})
	u := newRawUA(t, h)
	u.sendRaw("REFER sip:x@" + u.srv.String() + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:" + strconv.Itoa(u.port()) + ";branch=z9hG4bK-refer-1\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.2>;tag=a1\r\nTo: <sip:x@127.0.0.1>;tag=nosuch\r\nCall-ID: refer-outside\r\n" +
		"CSeq: 1 REFER\r\nRefer-To: <sip:202@127.0.0.1>\r\nContent-Length: 0\r\n\r\n")
	u.expectResponse(481, "REFER outside a dialog")
}
