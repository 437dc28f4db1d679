package webclient

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// TestTWCCPeer: packets carrying the transport-wide sequence number are
// recorded as they are read; feedback goes out once the peer's interval
// has passed since the first, covers what arrived, and is not repeated
// while nothing new arrives; a stream without the extension is left alone.
func TestTWCCPeer(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	now := t0
	f := &twccFeedback{now: func() time.Time { return now }, peers: map[*twccPeer]struct{}{}}
	i, _ := f.factory(&feedbackPace{}).NewInterceptor("")
	p := i.(*twccPeer)
	sink := &rtcpSink{}
	p.BindRTCPWriter(sink)

	const extID = 3
	info := &interceptor.StreamInfo{SSRC: 5, RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: sdp.TransportCCURI, ID: extID}}}
	var next []byte
	src := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, next), a, nil
	})
	r := p.BindRemoteStream(info, src)
	if plain := p.BindRemoteStream(&interceptor.StreamInfo{SSRC: 6}, src); plain == nil {
		t.Fatal("a stream without the extension got no reader")
	}
	for seq := range uint16(5) {
		h := rtp.Header{Version: 2, SSRC: 5, SequenceNumber: 100 + seq}
		tcc, _ := (&rtp.TransportCCExtension{TransportSequence: 1000 + seq}).Marshal()
		if err := h.SetExtension(extID, tcc); err != nil {
			t.Fatal(err)
		}
		next, _ = (&rtp.Packet{Header: h, Payload: []byte{1}}).Marshal()
		if _, _, err := r.Read(make([]byte, 1500), nil); err != nil {
			t.Fatal(err)
		}
		now = now.Add(20 * time.Millisecond)
	}
	p.maybeSend(t0.Add(200 * time.Millisecond)) // before 250 ms after the first packet
	if n := len(sink.reports()); n != 0 {
		t.Fatalf("%d feedback packets before the interval passed", n)
	}
	p.maybeSend(t0.Add(250 * time.Millisecond))
	got := sink.reports()
	if len(got) != 1 || len(got[0]) != 1 {
		t.Fatalf("feedback %v, want one packet", got)
	}
	cc, ok := got[0][0].(*rtcp.TransportLayerCC)
	if !ok || cc.MediaSSRC != 5 || cc.BaseSequenceNumber != 1000 || cc.PacketStatusCount != 5 {
		t.Fatalf("feedback %+v, want the 5 packets from transport sequence 1000 of SSRC 5", got[0][0])
	}
	p.maybeSend(t0.Add(time.Second))
	if n := len(sink.reports()); n != 1 {
		t.Errorf("%d feedback packets with nothing new, want still 1", n)
	}
	p.Close()
	if len(f.peers) != 0 {
		t.Error("a closed peer is still on the feedback goroutine's list")
	}
}
