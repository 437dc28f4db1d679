package webclient

import (
	"io"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/transport/v5/packetio"
)

// Where a peer connection's decrypted packets wait for their reader.
//
// pion's SRTP and SRTCP sessions queue every incoming stream's packets in a
// packetio.Buffer per SSRC until someone reads them; unread RTCP is kept up to
// 100 kB per SSRC (pion/srtp stream_srtcp.go), unread RTP up to 1 MB. That
// made every forwarded track cost a goroutine blocked in RTPSender.ReadRTCP
// just to keep its buffer empty, and left the RTCP nobody reads (the
// browser's sender reports on its own tracks, RTCP for SSRCs pion does not
// know) to grow towards 100 kB per SSRC over a long call.
//
// rtcpRouter is the SettingEngine.BufferFactory of one peer connection:
//   - RTCP about the server's audio senders is dropped on arrival. For Opus
//     the browser sends receiver reports and nothing the server acts on: no
//     NACK (not offered for audio), no PLI/FIR (video only), no REMB or TWCC
//     feedback (the server adds no transport-wide sequence numbers). So those
//     senders need no reader goroutine and no buffer.
//   - Other RTCP (video senders, whose reader answers NACKs and passes on key
//     frame requests; streams nobody reads) is capped at rtcpBufferLimit.
//   - RTP is buffered as pion does by default.
//   - Reports are read as they arrive (readReports), nobody reads them
//     through pion: the browser's sender reports about its own streams, for
//     our reception reports' LSR and DLSR; its reception reports about our
//     streams, for the round-trip time (RFC 3550 §6.4.1).
type rtcpRouter struct {
	mu      sync.Mutex
	drop    map[uint32]struct{} // SSRCs of this peer's audio senders
	reports rtcpReports         // the peer's RTCP reports (srPeer); nil until set
}

// rtcpReports is what the router hands the browser's reports to.
type rtcpReports interface {
	// senderReport notes the browser's sender report about its stream.
	senderReport(sr *rtcp.SenderReport)
	// receptionReports notes the browser's reports about our streams.
	receptionReports(blocks []rtcp.ReceptionReport)
}

// rtcpBufferLimit caps the RTCP queued per SSRC. A browser's RTCP compound
// for one video track (receiver report, REMB, NACK, PLI) is 50–200 bytes and
// arrives at most every few tens of milliseconds; the reader of a video sender
// empties it at once. 4 kB holds twenty or more compounds and is all that an
// unread stream can ever hold (packetio allocates 2 kB, then 4 kB).
const rtcpBufferLimit = 4 * 1000

// rtpBufferLimit is pion's own limit for queued RTP per SSRC (srtpBufferSize
// in pion/srtp): a buffer only grows while its reader falls behind, so the
// limit costs nothing in steady state and bounds a stalled reader.
const rtpBufferLimit = 1000 * 1000

func newRTCPRouter() *rtcpRouter { return &rtcpRouter{drop: map[uint32]struct{}{}} }

// dropRTCP makes RTCP about ssrc be dropped on arrival. Call it before the
// sender starts (pion opens the sender's RTCP stream on Send, after the
// answer), i.e. right after adding the transceiver.
func (r *rtcpRouter) dropRTCP(ssrc uint32) {
	r.mu.Lock()
	r.drop[ssrc] = struct{}{}
	r.mu.Unlock()
}

// forget undoes dropRTCP once the sender is gone.
func (r *rtcpRouter) forget(ssrc uint32) {
	r.mu.Lock()
	delete(r.drop, ssrc)
	r.mu.Unlock()
}

// onReports makes reports get the browser's sender and reception reports as
// they arrive.
func (r *rtcpRouter) onReports(reports rtcpReports) {
	r.mu.Lock()
	r.reports = reports
	r.mu.Unlock()
}

