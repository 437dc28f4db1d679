package bridge

import (
	"testing"
	"time"

	"github.com/dialroom/dialroom/media"
)

// A browser that says it is silent (RFC 6464 audio level) holds no Opus
// decoder: none before it first talks, one while it talks and through short
// pauses, none again after decoderIdleAfter of silence.
func TestBrowserDecoderOnlyForTalkers(t *testing.T) {
	jb, err := media.NewJitterBuffer(media.JitterConfig{ClockRate: 48000})
	if err != nil {
		t.Fatal(err)
	}
	m := &Member{}
	p := &audioPart{member: m, track: &Track{spec: TrackSpec{Kind: KindAudio, AudioLevelExtID: 1}}, jb: jb,
		in: make([]int16, WidebandFrameSamples), jbuf: make([]byte, media.DefaultJitterMaxPayload), vad: newVAD()}
	now := time.Unix(1000, 0)
	read := func() { p.readBrowser(now.UnixNano(), now, PhoneFrameSamples) }

	read()
	if p.dec != nil {
		t.Fatal("a browser that never talked has a decoder")
	}
	m.lastVoice.Store(now.UnixNano()) // a voiced packet arrived
	read()
	if p.dec == nil || p.decRate != 8000 {
		t.Fatalf("a talking browser's decoder %v at %d Hz, want one at 8000", p.dec, p.decRate)
	}
	now = now.Add(2 * time.Second) // a pause in the conversation
	read()
	if p.dec == nil {
		t.Fatal("the decoder was dropped in a 2 s pause")
	}
	now = now.Add(decoderIdleAfter)
	read()
	if p.dec != nil || p.decRate != 0 {
		t.Fatalf("after %v of silence the decoder is kept (%d Hz)", decoderIdleAfter+2*time.Second, p.decRate)
	}
}
