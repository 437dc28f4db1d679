package webclient

import (
	"math"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Receiver reports (RFC 3550 §6.4.2) about the streams a browser sends us,
// from the same goroutine and on the same slot as the peer's sender
// reports (senderreports.go), in the same compound packet. They replace
// pion's report.ReceiverInterceptor and its goroutine and ticker per peer.
// The statistics follow RFC 3550 appendix A: sequence numbers extended over
// wrap-arounds with a restart after two sequential packets far off (A.1),
// the expected and lost counts, cumulative and per interval (A.3), and the
// interarrival jitter (A.8).

// RFC 3550 A.1's bounds: a jump of fewer than maxDropout packets ahead is
// loss, one of fewer than maxMisorder behind a reordering; anything else
// is a new sequence once two packets in a row agree on it.
const (
	maxDropout  = 3000
	maxMisorder = 100
	seqMod      = 1 << 16
)

// rrStream is what one remote stream delivered. Its methods lock.
type rrStream struct {
	ssrc      uint32
	clockRate float64
	start     time.Time // arrival times count from here, in RTP units

	started       bool
	baseSeq       uint32 // the first sequence number of this sequence
	maxSeq        uint16 // the highest seen
	cycles        uint32 // wrap-arounds, times 2^16
	badSeq        uint32 // the sequence number a restart waits for
	received      uint32
	expectedPrior uint32
	receivedPrior uint32

	transit     uint32  // the last packet's arrival minus its timestamp (RTP units, mod 2^32)
	haveTransit bool    // transit is set
	jitter      float64 // RTP units

	lastSR   uint32    // the middle 32 bits of the last sender report's NTP time
	lastSRAt time.Time // when it arrived; zero: none yet
}

// packet records one packet's arrival (A.1's update_seq and A.8).
func (s *rrStream) packet(seq uint16, ts uint32, at time.Time) {
	if !s.started {
		s.started = true
		s.restart(seq)
	} else {
		switch delta := seq - s.maxSeq; {
		case delta < maxDropout: // in order, with a gap below maxDropout
			if seq < s.maxSeq {
				s.cycles += seqMod
			}
			s.maxSeq = seq
		case uint32(delta) <= seqMod-maxMisorder: // a jump: a new sequence?
			if uint32(seq) != s.badSeq {
				s.badSeq = (uint32(seq) + 1) & (seqMod - 1)
				return // not counted until the next packet confirms it
			}
			s.restart(seq)
		default: // a duplicate or a late packet: counted, nothing else moves
		}
	}
	s.received++

	arrival := uint32(int64(at.Sub(s.start).Seconds() * s.clockRate))
	transit := arrival - ts
	if s.haveTransit {
		d := float64(int32(transit - s.transit))
		s.jitter += (math.Abs(d) - s.jitter) / 16
	}
	s.transit, s.haveTransit = transit, true
}

// restart begins a new sequence at seq (A.1's init_seq).
func (s *rrStream) restart(seq uint16) {
	s.baseSeq, s.maxSeq = uint32(seq), seq
	s.badSeq = seqMod + 1 // no sequence number equals it
	s.cycles = 0
	s.received, s.expectedPrior, s.receivedPrior = 0, 0, 0
}

// senderReport records a sender report about the stream (for LSR and DLSR).
func (s *rrStream) senderReport(sr *rtcp.SenderReport, at time.Time) {
	s.lastSR = uint32(sr.NTPTime >> 16) //nolint:gosec // the middle 32 bits
	s.lastSRAt = at
}

// block returns the stream's reception report at now (A.3) and starts a
// new interval; false before its first packet.
func (s *rrStream) block(now time.Time) (rtcp.ReceptionReport, bool) {
	if !s.started {
		return rtcp.ReceptionReport{}, false
	}
	extMax := s.cycles + uint32(s.maxSeq)
	expected := extMax - s.baseSeq + 1
	lost := min(max(int64(expected)-int64(s.received), -0x800000), 0x7fffff)
	expectedInterval := expected - s.expectedPrior
	receivedInterval := s.received - s.receivedPrior
	s.expectedPrior, s.receivedPrior = expected, s.received
	var fraction uint8
	if lostInterval := int64(expectedInterval) - int64(receivedInterval); expectedInterval != 0 && lostInterval > 0 {
		fraction = uint8(lostInterval << 8 / int64(expectedInterval)) //nolint:gosec // < 256: lost ≤ expected
	}
	var dlsr uint32
	if !s.lastSRAt.IsZero() {
		dlsr = uint32(now.Sub(s.lastSRAt).Seconds() * 65536) // RFC 3550 §6.4.1: units of 1/65536 s
	}
	return rtcp.ReceptionReport{
		SSRC:               s.ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(lost) & 0xffffff, //nolint:gosec // 24-bit two's complement
		LastSequenceNumber: extMax,
		Jitter:             uint32(s.jitter),
		LastSenderReport:   s.lastSR,
		Delay:              dlsr,
	}, true
}

// BindRemoteStream records each packet of the stream for its reception
// report.
func (p *srPeer) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	now := p.reports.now
	s := &rrStream{ssrc: info.SSRC, clockRate: float64(max(info.ClockRate, 1)), start: now()}
	p.mu.Lock()
	p.remote[info.SSRC] = s
	p.mu.Unlock()
	return onHeader(reader, func(h *rtp.Header) {
		at := now()
		p.mu.Lock()
		s.packet(h.SequenceNumber, h.Timestamp, at)
		p.mu.Unlock()
	})
}