// readReports hands the reports in b, one RTCP packet as it arrived for
// stream ssrc, to the peer's reports; other packets are left alone
// unparsed. It runs on pion's SRTCP reader. pion writes each packet of a
// compound to the buffer of every SSRC it is about (the sender's and each
// reception report's), so a sender report is noted wherever it lands (the
// same each time), and reception reports only in one buffer: the sender's
// for an SR (the browser's own stream), the first block's for an RR (one of
// ours).
func (r *rtcpRouter) readReports(ssrc uint32, b []byte) {
	const typeSR, typeRR = 200, 201 // RFC 3550 §6.4.1, §6.4.2
	if len(b) < 8 || (b[1] != typeSR && b[1] != typeRR) {
		return
	}
	r.mu.Lock()
	reports := r.reports
	r.mu.Unlock()
	if reports == nil {
		return
	}
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, pkt := range pkts {
		switch p := pkt.(type) {
		case *rtcp.SenderReport:
			reports.senderReport(p)
			if p.SSRC == ssrc {
				reports.receptionReports(p.Reports)
			}
		case *rtcp.ReceiverReport:
			if len(p.Reports) > 0 && p.Reports[0].SSRC == ssrc {
				reports.receptionReports(p.Reports)
			}
		}
	}
}

// buffer is the peer connection's SettingEngine.BufferFactory. pion calls it
// when a stream's first packet arrives or its reader opens it.
func (r *rtcpRouter) buffer(kind packetio.BufferPacketType, ssrc uint32) io.ReadWriteCloser {
	limit := rtpBufferLimit
	if kind == packetio.RTCPBufferPacket {
		r.mu.Lock()
		_, drop := r.drop[ssrc]
		r.mu.Unlock()
		if drop {
			return &dropBuffer{closed: make(chan struct{}), ssrc: ssrc, router: r}
		}
		limit = rtcpBufferLimit
	}
	b := packetio.NewBuffer()
	b.SetLimitSize(limit)
	if kind == packetio.RTCPBufferPacket {
		return reportReadingBuffer{packetBuffer{b}, ssrc, r}
	}
	return packetBuffer{b}
}

// reportReadingBuffer is stream ssrc's RTCP buffer, which shows each
// arriving packet to its router's readReports first.
type reportReadingBuffer struct {
	packetBuffer
	ssrc   uint32
	router *rtcpRouter
}

func (b reportReadingBuffer) Write(p []byte) (int, error) {
	b.router.readReports(b.ssrc, p)
	return b.packetBuffer.Write(p)
}

func (b reportReadingBuffer) WriteWithAttributes(p []byte, a packetio.Attributes) (int, error) {
	b.router.readReports(b.ssrc, p)
	return b.packetBuffer.WriteWithAttributes(p, a)
}

// packetBuffer is packetio.Buffer as an io.ReadWriteCloser that keeps packet
// attributes, as pion/srtp wraps its default buffers (its wrapper is not
// exported). Writes to a full buffer fail with packetio.ErrFull, which srtp
// turns into a silent drop.
type packetBuffer struct{ *packetio.Buffer }

func (b packetBuffer) Read(p []byte) (int, error) {
	n, _, err := b.Buffer.Read(p, nil)
	return n, err
}

func (b packetBuffer) Write(p []byte) (int, error) { return b.Buffer.Write(p, nil) }

func (b packetBuffer) ReadWithAttributes(p []byte, a packetio.Attributes) (int, packetio.Attributes, error) {
	return b.Buffer.Read(p, a)
}

func (b packetBuffer) WriteWithAttributes(p []byte, a packetio.Attributes) (int, error) {
	return b.Buffer.Write(p, a)
}

// dropBuffer accepts and forgets every packet about one of our audio
// senders, after showing it to the router's readReports (the browser's
// reception reports about the sender). A Read (nobody should call one) waits
// for Close and then reports io.EOF, as a closed empty buffer does.
type dropBuffer struct {
	once   sync.Once
	closed chan struct{}
	ssrc   uint32
	router *rtcpRouter
}

func (d *dropBuffer) Write(p []byte) (int, error) {
	d.router.readReports(d.ssrc, p)
	return len(p), nil
}

func (d *dropBuffer) Read([]byte) (int, error) {
	<-d.closed
	return 0, io.EOF
}

func (d *dropBuffer) Close() error {
	d.once.Do(func() { close(d.closed) })
	return nil
}
