package webclient

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// senderReportInterval is how often each stream we send a browser gets an
// RTCP sender report: pion's default, and RFC 3550 §6.2's minimum of 5 s
// scaled down as WebRTC does (browsers use the reports for audio/video
// sync and round-trip times).
const senderReportInterval = time.Second

// senderReportSlots splits the interval: each tick reports one slot's
// peers, so a server with many browsers writes its reports spread over the
// second rather than in one burst.
const senderReportSlots = 10

// senderReports sends the RTCP sender reports (RFC 3550 §6.4.1) of every
// peer connection, and its reception reports (receiverreports.go), from one
// goroutine for the whole server. It replaces pion's report.SenderInterceptor
// and report.ReceiverInterceptor, which run a goroutine and a ticker each per
// peer connection for the peer's whole life (docs/benchmarks.md). It is the interceptor factory; each peer
// connection's interceptor (srPeer) records what its streams send and is
// reported on its slot's tick.
//
// Create it with newSenderReports and Close it after the peer connections.
type senderReports struct {
	now func() time.Time
	rtt func(time.Duration) // nil: round-trip times are not kept

	mu    sync.Mutex
	slots [senderReportSlots]map[*srPeer]struct{}
	next  int // the slot the next peer joins (round robin)

	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// newSenderReports starts the reporting goroutine.
// rtt, if not nil, gets every round-trip time to a browser that its
// reception reports about our streams tell (RFC 3550 §6.4.1).
func newSenderReports(rtt func(time.Duration)) *senderReports {
	r := &senderReports{now: time.Now, rtt: rtt, quit: make(chan struct{}), done: make(chan struct{})}
	for i := range r.slots {
		r.slots[i] = make(map[*srPeer]struct{})
	}
	go r.run()
	return r
}

// Close stops the reporting goroutine and waits for it. Later calls do
// nothing (the server may be closed twice).
func (r *senderReports) Close() {
	r.closeOnce.Do(func() { close(r.quit) })
	<-r.done
}

// NewInterceptor is interceptor.Factory's: the interceptor of one peer
// connection, reported from now until its Close.
func (r *senderReports) NewInterceptor(string) (interceptor.Interceptor, error) {
	p := &srPeer{reports: r, streams: make(map[uint32]*srStream), remote: make(map[uint32]*rrStream),
		ssrc: rand.Uint32()} // the reception reports' sender SSRC, as pion picks it
	r.mu.Lock()
	p.slot = r.next
	r.next = (r.next + 1) % senderReportSlots
	r.slots[p.slot][p] = struct{}{}
	r.mu.Unlock()
	return p, nil
}

// factory returns the interceptor factory for one peer connection whose
// RTCP buffers router hands out (rtcpbuf.go): the browser's sender reports
// reach the peer's reception reports from there as they arrive, with no
// reader.
func (r *senderReports) factory(router *rtcpRouter) interceptor.Factory {
	return srFactory{reports: r, router: router}
}

type srFactory struct {
	reports *senderReports
	router  *rtcpRouter
}

func (f srFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	i, err := f.reports.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	f.router.onReports(i.(*srPeer))
	return i, nil
}

func (r *senderReports) run() {
	var peers []*srPeer
	slot := 0
	everyTick(senderReportInterval/senderReportSlots, r.quit, r.done, func() {
		peers = keysOf(&r.mu, r.slots[slot], peers)
		slot = (slot + 1) % senderReportSlots
		now := r.now()
		for _, p := range peers {
			p.report(now)
		}
	})
}

// everyTick calls fn every interval until quit closes, then closes done;
// the reporting goroutines' loop.
func everyTick(interval time.Duration, quit <-chan struct{}, done chan<- struct{}, fn func()) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
			fn()
		}
	}
}

// keysOf returns the keys of set, read under mu, in dst's storage (its
// old contents cleared first, so no stale pointer stays reachable).
func keysOf[K comparable](mu *sync.Mutex, set map[K]struct{}, dst []K) []K {
	clear(dst)
	dst = dst[:0]
	mu.Lock()
	defer mu.Unlock()
	for k := range set {
		dst = append(dst, k)
	}
	return dst
}

