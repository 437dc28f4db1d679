package sip

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
)

// TestDialoutOffer: our offer lists the trunk's codecs in its order with
// telephone-event (G.711 laws, and G.722 and Opus when listed, followed by
// the G.711 laws when the list has none), and reads back with the parser
// answers go through.
func TestDialoutOffer(t *testing.T) {
	g722 := offerFormat{wide: wideFormat{name: wideG722, pt: 9}}
	opus := offerFormat{wide: wideFormat{name: wideOpus, pt: dialoutOpusPT}}
	pcmu, pcma := offerFormat{law: media.PCMU}, offerFormat{law: media.PCMA}
	for _, tc := range []struct {
		codecs []string
		want   []offerFormat
		line   string
	}{
		{nil, []offerFormat{pcmu, pcma}, "RTP/AVP 0 8 101"},
		{[]string{"pcma", "PCMU"}, []offerFormat{pcma, pcmu}, "RTP/AVP 8 0 101"},
		{[]string{"opus", "PCMA"}, []offerFormat{opus, pcma}, "RTP/AVP 111 8 101"},
		{[]string{"opus"}, []offerFormat{opus, pcmu, pcma}, "RTP/AVP 111 0 8 101"},
		{[]string{"G722", "PCMU"}, []offerFormat{g722, pcmu}, "RTP/AVP 9 0 101"},
	} {
		t.Run(strings.Join(tc.codecs, ","), func(t *testing.T) {
			trunk := &dialplan.Trunk{Codecs: tc.codecs}
			got := trunkCodecs(trunk)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("codecs %v, want %v", got, tc.want)
			}
			s := sdpSession{id: 42, local: netip.MustParseAddrPort("192.0.2.1:31000")}
			body, err := s.offer(got, dialoutDTMF)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(body), tc.line) {
				t.Errorf("offer lacks %q:\n%s", tc.line, body)
			}
			o, err := parseOfferWith(body, trunkCodecChoice(trunk))
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			if (offerFormat{law: o.Codec, wide: o.Wide}) != normalized(got[0]) || o.DTMF != dialoutDTMF || o.Remote.String() != "192.0.2.1:31000" || o.Direction != dirSendRecv {
				t.Errorf("offer reads back as %+v\n%s", o, body)
			}
			if !strings.Contains(string(body), "a=ptime:20") {
				t.Errorf("no ptime 20:\n%s", body)
			}
		})
	}
}

// normalized is f as parseOfferWith reports it: a wideband format leaves
// the law at its zero value.
func normalized(f offerFormat) offerFormat {
	if f.wide.name != "" {
		f.law = media.G711(0)
	}
	return f
}
