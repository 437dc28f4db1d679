package webclient

import (
	"slices"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/packetio"
)

// reportLog is an rtcpReports that records what the router hands it.
type reportLog struct {
	senders []uint32 // sender reports, by their SSRC
	blocks  []uint32 // reception report blocks, by the SSRC they are about
}

func (l *reportLog) senderReport(sr *rtcp.SenderReport) { l.senders = append(l.senders, sr.SSRC) }

func (l *reportLog) receptionReports(blocks []rtcp.ReceptionReport) {
	for _, b := range blocks {
		l.blocks = append(l.blocks, b.SSRC)
	}
}

// The browser's reports are read as they arrive in the RTCP buffers (nobody
// reads that RTCP through pion) and stay buffered for a reader as before.
// pion writes each packet to the buffer of every SSRC it is about: a sender
// report is noted wherever it lands, its reception reports once (in the
// sender's buffer), a receiver report's once (in its first block's buffer,
// here one of our audio senders', whose RTCP is otherwise dropped).
func TestRTCPRouterReadsReports(t *testing.T) {
	r := newRTCPRouter()
	var log reportLog
	r.onReports(&log)
	r.dropRTCP(7) // one of our audio senders
	sr, _ := (&rtcp.SenderReport{SSRC: 42, NTPTime: 1 << 40, Reports: []rtcp.ReceptionReport{{SSRC: 7}}}).Marshal()
	rr, _ := (&rtcp.ReceiverReport{SSRC: 43, Reports: []rtcp.ReceptionReport{{SSRC: 7}, {SSRC: 9}}}).Marshal()
	sdes, _ := (&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 42,
		Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}}}}}).Marshal()

	browser, ours, video := r.buffer(packetio.RTCPBufferPacket, 42), r.buffer(packetio.RTCPBufferPacket, 7), r.buffer(packetio.RTCPBufferPacket, 9)
	for _, w := range []struct {
		to  interface{ Write([]byte) (int, error) }
		pkt []byte
	}{{browser, sr}, {ours, sr}, {browser, sdes}, {ours, rr}, {video, rr}} {
		if _, err := w.to.Write(w.pkt); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(log.senders, []uint32{42, 42}) || !slices.Equal(log.blocks, []uint32{7, 7, 9}) {
		t.Errorf("sender reports %v, blocks %v; want [42 42] and [7 7 9] (each block once)", log.senders, log.blocks)
	}
	got := make([]byte, 1500)
	n, err := browser.Read(got)
	if err != nil || !slices.Equal(got[:n], sr) {
		t.Errorf("the buffer gave %d bytes (%v), want the sender report kept for a reader", n, err)
	}
}

// A reception report about one of our streams that echoes our sender
// report tells the round-trip time (RFC 3550 §6.4.1); blocks about other
// streams, or without an echo, or echoing the future, tell none.
func TestReceptionReportRTT(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var rtts []time.Duration
	reports := newSenderReports(func(d time.Duration) { rtts = append(rtts, d) })
	defer reports.Close()
	reports.now = func() time.Time { return now }
	i, _ := reports.NewInterceptor("")
	p := i.(*srPeer)
	p.BindLocalStream(&interceptor.StreamInfo{SSRC: 7, ClockRate: 48000}, interceptor.RTPWriterFunc(
		func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	mid := func(t time.Time) uint32 { return uint32(ntpTime(t) >> 16) }
	sentAt := now.Add(-50 * time.Millisecond) // our sender report
	p.receptionReports([]rtcp.ReceptionReport{
		{SSRC: 7, LastSenderReport: mid(sentAt), Delay: 655}, // held 10 ms by the browser: 40 ms
		{SSRC: 8, LastSenderReport: mid(sentAt), Delay: 655}, // not ours
		{SSRC: 7}, // no echo yet
		{SSRC: 7, LastSenderReport: mid(now.Add(time.Second))}, // from the future
	})
	if len(rtts) != 1 || rtts[0] < 39*time.Millisecond || rtts[0] > 41*time.Millisecond {
		t.Errorf("round-trip times %v, want one of 40 ms", rtts)
	}
}
