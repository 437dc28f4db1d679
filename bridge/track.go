package bridge

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Media kinds of a Track.
const (
	KindAudio = "audio"
	KindVideo = "video"
)

// Codec describes the RTP payload of a track, in the terms SDP uses.
type Codec struct {
	MimeType    string // e.g. "audio/opus", "video/VP8"
	ClockRate   uint32
	Channels    uint16
	SDPFmtpLine string
}

// TrackSpec describes a track a member publishes.
type TrackSpec struct {
	Kind     string // KindAudio or KindVideo
	Codec    Codec
	StreamID string // groups a member's tracks (one MediaStream per member)
	// AudioLevelExtID is the RTP header extension id of the RFC 6464 audio level
	// on this track, 0 if absent. The room uses it for the talking indicator.
	AudioLevelExtID uint8
	// RequestKeyframe asks the publisher for a key frame (RTCP PLI, RFC 4585
	// §6.3.1). Called by subscribers' adapters when their decoder needs one; may be
	// nil for audio.
	RequestKeyframe func()
}

// RTPSink receives forwarded packets. WriteRTP is called from the publisher's
// reader goroutine and must not block for long: a slow sink slows nobody else
// only if it drops rather than waits. The packet must not be retained or
// modified after WriteRTP returns.
type RTPSink interface {
	WriteRTP(p *rtp.Packet) error
}

// Track is one media stream a member publishes, fanned out to subscribers
// without decoding.
type Track struct {
	id     string
	member *Member
	spec   TrackSpec

	subMu  sync.Mutex // serialises changes to subs
	subs   atomic.Pointer[[]*subscription]
	closed atomic.Bool

	lastKeyframeRequest atomic.Int64
}

type subscription struct {
	sink RTPSink
	dead atomic.Bool
}

// ID returns the track id, unique within the room.
func (t *Track) ID() string { return t.id }

// Member returns the publishing member.
func (t *Track) Member() *Member { return t.member }

// Spec returns what was published.
func (t *Track) Spec() TrackSpec { return t.spec }

// audio levels at or above this (in -dBov, i.e. quieter) are silence. RFC 6464
// §3: 127 is digital silence; speech typically sits between 20 and 50 -dBov.
const talkingLevelThreshold = 60

// WriteRTP forwards one packet to every subscriber. It is called by the
// publisher's single reader goroutine. Audio of a muted member is dropped here,
// so a mute takes effect within one packet.
func (t *Track) WriteRTP(p *rtp.Packet) {
	if t.closed.Load() {
		return
	}
	if t.spec.Kind == KindAudio {
		if t.member.muted.Load() {
			return
		}
		if id := t.spec.AudioLevelExtID; id != 0 {
			if ext := p.GetExtension(id); len(ext) > 0 {
				// RFC 6464 §3: V bit (voice activity) then 7 bits of -dBov.
				if ext[0]&0x7f < talkingLevelThreshold {
					t.member.lastVoice.Store(t.member.room.engine.now().UnixNano())
				}
			}
		}
	}
	subs := t.subs.Load()
	if subs == nil {
		return
	}
	for _, s := range *subs {
		if s.dead.Load() {
			continue
		}
		_ = s.sink.WriteRTP(p) // a failing sink is removed by its own adapter
	}
}

// listened reports whether anyone subscribes to the track (a browser that
// receives it), whatever that browser sends itself.
func (t *Track) listened() bool {
	subs := t.subs.Load()
	return subs != nil && len(*subs) > 0
}

// Subscribe adds sink to the track's receivers and returns a function that
// removes it. Subscribing to a closed track is a no-op.
func (t *Track) Subscribe(sink RTPSink) (unsubscribe func()) {
	s := &subscription{sink: sink}
	t.subMu.Lock()
	if !t.closed.Load() {
		var next []*subscription
		if old := t.subs.Load(); old != nil {
			next = append(next, *old...)
		}
		next = append(next, s)
		t.subs.Store(&next)
	}
	t.subMu.Unlock()
	return func() { t.unsubscribe(s) }
}

func (t *Track) unsubscribe(s *subscription) {
	s.dead.Store(true)
	t.subMu.Lock()
	defer t.subMu.Unlock()
	old := t.subs.Load()
	if old == nil {
		return
	}
	next := make([]*subscription, 0, len(*old))
	for _, o := range *old {
		if o != s {
			next = append(next, o)
		}
	}
	t.subs.Store(&next)
}

// minKeyframeInterval rate-limits PLIs towards a publisher: several subscribers
// losing the same frame would otherwise each trigger a key frame.
const minKeyframeInterval = 500 * time.Millisecond

// RequestKeyframe asks the publisher for a key frame, at most once per 500 ms.
func (t *Track) RequestKeyframe() {
	if t.spec.RequestKeyframe == nil || t.closed.Load() {
		return
	}
	now := t.member.room.engine.now().UnixNano()
	last := t.lastKeyframeRequest.Load()
	if now-last < int64(minKeyframeInterval) || !t.lastKeyframeRequest.CompareAndSwap(last, now) {
		return
	}
	t.spec.RequestKeyframe()
}

// Close unpublishes the track; every other member is told with TrackRemoved.
func (t *Track) Close() { t.member.room.unpublish(t) }

func (t *Track) closeSubscribers() {
	t.closed.Store(true)
	t.subMu.Lock()
	empty := []*subscription{}
	if old := t.subs.Swap(&empty); old != nil {
		for _, s := range *old {
			s.dead.Store(true)
		}
	}
	t.subMu.Unlock()
}