// UnbindRemoteStream stops reporting the stream.
func (p *srPeer) UnbindRemoteStream(info *interceptor.StreamInfo) {
	p.mu.Lock()
	delete(p.remote, info.SSRC)
	p.mu.Unlock()
}

// senderReport is rtcpReports': a sender report from the browser about its
// stream, as it arrived, for our reception reports about that stream (LSR,
// DLSR: RFC 3550 §6.4.1, from which the browser computes the round-trip
// time). Nobody reads that RTCP through the interceptor chain: it comes from
// the peer's RTCP buffers (rtcpRouter.readReports).
func (p *srPeer) senderReport(sr *rtcp.SenderReport) {
	at := p.reports.now()
	p.mu.Lock()
	if s := p.remote[sr.SSRC]; s != nil {
		s.senderReport(sr, at)
	}
	p.mu.Unlock()
}

// receptionReports is rtcpReports': the browser's reception reports, as
// they arrived. A block about one of our streams that echoes one of our
// sender reports (LSR) tells the round-trip time: its arrival minus LSR
// minus DLSR, in NTP's 1/65536 s (RFC 3550 §6.4.1).
func (p *srPeer) receptionReports(blocks []rtcp.ReceptionReport) {
	rtt := p.reports.rtt
	if rtt == nil {
		return
	}
	arrival := uint32(ntpTime(p.reports.now()) >> 16) //nolint:gosec // the middle 32 bits
	for _, b := range blocks {
		if b.LastSenderReport == 0 {
			continue // no sender report of ours reached the browser yet
		}
		p.mu.Lock()
		_, ours := p.streams[b.SSRC]
		p.mu.Unlock()
		if !ours {
			continue
		}
		if d := arrival - b.LastSenderReport - b.Delay; d < 1<<31 { // else negative: a stale or bogus echo
			rtt(time.Duration(d) * time.Second / 65536)
		}
	}
}

// receiverReportsLocked returns the peer's reception report blocks at now,
// at most 31 to a ReceiverReport (RFC 3550 §6.4.2's count field); p.mu held.
func (p *srPeer) receiverReportsLocked(now time.Time) []rtcp.Packet {
	var out []rtcp.Packet
	var rr *rtcp.ReceiverReport
	for _, s := range p.remote {
		b, ok := s.block(now)
		if !ok {
			continue
		}
		if rr == nil || len(rr.Reports) == 31 {
			rr = &rtcp.ReceiverReport{SSRC: p.ssrc}
			out = append(out, rr)
		}
		rr.Reports = append(rr.Reports, b)
	}
	return out
}
