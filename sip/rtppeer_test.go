package sip

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialroom/dialroom/media"
)

// rtpPeer is the caller's media, played by the test: a UDP socket whose
// port the SIPp offer names. It records what it receives (decoded PCMU) and,
// once the server's first packet shows where to send, sends a tone.
type rtpPeer struct {
	conn *net.UDPConn
	done chan struct{}
	dtmf *media.DTMFSender // keys to send as RFC 4733 events (payload type 101)
	law  media.G711        // what it sends and decodes; PCMU unless newRTPPeerLaw
	// remote hands the send goroutine where to send: the server's first
	// packet's source, or sendTo's address, whichever comes first.
	remote chan *net.UDPAddr
	// stopped ends the sending (stopSending), as a phone whose call ended.
	stopped atomic.Bool

	mu       sync.Mutex
	inband   []int16 // audio to send instead of the tone, 160 samples a packet (playInband)
	events   []byte  // RFC 4733 event codes received (payload type 101), one per packet
	received []int16
	marks    map[string]int // sample index at named moments
}

func newRTPPeer(t *testing.T, sendHz float64) *rtpPeer {
	t.Helper()
	return newRTPPeerLaw(t, sendHz, media.PCMU)
}

// newRTPPeerLaw is newRTPPeer speaking law.
func newRTPPeerLaw(t *testing.T, sendHz float64, law media.G711) *rtpPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dtmf, err := media.NewDTMFSender(media.DTMFSenderConfig{ClockRate: media.G711Rate})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPeer{conn: conn, done: make(chan struct{}), marks: map[string]int{}, dtmf: dtmf, law: law, remote: make(chan *net.UDPAddr, 1)}
	var wg sync.WaitGroup
	wg.Go(func() { p.read(p.remote) })
	wg.Go(func() { p.send(t, p.remote, sendHz) })
	t.Cleanup(func() {
		close(p.done)
		conn.Close()
		wg.Wait()
	})
	return p
}

// sendTo starts sending at once, to addr, without waiting for a packet
// (a relay sends nothing before the other side does).
func (p *rtpPeer) sendTo(addr *net.UDPAddr) {
	select {
	case p.remote <- addr:
	default:
	}
}

// stopSending stops the peer's audio for good.
func (p *rtpPeer) stopSending() { p.stopped.Store(true) }

func (p *rtpPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *rtpPeer) read(remote chan<- *net.UDPAddr) {
	buf := make([]byte, 1500)
	pcm := make([]int16, 1500)
	first := true
	for {
		n, from, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		if first {
			first = false
			select {
			case remote <- from:
			default: // sendTo came first
			}
		}
		if buf[1]&0x7f == 101 && n > 12 {
			p.mu.Lock()
			p.events = append(p.events, buf[12])
			p.mu.Unlock()
			continue
		}
		if buf[1]&0x7f != p.law.PayloadType() {
			continue
		}
		k := p.law.Decode(pcm, buf[12:n])
		p.mu.Lock()
		p.received = append(p.received, pcm[:k]...)
		p.mu.Unlock()
	}
}

// send sends a PCMU tone every 20 ms to where the server's RTP came from
// (symmetric RTP), until the test ends.
func (p *rtpPeer) send(t *testing.T, remote <-chan *net.UDPAddr, hz float64) {
	var to *net.UDPAddr
	select {
	case to = <-remote:
	case <-p.done:
		return
	}
	tone, err := media.NewTone(media.G711Rate, -12, hz)
	if err != nil {
		t.Error(err)
		return
	}
	frame := make([]int16, 160)
	pkt := make([]byte, 12+160)
	pkt[0] = 0x80
	var seq uint16
	var ts uint32
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		_, _ = tone.Read(frame)
		p.mu.Lock()
		if len(p.inband) > 0 {
			clear(frame)
			p.inband = p.inband[copy(frame, p.inband):]
		}
		p.mu.Unlock()
		out := pkt
		pkt[1] = 0
		pktTS := ts
		if n, marker, evTS, ok := p.dtmf.Next(ts, pkt[12:]); ok {
			// RFC 4733 §2.5.1: the event replaces this frame's audio.
			pkt[1], pktTS, out = 101, evTS, pkt[:12+n]
			if marker {
				pkt[1] |= 0x80
			}
		} else {
			pkt[1] = p.law.PayloadType()
			p.law.Encode(pkt[12:], frame)
		}
		pkt[2], pkt[3] = byte(seq>>8), byte(seq)
		pkt[4], pkt[5], pkt[6], pkt[7] = byte(pktTS>>24), byte(pktTS>>16), byte(pktTS>>8), byte(pktTS)
		pkt[8], pkt[9], pkt[10], pkt[11] = 0x12, 0x34, 0x56, 0x78
		if p.stopped.Load() {
			return
		}
		if _, err := p.conn.WriteToUDP(out, to); err != nil {
			return
		}
		seq++
		ts += 160
	}
}

func (p *rtpPeer) mark(name string) {
	p.mu.Lock()
	p.marks[name] = len(p.received)
	p.mu.Unlock()
}

// between returns the samples received between two marks ("" is the end).
func (p *rtpPeer) between(from, to string) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, b := p.marks[from], len(p.received)
	if to != "" {
		b = p.marks[to]
	}
	return append([]int16(nil), p.received[a:b]...)
}

// eventCodes returns the telephone-event codes received so far.
func (p *rtpPeer) eventCodes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.events...)
}

func (p *rtpPeer) samples() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.received)
}

// playInband sends audio (8 kHz) in place of the tone until it is played
// out: keys as in-band tones.
func (p *rtpPeer) playInband(audio []int16) {
	p.mu.Lock()
	p.inband = append(p.inband, audio...)
	p.mu.Unlock()
}
