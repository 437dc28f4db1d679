package sip

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
)

// TestDialoutOffer: our offer lists the trunk's G.711 laws in its order with
// telephone-event, and reads back with the parser answers go through.
func TestDialoutOffer(t *testing.T) {
	for _, tc := range []struct {
		codecs []string
		want   []media.G711
	}{
		{nil, []media.G711{media.PCMU, media.PCMA}},
		{[]string{"pcma", "PCMU"}, []media.G711{media.PCMA, media.PCMU}},
		{[]string{"opus", "PCMA"}, []media.G711{media.PCMA}},
		{[]string{"opus"}, []media.G711{media.PCMU, media.PCMA}},
	} {
		t.Run(strings.Join(tc.codecs, ","), func(t *testing.T) {
			got := trunkCodecs(&dialplan.Trunk{Codecs: tc.codecs})
			if len(got) != len(tc.want) {
				t.Fatalf("codecs %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("codecs %v, want %v", got, tc.want)
				}
			}
			s := sdpSession{id: 42, local: netip.MustParseAddrPort("192.0.2.1:31000")}
			body, err := s.offer(got, dialoutDTMF)
			if err != nil {
				t.Fatal(err)
			}
			o, err := parseOffer(body)
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if o.Codec != got[0] || o.DTMF != dialoutDTMF || o.Remote.String() != "192.0.2.1:31000" || o.Direction != dirSendRecv {
				t.Errorf("offer reads back as %+v\n%s", o, body)
			}
			if !strings.Contains(string(body), "a=ptime:20") {
				t.Errorf("no ptime 20:\n%s", body)
			}
		})
	}
}