// srPeer is one peer connection's sender-report interceptor. The streams
// are written by the peer's senders' goroutines and read by the reporting
// goroutine.
type srPeer struct {
	rtcpOut
	reports *senderReports
	slot    int

	ssrc    uint32 // the sender SSRC of our reception reports
	mu      sync.Mutex
	streams map[uint32]*srStream // what we send, by SSRC
	remote  map[uint32]*rrStream // what the browser sends, by SSRC
}

// rtcpOut is interceptor.NoOp keeping the RTCP writer the chain binds, for
// an interceptor whose RTCP goes out from a shared goroutine (the reports
// here, TWCC feedback). Its own BindRTCPWriter shadows NoOp's.
type rtcpOut struct {
	interceptor.NoOp
	mu     sync.Mutex
	writer interceptor.RTCPWriter // nil until bound
}

// BindRTCPWriter keeps the writer.
func (s *rtcpOut) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	s.mu.Lock()
	s.writer = w
	s.mu.Unlock()
	return w
}

// rtcpWriter returns the bound writer, nil before.
func (s *rtcpOut) rtcpWriter() interceptor.RTCPWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writer
}

// BindLocalStream counts what the stream sends.
func (p *srPeer) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	s := &srStream{ssrc: info.SSRC, clockRate: float64(info.ClockRate)}
	p.mu.Lock()
	p.streams[info.SSRC] = s
	p.mu.Unlock()
	now := p.reports.now
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		s.sent(now(), h.Timestamp, len(payload))
		return w.Write(h, payload, a)
	})
}

// UnbindLocalStream stops reporting the stream.
func (p *srPeer) UnbindLocalStream(info *interceptor.StreamInfo) {
	p.mu.Lock()
	delete(p.streams, info.SSRC)
	p.mu.Unlock()
}

// Close takes the peer off the reporting goroutine's list.
func (p *srPeer) Close() error {
	r := p.reports
	r.mu.Lock()
	delete(r.slots[p.slot], p)
	r.mu.Unlock()
	return nil
}

// report writes one sender report per stream that has sent anything (RFC
// 3550 §6.4: only senders report as senders), then the reception reports
// of the streams the browser sent, in one compound packet (§6.1).
func (p *srPeer) report(now time.Time) {
	w := p.rtcpWriter()
	p.mu.Lock()
	var pkts []rtcp.Packet
	for _, s := range p.streams {
		if sr := s.report(now); sr != nil {
			pkts = append(pkts, sr)
		}
	}
	pkts = append(pkts, p.receiverReportsLocked(now)...)
	p.mu.Unlock()
	if w != nil && len(pkts) > 0 {
		_, _ = w.Write(pkts, nil) // a closed connection: the peer is closing too
	}
}

// srStream is what one local stream sent: the counts and the last packet's
// RTP timestamp with the time it was sent, to map "now" onto the stream's
// RTP clock.
type srStream struct {
	ssrc      uint32
	clockRate float64

	mu       sync.Mutex
	packets  uint32 // RFC 3550 §6.4.1: wrap around
	octets   uint32 // payload octets
	lastRTP  uint32
	lastSent time.Time
}

func (s *srStream) sent(now time.Time, ts uint32, payload int) {
	s.mu.Lock()
	s.packets++
	s.octets += uint32(payload) //nolint:gosec // an RTP payload fits
	s.lastRTP, s.lastSent = ts, now
	s.mu.Unlock()
}

// report returns the stream's sender report at now, nil before its first
// packet. The RTP timestamp is the last packet's advanced by the time
// since it was sent, at the stream's clock rate: the RTP time that
// corresponds to the NTP timestamp (RFC 3550 §6.4.1).
func (s *srStream) report(now time.Time) *rtcp.SenderReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.packets == 0 {
		return nil
	}
	return &rtcp.SenderReport{
		SSRC:        s.ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     s.lastRTP + uint32(now.Sub(s.lastSent).Seconds()*s.clockRate),
		PacketCount: s.packets,
		OctetCount:  s.octets,
	}
}

// ntpTime is t as a 64-bit NTP timestamp (RFC 5905 §6): seconds since
// 1900 in the high 32 bits, the fraction of a second in the low.
func ntpTime(t time.Time) uint64 {
	const unixToNTP = 2208988800                               // seconds from 1900 to 1970
	secs := uint64(t.Unix() + unixToNTP)                       //nolint:gosec // after 1970
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second) //nolint:gosec // < 1e9
	return secs<<32 | frac
}
