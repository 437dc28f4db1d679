package webclient

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
)

// How often a browser gets transport-wide congestion control feedback
// (TWCC) about the packets it sends us. The receiver chooses: libwebrtc's
// own receiver (RemoteEstimatorProxy) spends about 5 % of the stream's
// bitrate on feedback, clamped to one report every 50–250 ms, so for a
// microphone alone (Opus, ~32 kbit/s) it reports every 250 ms. pion reports
// every 100 ms whatever is sent; with only microphones in a room (phone
// rooms: 2 browsers per 8 phones) its feedback loop was 6 % of the server's
// CPU, most of it the RTCP writes (docs/benchmarks.md).
const (
	audioFeedbackInterval = 250 * time.Millisecond
	// videoFeedbackInterval is pion's default, kept once the browser sends
	// video: its bandwidth estimate then steers the camera's bitrate.
	videoFeedbackInterval = 100 * time.Millisecond
)

// feedbackPace is one peer's TWCC feedback ticker: audioFeedbackInterval
// until the browser publishes video, videoFeedbackInterval from then on
// (for the rest of the connection: a camera turned off and on again should
// not start from a slow estimate).
//
// pion's TWCC interceptor creates the ticker on its loop goroutine when the
// first packet arrives; videoPublished is called from the track's reading
// goroutine. Either may come first.
type feedbackPace struct {
	mu     sync.Mutex
	video  bool
	ticker *time.Ticker // nil until pion asks for it
}

// newTicker implements twcc.TickerFactory; the interval pion asks for is
// replaced by the pace's own.
func (f *feedbackPace) newTicker(time.Duration) twcc.Ticker {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ticker = time.NewTicker(f.intervalLocked())
	return paceTicker{f.ticker}
}

// videoPublished switches the pace to videoFeedbackInterval.
func (f *feedbackPace) videoPublished() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.video {
		return
	}
	f.video = true
	if f.ticker != nil {
		f.ticker.Reset(f.intervalLocked())
	}
}

func (f *feedbackPace) intervalLocked() time.Duration {
	if f.video {
		return videoFeedbackInterval
	}
	return audioFeedbackInterval
}

// paceTicker adapts a *time.Ticker to twcc.Ticker.
type paceTicker struct{ *time.Ticker }

func (t paceTicker) Ch() <-chan time.Time { return t.C }

// chainFactory makes the interceptors every peer shares (a registry's
// chain) one factory, so that a peer's own registry can put per-peer
// interceptors (its TWCC feedback with its feedbackPace) around them.
type chainFactory struct{ shared *interceptor.Registry }

// NewInterceptor implements interceptor.Factory: the chain built for a peer
// connection is one interceptor.
func (c chainFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	return c.shared.Build(id)
}
