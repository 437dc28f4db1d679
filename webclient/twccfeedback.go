package webclient

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// twccTick is how often the feedback goroutine looks for peers due for
// feedback; both intervals (feedbackpace.go) are multiples of it.
const twccTick = 50 * time.Millisecond

// twccFeedback sends every peer's transport-wide congestion control
// feedback (TWCC, draft-holmer-rmcat-transport-wide-cc-extensions) from one
// goroutine for the whole server, at each peer's own pace (feedbackPace).
// It replaces pion's twcc.SenderInterceptor, which runs a goroutine and a
// ticker per peer connection and hands it every packet the browser sends
// over a channel, a wake-up per packet: here a packet's arrival is
// recorded where it is read, under the peer's lock, and nothing wakes
// until feedback is due.
//
// Create it with newTWCCFeedback and Close it after the peer connections.
type twccFeedback struct {
	now func() time.Time

	mu    sync.Mutex
	peers map[*twccPeer]struct{}

	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// newTWCCFeedback starts the feedback goroutine.
func newTWCCFeedback() *twccFeedback {
	f := &twccFeedback{now: time.Now, peers: make(map[*twccPeer]struct{}),
		quit: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

// Close stops the feedback goroutine and waits for it; later calls do
// nothing.
func (f *twccFeedback) Close() {
	f.closeOnce.Do(func() { close(f.quit) })
	<-f.done
}

// factory returns the interceptor factory of one peer connection, paced by
// pace.
func (f *twccFeedback) factory(pace *feedbackPace) interceptor.Factory {
	return twccPeerFactory{f, pace}
}

type twccPeerFactory struct {
	feedback *twccFeedback
	pace     *feedbackPace
}

// NewInterceptor registers a peer's interceptor with the feedback
// goroutine until its Close.
func (pf twccPeerFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	f := pf.feedback
	p := &twccPeer{feedback: f, pace: pf.pace, start: f.now(),
		recorder: twcc.NewRecorder(rand.Uint32())} // the feedback's sender SSRC, as pion picks it
	f.mu.Lock()
	f.peers[p] = struct{}{}
	f.mu.Unlock()
	return p, nil
}

func (f *twccFeedback) run() {
	var peers []*twccPeer
	everyTick(twccTick, f.quit, f.done, func() {
		peers = keysOf(&f.mu, f.peers, peers)
		now := f.now()
		for _, p := range peers {
			p.maybeSend(now)
		}
	})
}

// twccPeer is one peer connection's TWCC interceptor: its streams' readers
// record arrivals, the feedback goroutine sends what was recorded.
type twccPeer struct {
	rtcpOut
	feedback *twccFeedback
	pace     *feedbackPace
	start    time.Time // arrival times are microseconds since

	mu       sync.Mutex
	recorder *twcc.Recorder // not safe for concurrent use: mu
	recorded bool           // something since the last feedback
	due      time.Time      // the next feedback's time
}

// BindRemoteStream records the transport-wide sequence number and arrival
// of each packet of a stream that carries one.
func (p *twccPeer) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI && e.ID > 0 && e.ID < 256 {
			id = uint8(e.ID)
		}
	}
	if id == 0 {
		return reader
	}
	ssrc := info.SSRC
	return onHeader(reader, func(h *rtp.Header) {
		if ext := h.GetExtension(id); ext != nil {
			var tcc rtp.TransportCCExtension
			if tcc.Unmarshal(ext) == nil {
				p.record(ssrc, tcc.TransportSequence, p.feedback.now())
			}
		}
	})
}

// Close takes the peer off the feedback goroutine's list.
func (p *twccPeer) Close() error {
	f := p.feedback
	f.mu.Lock()
	delete(f.peers, p)
	f.mu.Unlock()
	return nil
}

func (p *twccPeer) record(ssrc uint32, seq uint16, at time.Time) {
	p.mu.Lock()
	p.recorder.Record(ssrc, seq, at.Sub(p.start).Microseconds())
	if !p.recorded && p.due.IsZero() {
		p.due = at.Add(p.pace.interval()) // the first feedback, one interval after the first packet
	}
	p.recorded = true
	p.mu.Unlock()
}

// maybeSend writes the feedback for what arrived since the last one, if
// the peer's interval has passed. Feedback goroutine.
func (p *twccPeer) maybeSend(now time.Time) {
	w := p.rtcpWriter()
	p.mu.Lock()
	if w == nil || !p.recorded || now.Before(p.due) {
		p.mu.Unlock()
		return
	}
	// Half a tick early counts as due: ticks jitter, the interval should not
	// stretch by a whole tick because of it.
	p.due = now.Add(p.pace.interval() - twccTick/2)
	p.recorded = false
	pkts := p.recorder.BuildFeedbackPacket()
	p.mu.Unlock()
	if len(pkts) > 0 {
		_, _ = w.Write(pkts, nil) // a closed connection: the peer is closing too
	}
}
