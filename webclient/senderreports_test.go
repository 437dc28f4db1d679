package webclient

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// rtcpSink records what a peer's interceptor writes.
type rtcpSink struct {
	mu    sync.Mutex
	pkts  [][]rtcp.Packet
	calls int
}

func (s *rtcpSink) Write(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pkts = append(s.pkts, pkts)
	s.calls++
	return 0, nil
}

func (s *rtcpSink) reports() [][]rtcp.Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]rtcp.Packet(nil), s.pkts...)
}

// testReportPeer returns reports that no goroutine runs, reading the time
// from now, and one peer of it writing into sink.
func testReportPeer(now func() time.Time) (*senderReports, *srPeer, *rtcpSink) {
	r := &senderReports{now: now}
	for i := range r.slots {
		r.slots[i] = map[*srPeer]struct{}{}
	}
	i, _ := r.NewInterceptor("")
	p := i.(*srPeer)
	sink := &rtcpSink{}
	p.BindRTCPWriter(sink)
	return r, p, sink
}

var discardRTP = interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil })

// TestSenderReport: a stream's report counts its packets and payload
// octets, maps the report's NTP time onto the RTP clock from the last
// packet sent, and a stream that sent nothing, or was unbound, is not
// reported; all of one peer's reports go in one compound packet.
func TestSenderReport(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	now := t0
	r, p, sink := testReportPeer(func() time.Time { return now })
	audio := p.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, ClockRate: 48000}, discardRTP)
	video := p.BindLocalStream(&interceptor.StreamInfo{SSRC: 8, ClockRate: 90000}, discardRTP)
	p.BindLocalStream(&interceptor.StreamInfo{SSRC: 9, ClockRate: 8000}, discardRTP) // never sends
	for k := range 3 {
		now = t0.Add(time.Duration(k) * 20 * time.Millisecond)
		audio.Write(&rtp.Header{SSRC: 7, Timestamp: 1000 + uint32(k)*960}, make([]byte, 10), nil)
	}
	video.Write(&rtp.Header{SSRC: 8, Timestamp: 4294967000}, make([]byte, 1000), nil)

	now = t0.Add(1040 * time.Millisecond) // 1 s after the last audio packet
	p.report(now)
	got := sink.reports()
	if len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("reports %v, want one compound packet of two sender reports", got)
	}
	bySSRC := map[uint32]*rtcp.SenderReport{}
	for _, pk := range got[0] {
		sr := pk.(*rtcp.SenderReport)
		bySSRC[sr.SSRC] = sr
	}
	a, v := bySSRC[7], bySSRC[8]
	if a == nil || v == nil {
		t.Fatalf("reports for %v, want SSRCs 7 and 8", bySSRC)
	}
	if a.PacketCount != 3 || a.OctetCount != 30 || a.RTPTime != 1000+2*960+48000 || a.NTPTime != ntpTime(now) {
		t.Errorf("audio report %+v, want 3 packets, 30 octets, RTP time %d", a, 1000+2*960+48000)
	}
	// 1 s at 90 kHz after a timestamp about to wrap: it wraps.
	if want := uint32(4294967000 + 90000 - 1<<32); v.PacketCount != 1 || v.OctetCount != 1000 || v.RTPTime != want {
		t.Errorf("video report %+v, want 1 packet, 1000 octets, RTP time %d", v, want)
	}

	p.UnbindLocalStream(&interceptor.StreamInfo{SSRC: 8})
	p.report(now)
	if got := sink.reports(); len(got) != 2 || len(got[1]) != 1 || got[1][0].(*rtcp.SenderReport).SSRC != 7 {
		t.Errorf("after unbinding SSRC 8: %v, want the audio report alone", got[len(got)-1])
	}
	p.Close()
	for _, slot := range r.slots {
		if _, ok := slot[p]; ok {
			t.Error("a closed peer is still on the reporting goroutine's list")
		}
	}
}

// TestNTPTime: the Unix epoch is 2,208,988,800 s after NTP's, and half a
// second is half of the fraction's range.
func TestNTPTime(t *testing.T) {
	if got, want := ntpTime(time.Unix(0, 0)), uint64(2208988800)<<32; got != want {
		t.Errorf("ntpTime(epoch) = %#x, want %#x", got, want)
	}
	if got, want := ntpTime(time.Unix(1, 500_000_000)), (uint64(2208988801)<<32)|1<<31; got != want {
		t.Errorf("ntpTime(1.5 s) = %#x, want %#x", got, want)
	}
}

// TestSenderReportsSchedule: the one goroutine reports every peer about
// once per interval, and none after the peer closed.
func TestSenderReportsSchedule(t *testing.T) {
	r := newSenderReports(nil)
	defer r.Close()
	var peers []*srPeer
	var sinks []*rtcpSink
	for k := range 3 {
		i, _ := r.NewInterceptor("")
		p := i.(*srPeer)
		sink := &rtcpSink{}
		p.BindRTCPWriter(sink)
		w := p.BindLocalStream(&interceptor.StreamInfo{SSRC: uint32(k + 1), ClockRate: 48000}, discardRTP)
		w.Write(&rtp.Header{SSRC: uint32(k + 1)}, []byte{1}, nil)
		peers, sinks = append(peers, p), append(sinks, sink)
	}
	time.Sleep(senderReportInterval + 200*time.Millisecond)
	for k, s := range sinks {
		if n := len(s.reports()); n < 1 || n > 2 {
			t.Errorf("peer %d: %d reports in 1.2 s, want 1 or 2", k, n)
		}
	}
	peers[0].Close()
	before := len(sinks[0].reports())
	time.Sleep(senderReportInterval + 200*time.Millisecond)
	if n := len(sinks[0].reports()); n != before {
		t.Errorf("a closed peer got %d more reports", n-before)
	}
	if n := len(sinks[1].reports()); n < 2 {
		t.Errorf("an open peer: %d reports in 2.4 s, want at least 2", n)
	}
}
