package sip

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzInDialogInputs feeds what a peer controls in an INFO (Content-Type
// and body) and a REFER (Refer-To) to their parsers: whatever arrives, they
// return a key and no status, or a status and no key; a target and no
// status, or a status among those the handlers send; and never panic.
func FuzzInDialogInputs(f *testing.F) {
	for _, seed := range [][2]string{
		{"application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"},
		{"application/dtmf", "11"},
		{"Application/DTMF-Relay; charset=utf-8", "signal= *"},
		{"text/plain", "5"},
		{"<sip:202@192.0.2.1>", ""},
		{"<sip:202@192.0.2.1?Replaces=abc%3Bto-tag%3D1>", ""},
		{`"Bob" <sip:09012345678@[2001:db8::1]:5060;user=phone>`, ""},
		{"<tel:+81312345678>", "Signal=\x00"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, header, body string) {
		info := sip.NewRequest(sip.INFO, sip.Uri{User: "x", Host: "127.0.0.1"})
		info.AppendHeader(sip.NewHeader("Content-Type", header))
		info.SetBody([]byte(body))
		key, code := infoKey(info)
		switch {
		case code == 0 && key == 0:
			t.Fatalf("INFO %q %q: no key and no status", header, body)
		case code != 0 && key != 0:
			t.Fatalf("INFO %q %q: key %q and status %d", header, body, key, code)
		case code != 0 && code != 400 && code != 415:
			t.Fatalf("INFO %q %q: status %d, want 400 or 415", header, body, code)
		}

		refer := sip.NewRequest(sip.REFER, sip.Uri{User: "x", Host: "127.0.0.1"})
		refer.AppendHeader(sip.NewHeader("Refer-To", header))
		target, rcode, _ := referTarget(refer)
		switch {
		case rcode == 0 && target == "":
			t.Fatalf("Refer-To %q: no target and no status", header)
		case rcode != 0 && target != "":
			t.Fatalf("Refer-To %q: target %q and status %d", header, target, rcode)
		case rcode != 0 && rcode != 400 && rcode != 501:
			t.Fatalf("Refer-To %q: status %d, want 400 or 501", header, rcode)
		}
	})
}
