package webclient

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// countFeedback counts the TWCC feedback packets arriving at the client's
// senders (pion routes each to the sender of its media SSRC).
func countFeedback(t *testing.T, client *webrtc.PeerConnection) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	for _, s := range client.GetSenders() {
		go func() {
			for {
				pkts, _, err := s.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if _, ok := p.(*rtcp.TransportLayerCC); ok {
						n.Add(1)
					}
				}
			}
		}()
	}
	return &n
}

// feedbackRate is how many TWCC feedback packets per second the client got
// over window, once media flowed.
func feedbackRate(n *atomic.Int64, window time.Duration) float64 {
	before := n.Load()
	time.Sleep(window)
	return float64(n.Load()-before) / window.Seconds()
}

// A browser publishing only its microphone gets TWCC feedback every 250 ms
// (as Chrome's own receiver would send it), one publishing a camera every
// 100 ms (pion's default, which sent 10/s to every browser).
func TestFeedbackPace(t *testing.T) {
	t.Run("microphone", func(t *testing.T) {
		r := newCostRoom(t)
		b, mic := newTestBrowser(t, serverAPI(t), clientAPI(t), r.member())
		fb := countFeedback(t, b.client)
		b.subscribe()
		stop := make(chan struct{})
		defer close(stop)
		go feed(stop, nil, []*webrtc.TrackLocalStaticRTP{mic})
		waitFor(t, "feedback", func() bool { return fb.Load() > 2 })
		rate := feedbackRate(fb, 2*time.Second)
		t.Logf("%.1f feedback packets/s for a microphone", rate)
		if rate < 2 || rate > 6 {
			t.Errorf("%.1f feedback packets/s for a microphone alone, want ~4 (every 250 ms)", rate)
		}
	})
	t.Run("camera", func(t *testing.T) {
		r := newCostRoom(t)
		b, mic := newTestBrowser(t, serverAPI(t), clientAPI(t), r.member())
		camera, err := webrtc.NewTrackLocalStaticRTP(vp8Capability(), "camera", "mic")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.client.AddTrack(camera); err != nil {
			t.Fatal(err)
		}
		fb := countFeedback(t, b.client)
		b.subscribe()
		stop := make(chan struct{})
		defer close(stop)
		go feed(stop, nil, []*webrtc.TrackLocalStaticRTP{mic})
		go every20ms(stop, func(seq uint16) {
			_ = camera.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: ptVP8, SequenceNumber: seq,
				Timestamp: uint32(seq) * 1800, Marker: true}, Payload: []byte{0x10, 0, 0x9d, 0x01, 0x2a}})
		})
		waitFor(t, "video published", func() bool {
			var video bool
			b.do(func() { video = b.p.pace.video.Load() })
			return video
		})
		rate := feedbackRate(fb, 2*time.Second)
		t.Logf("%.1f feedback packets/s with a camera", rate)
		if rate < 7 {
			t.Errorf("%.1f feedback packets/s with a camera, want ~10 (every 100 ms)", rate)
		}
	})
}
