package webclient

import (
	"slices"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/transport/v5/packetio"
)

// The browser's sender reports are read as they arrive in an RTCP buffer
// (nobody reads that RTCP through pion), and stay buffered for a reader as
// before; compounds that start with a receiver report are not parsed, and
// RTCP about our audio senders is dropped unseen.
func TestRTCPRouterReadsSenderReports(t *testing.T) {
	r := newRTCPRouter()
	var seen []uint32
	r.onSenderReports(func(pkts []rtcp.Packet) {
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				seen = append(seen, sr.SSRC)
			}
		}
	})
	r.dropRTCP(7) // one of our audio senders
	sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 42, NTPTime: 1 << 40, Reports: []rtcp.ReceptionReport{{SSRC: 7}}},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 42, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}}}}}})
	rr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 43, Reports: []rtcp.ReceptionReport{{SSRC: 9}}}})

	browser := r.buffer(packetio.RTCPBufferPacket, 42)
	if _, err := browser.Write(sr); err != nil {
		t.Fatal(err)
	}
	if _, err := browser.Write(rr); err != nil {
		t.Fatal(err)
	}
	if _, err := r.buffer(packetio.RTCPBufferPacket, 7).Write(sr); err != nil { // dropped
		t.Fatal(err)
	}
	if !slices.Equal(seen, []uint32{42}) {
		t.Errorf("sender reports seen %v, want [42] once", seen)
	}
	got := make([]byte, 1500)
	n, err := browser.Read(got)
	if err != nil || !slices.Equal(got[:n], sr) {
		t.Errorf("the buffer gave %d bytes (%v), want the sender report compound kept for a reader", n, err)
	}
}
