package webclient

import (
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
)

// How often a browser gets transport-wide congestion control feedback
// (TWCC) about the packets it sends us. The receiver chooses: libwebrtc's
// own receiver (RemoteEstimatorProxy) spends about 5 % of the stream's
// bitrate on feedback, clamped to one report every 50–250 ms, so for a
// microphone alone (Opus, ~32 kbit/s) it reports every 250 ms. pion reports
// every 100 ms whatever is sent; with only microphones in a room (phone
// rooms: 2 browsers per 8 phones) its feedback loop was 6 % of the server's
// CPU, most of it the RTCP writes (docs/benchmarks.md). The feedback is
// sent from one goroutine for all peers (twccfeedback.go).
const (
	audioFeedbackInterval = 250 * time.Millisecond
	// videoFeedbackInterval is pion's default, kept once the browser sends
	// video: its bandwidth estimate then steers the camera's bitrate.
	videoFeedbackInterval = 100 * time.Millisecond
)

// feedbackPace is one peer's TWCC feedback interval: audioFeedbackInterval
// until the browser publishes video, videoFeedbackInterval from then on
// (for the rest of the connection: a camera turned off and on again should
// not start from a slow estimate). videoPublished is called from the
// track's reading goroutine, interval from the feedback goroutine
// (twccfeedback.go).
type feedbackPace struct{ video atomic.Bool }

// videoPublished switches the pace to videoFeedbackInterval.
func (f *feedbackPace) videoPublished() { f.video.Store(true) }

// interval is the time between two feedback packets now.
func (f *feedbackPace) interval() time.Duration {
	if f.video.Load() {
		return videoFeedbackInterval
	}
	return audioFeedbackInterval
}

// chainFactory makes the interceptors every peer shares (a registry's
// chain) one factory, so that a peer's own registry can put per-peer
// interceptors (its TWCC feedback with its feedbackPace) around them.
type chainFactory struct{ shared *interceptor.Registry }

// NewInterceptor implements interceptor.Factory: the chain built for a peer
// connection is one interceptor.
func (c chainFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	return c.shared.Build(id)
}
