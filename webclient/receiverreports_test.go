package webclient

import (
	"math"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/packetio"
)

// TestReceptionReport follows RFC 3550 appendix A through loss, the next
// interval, a wrap-around, a duplicate, a sequence restart and the
// browser's sender report.
func TestReceptionReport(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	s := &rrStream{ssrc: 9, clockRate: 8000, start: t0}
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 20 * time.Millisecond) }
	for i := range 10 {
		if seq := 100 + i; seq != 103 && seq != 107 {
			s.packet(uint16(seq), uint32(i*160), at(i))
		}
	}
	b, ok := s.block(at(10))
	if !ok || b.SSRC != 9 || b.LastSequenceNumber != 109 || b.TotalLost != 2 || b.FractionLost != 2*256/10 || b.Jitter != 0 {
		t.Fatalf("first interval: %+v, want 109, 2 lost, fraction %d, jitter 0", b, 2*256/10)
	}
	for i := 10; i < 20; i++ {
		s.packet(uint16(100+i), uint32(i*160), at(i))
	}
	if b, _ = s.block(at(20)); b.FractionLost != 0 || b.TotalLost != 2 || b.LastSequenceNumber != 119 {
		t.Errorf("second interval: %+v, want nothing more lost", b)
	}

	// A wrap-around extends the highest sequence number past 2^16.
	w := &rrStream{ssrc: 1, clockRate: 8000, start: t0}
	for i, seq := range []uint16{65534, 65535, 0, 1, 1} { // the last a duplicate
		w.packet(seq, uint32(i*160), at(i))
	}
	if b, _ := w.block(at(5)); b.LastSequenceNumber != 1<<16+1 || b.TotalLost != 0xffffff {
		// 4 expected, 5 received (a duplicate): -1 lost, in 24 bits.
		t.Errorf("across the wrap: %+v, want extended 65537 and -1 lost", b)
	}

	// A far jump counts only once a second packet confirms the new sequence.
	r := &rrStream{ssrc: 2, clockRate: 8000, start: t0}
	r.packet(10, 0, at(0))
	r.packet(40000, 160, at(1))
	if b, _ := r.block(at(2)); b.LastSequenceNumber != 10 {
		t.Errorf("after one far packet: %+v, want still 10", b)
	}
	r.packet(40001, 320, at(2))
	r.packet(40002, 480, at(3))
	if b, _ := r.block(at(4)); b.LastSequenceNumber != 40002 || b.TotalLost != 0 {
		t.Errorf("after the restart: %+v, want 40002, none lost", b)
	}

	// Interarrival jitter (A.8): arrivals alternating 0 and 10 ms late are
	// 80 RTP units off each time; the estimate converges by 1/16 per packet.
	j := &rrStream{ssrc: 3, clockRate: 8000, start: t0}
	for i := range 20 {
		late := time.Duration(i%2) * 10 * time.Millisecond
		j.packet(uint16(i), uint32(i*160), at(i).Add(late))
	}
	want := 80 * (1 - math.Pow(15.0/16, 19))
	if b, _ := j.block(at(20)); math.Abs(float64(b.Jitter)-want) > 1 {
		t.Errorf("jitter %d, want about %.1f", b.Jitter, want)
	}

	// LSR and DLSR: the middle of the sender report's NTP time, and the
	// delay since it came in 1/65536 s.
	sr := &rtcp.SenderReport{SSRC: 9, NTPTime: 0x0123456789abcdef}
	s.senderReport(sr, at(20))
	if b, _ := s.block(at(20).Add(500 * time.Millisecond)); b.LastSenderReport != 0x456789ab || b.Delay != 32768 {
		t.Errorf("LSR %#x, DLSR %d; want 0x456789ab, 32768", b.LastSenderReport, b.Delay)
	}
	if _, ok := (&rrStream{}).block(t0); ok {
		t.Error("a stream that received nothing has a report block")
	}
}

// TestPeerReceiverReports: a peer's remote stream, read through its
// interceptor, is reported with the peer's sender reports in one compound
// packet, and the browser's sender report read through its RTCP reader
// sets LSR.
func TestPeerReceiverReports(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	now := t0
	_, p, sink := testReportPeer(func() time.Time { return now })
	out := p.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, ClockRate: 8000}, discardRTP)
	out.Write(&rtp.Header{SSRC: 7}, []byte{1}, nil)

	var next []byte
	in := p.BindRemoteStream(&interceptor.StreamInfo{SSRC: 42, ClockRate: 48000},
		interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			return copy(b, next), a, nil
		}))
	for seq := range uint16(5) {
		next, _ = (&rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 42, SequenceNumber: 500 + seq, Timestamp: uint32(seq) * 960}}).Marshal()
		if _, _, err := in.Read(make([]byte, 1500), nil); err != nil {
			t.Fatal(err)
		}
	}
	// The browser's sender report arrives in the stream's RTCP buffer.
	srBytes, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 42, NTPTime: 0x0000aaaabbbb0000}})
	router := newRTCPRouter()
	router.onReports(p)
	if _, err := router.buffer(packetio.RTCPBufferPacket, 42).Write(srBytes); err != nil {
		t.Fatal(err)
	}

	now = t0.Add(time.Second)
	p.report(now)
	got := sink.reports()
	if len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("reports %v, want one compound packet: a sender report, then a receiver report", got)
	}
	if _, ok := got[0][0].(*rtcp.SenderReport); !ok {
		t.Errorf("first packet %T, want the sender report", got[0][0])
	}
	rr, ok := got[0][1].(*rtcp.ReceiverReport)
	if !ok || rr.SSRC != p.ssrc || len(rr.Reports) != 1 {
		t.Fatalf("second packet %+v, want a receiver report from the peer's SSRC with one block", got[0][1])
	}
	if b := rr.Reports[0]; b.SSRC != 42 || b.LastSequenceNumber != 504 || b.TotalLost != 0 || b.LastSenderReport != 0xaaaabbbb || b.Delay != 65536 {
		t.Errorf("block %+v, want SSRC 42 up to 504, none lost, LSR 0xaaaabbbb, DLSR 1 s", b)
	}
	p.UnbindRemoteStream(&interceptor.StreamInfo{SSRC: 42})
	p.report(now)
	if got := sink.reports(); len(got[1]) != 1 {
		t.Errorf("after unbinding the remote stream: %v, want the sender report alone", got[1])
	}
}
