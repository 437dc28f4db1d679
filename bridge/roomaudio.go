package bridge

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/media"
)

// Opus as phone legs publish it to browsers: the RTP clock is 48 kHz whatever
// the encoder's rate (RFC 7587 §4.1), so one 20 ms frame advances 960.
const (
	opusPayloadType   = 111
	opusTicksPerFrame = 960
)

// newVAD returns the voice detector for one mix participant. The adaptive
// noise floor is off: it learns any steady sound as "noise", and a steady sound
// (a tone, music on hold, a test signal) must still be heard; the level
// threshold alone is what skips silent legs.
func newVAD() *media.VAD { return media.NewVAD(media.VADConfig{Margin: -1}) }

// quietAfter is how long after a browser's last voiced packet (by its audio
// level) its audio stops being decoded for the phone mix. The voiced packet
// itself sets lastVoice on arrival, before its frame is played, so a talker's
// first frame is decoded; waiting longer than the jitter buffer's largest
// delay (media.DefaultJitterMaxDelay, 300 ms) lets the last frames of a talk
// spurt play out, and matches the talking indicator's window.
const quietAfter = talkingWindow

// decoderIdleAfter is how long a browser that says it is silent keeps its
// Opus decoder (~18 KiB of libopus state): listeners, most of a
// conference's browsers, hold none; a talker keeps its own through the
// pauses of a conversation, and after this much silence starts its next
// talk spurt on a fresh one, which Opus handles as it does a stream's start.
const decoderIdleAfter = 5 * time.Second

// A phone leg holds an Opus encoder only while it talks to browsers, and for
// encoderIdleFrames of quiet after: in a conference one or two legs talk at a
// time, and an encoder is ~48 KiB of libopus state (docs/benchmarks.md), the
// largest part of a silent leg. One second of quiet outlasts the pauses
// between words and phrases (a few hundred ms), so a talker keeps its encoder,
// and its prediction, through its own talk spurt; after a second of nothing
// sent the browsers' decoders have faded their concealment to silence, and a
// fresh encoder state at the next talk spurt is inaudible (see takeEncoder).
// Released encoders are reset and kept, up to encoderPoolSize for the whole
// engine (encoderPool), for the next talker in any room: with talkers taking
// turns the server allocates almost never. One pool, not one per room: two
// spare encoders in each of a hundred rooms were ~7 KiB per phone leg
// (docs/benchmarks.md), while hand-overs in different rooms rarely fall on
// the same moment.
const (
	encoderIdleFrames = 50 // 1 s of 20 ms frames
	encoderPoolSize   = 8  // hand-overs in a few rooms at once
)

// encoderPool holds reset 8 kHz Opus encoders that phone legs released, for
// every room of an engine. Encode workers of different rooms use it at once,
// hence the lock.
type encoderPool struct {
	mu   sync.Mutex
	free []*media.OpusEncoder
}

// get returns a pooled encoder, nil when there is none.
func (p *encoderPool) get() *media.OpusEncoder {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.free)
	if n == 0 {
		return nil
	}
	enc := p.free[n-1]
	p.free[n-1] = nil
	p.free = p.free[:n-1]
	return enc
}

// put keeps a reset encoder if the pool has room; otherwise the garbage
// collector frees it (it holds no C memory).
func (p *encoderPool) put(enc *media.OpusEncoder) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < encoderPoolSize {
		p.free = append(p.free, enc)
	}
}

// size returns how many encoders the pool holds.
func (p *encoderPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}

// Phone voice to browsers is encoded at 8 kHz (no resampling; 2.2–2.5× cheaper
// than 48 kHz, MEDIA-COSTS.md) with in-band FEC sized for 5 % loss.
//
// Complexity 1 rather than media.DefaultOpusComplexity (5): at 8 kHz Opus
// runs SILK alone, and at complexity 0–1 SILK uses its simplest pitch search,
// a shorter noise-shaping filter and no delayed-decision quantisation; the
// bitstream and bitrate are the same. BenchmarkOpusEncodePhone (media, medians
// of 5, 2026-11-26, FEC on) measured 46.7 µs per frame at cx1 against 83.0 µs
// at cx5 (1.8× less for what was a quarter of the server's CPU at 160 legs);
// the decoded signal's waveform SNR against a harmonic speech-like input, a
// crude but level-sensitive measure, was 4.85 dB at cx1 and 4.70 dB at cx5:
// nothing that the narrowband G.711 source would let a listener tell apart.
// In-band FEC is kept: it cost nothing measurable (cx1 without FEC: 48.0 µs)
// and ~3 bytes per packet (24.2 against 21.3), and browsers on lossy Wi-Fi or
// mobile paths recover a lost phone frame from the next packet.
var phoneOpusEncoder = media.OpusEncoderConfig{Rate: 8000, Complexity: 1, FEC: true, PacketLossPercent: 5}

// widebandOpusEncoder encodes a wideband leg's voice (PhoneWideband: a
// softphone on G.722 or Opus) for browsers at 16 kHz, where SILK's wideband
// mode carries what narrowband cannot (up to 8 kHz). Complexity 5, the
// media default, not 1: a room has one or two such legs (the operator's
// softphone), and their voice is the one that is worth the better search.
// Such encoders are not pooled (the engine's pool holds 8 kHz ones).
func widebandOpusEncoder() media.OpusEncoderConfig {
	return media.OpusEncoderConfig{Rate: 16000, Complexity: media.DefaultOpusComplexity, FEC: true, PacketLossPercent: 5}
}

// phoneOpusCodec is what a phone leg's track to browsers carries.
func phoneOpusCodec() Codec {
	return Codec{MimeType: "audio/opus", ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}
}

// roomAudio mixes a room's audio for its phone legs. It exists while the room
// has at least one phone leg; a room of browsers only is a pure SFU and costs
// no clock tick at all. Each tick (on a shared media clock goroutine):
//   - every phone leg's frame is read and run through its VAD;
//   - every browser's Opus is decoded once to 8 kHz (only for the phone mix);
//   - while the room has a wideband leg (PhoneWideband) all of this happens
//     at 16 kHz instead: browsers are decoded at 16 kHz, and a narrowband
//     leg's talking frames are resampled up for the mix and the mix it
//     hears down again (its own filters, so nothing above 4 kHz aliases
//     into what a G.711 phone hears);
//   - the mixer sums the talkers once and gives each phone leg the mix minus
//     itself ("sum once, subtract self");
//   - every talking phone leg's frame is encoded once (Opus, or G.711 with
//     PhoneVoicePCMU) and forwarded to the browsers over its Track (nothing
//     is encoded without browsers); for a leg that taps its voice
//     (PhoneVoiceTap, every sip leg) this happens as its packets arrive
//     instead (phonetap.go), and the tick only mixes it.
//
// Participants change under the room's lock by replacing the parts slice
// (copy-on-write); the tick reads it atomically and owns every codec, jitter
// buffer and mixer leg, so nothing in the tick takes a lock.
type roomAudio struct {
	room  *Room
	sub   *media.Subscription
	mixer *media.Mixer
	parts atomic.Pointer[[]*audioPart]

	legs []*media.MixerLeg // tick scratch
	// voiceBuf is where phone voice for browsers is encoded (encodeForBrowsers):
	// by whoever holds the browser queue.
	voiceBuf []byte
	lastSeq  uint64 // last tick seen, to keep RTP timestamps in step
	// wideMixer mixes at 16 kHz while a wideband leg is in the room (made
	// at the first such tick); rate is the rate of the last tick. Tick's.
	wideMixer *media.Mixer
	rate      int
	// commonDown downsamples the wideband mix every listener who is not
	// talking hears (the mixer's common output) once per tick for all the
	// narrowband ones; commonSeq is the tick it last did. Tick's.
	commonDown *media.Downsampler2
	commonBuf  []int16
	commonSeq  uint64

	browserQ browserQueue // frames for browsers waiting for an encode worker
}

// audioPart is one participant of the phone mix: a phone leg, or a browser's
// audio track decoded for the phone legs.
type audioPart struct {
	member *Member
	leg    media.MixerLeg
	in     []int16
	vad    *media.VAD

	// phone legs
	phone      PhoneAudio
	wide       bool                // the leg is wideband (PhoneWideband): its frames are 16 kHz
	up         *media.Upsampler2   // a narrowband leg in a wideband room: its frame for the mix (tick's)
	down       *media.Downsampler2 // … and the mix it hears (tick's)
	upBuf      []int16             // WidebandFrameSamples, up's output
	downBuf    []int16             // PhoneFrameSamples, down's output
	voiceDown  *media.Downsampler2 // a wideband leg's voice to browsers as G.711 (browser-bound state, phonevoice.go)
	voiceBuf   []int16
	arrival    PhoneFrameArrival  // phone, if it tells arrivals; else nil
	tap        *voiceTap          // set when the leg's voice goes to browsers as it arrives (phonetap.go)
	arrived    int64              // the arrival of this tick's frame (Unix ns), 0 if unknown; the tick's
	out        *Track             // the leg's voice to browsers
	voice      PhoneVoice         // out's codec
	frameTicks uint32             // out's RTP timestamp advance per frame
	enc        *media.OpusEncoder // Opus only; nil while the leg has not talked for encoderIdleFrames
	quiet      int                // frames not sent since the last one sent
	pkt        rtp.Packet
	sending    bool // the previous frame was sent (marker bit on talk spurts)

	// browser tracks
	track       *Track
	jb          *media.JitterBuffer
	dec         *media.OpusDecoder // nil until the browser first talks, and again after decoderIdleAfter of silence
	jbuf        []byte
	decRate     int // the rate dec decodes at: the room's mixing rate (tick's)
	unsubscribe func()
}

// WriteRTP receives a browser's Opus packet (an RTPSink on its Track); it runs
// on the publisher's reader goroutine. The jitter buffer copies the payload.
func (p *audioPart) WriteRTP(pkt *rtp.Packet) error {
	p.jb.Push(pkt, time.Now())
	return nil
}

// AttachPhoneAudio starts mixing a phone leg: from now on the room's mixer
// calls a's ReadFrame and WriteFrame every 20 ms on the shared media clock, and
// the leg's voice is published to browsers as a track in the engine's
// PhoneVoice codec (Opus by default). The attachment
// ends when the member leaves; a may receive one more tick after that.
func (m *Member) AttachPhoneAudio(a PhoneAudio) error {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone {
		return dialroom.Errorf(dialroom.EGONE, "The member has left.")
	}
	if m.phone != nil {
		return dialroom.Errorf(dialroom.EINVALID, "The member already has phone audio.")
	}
	m.phone = a
	ra := r.audioLocked()
	var ssrc [4]byte
	_, _ = rand.Read(ssrc[:])
	voice := r.engine.cfg.PhoneVoice
	codec, pt, frameTicks := voice.trackFormat()
	wb, _ := a.(PhoneWideband)
	p := &audioPart{member: m, phone: a, in: make([]int16, WidebandFrameSamples), vad: newVAD(),
		voice: voice, frameTicks: frameTicks, wide: wb != nil && wb.Wideband()}
	p.arrival, _ = a.(PhoneFrameArrival)
	p.pkt.Header = rtp.Header{Version: 2, PayloadType: pt, SSRC: binary.BigEndian.Uint32(ssrc[:])}
	p.out = r.publishLocked(m, TrackSpec{Kind: KindAudio, Codec: codec, StreamID: m.id})
	// From here the leg's receive goroutine calls the tap: p is complete.
	if t, ok := a.(PhoneWidebandTap); ok && p.wide {
		p.tap = newVoiceTap(ra, p)
		t.TapWideband(p.tap.pcm16)
	} else if t, ok := a.(PhoneVoiceTap); ok && !p.wide {
		p.tap = newVoiceTap(ra, p)
		t.TapVoice(p.tap.packet)
	}
	ra.add(p)
	return nil
}

// audioLocked returns the room's mixer, starting it (and decoding every
// browser audio track already published) if this is the first phone leg.
func (r *Room) audioLocked() *roomAudio {
	if r.audio != nil {
		return r.audio
	}
	mixer, _ := media.NewMixer(PhoneFrameSamples) // 160 is valid; cannot fail
	ra := &roomAudio{room: r, mixer: mixer}
	r.audio = ra
	for _, m := range r.members {
		if m.phone != nil {
			continue
		}
		for _, t := range m.tracks {
			ra.addBrowserTrackLocked(t)
		}
	}
	ra.sub = r.engine.clock.Subscribe(ra.tick)
	return ra
}

// addBrowserTrackLocked decodes a browser's audio track for the phone mix.
func (ra *roomAudio) addBrowserTrackLocked(t *Track) {
	if t.spec.Kind != KindAudio || !strings.EqualFold(t.spec.Codec.MimeType, "audio/opus") || t.member.phone != nil {
		return
	}
	jb, err := media.NewJitterBuffer(media.JitterConfig{ClockRate: 48000})
	if err != nil {
		return
	}
	// The decoder is made for the first frame to decode (readBrowser).
	p := &audioPart{member: t.member, track: t, jb: jb, in: make([]int16, WidebandFrameSamples),
		jbuf: make([]byte, media.DefaultJitterMaxPayload), vad: newVAD()}
	p.leg.Deaf = true // browsers hear the SFU, not this mix
	p.unsubscribe = t.Subscribe(p)
	ra.add(p)
}

func (ra *roomAudio) add(p *audioPart) {
	var next []*audioPart
	if old := ra.parts.Load(); old != nil {
		next = append(next, *old...)
	}
	next = append(next, p)
	ra.parts.Store(&next)
}

// removeLocked drops the parts of member m (all of them) or of track t.
func (ra *roomAudio) removeLocked(m *Member, t *Track) {
	old := ra.parts.Load()
	if old == nil {
		return
	}
	next := make([]*audioPart, 0, len(*old))
	for _, p := range *old {
		if (m != nil && p.member == m) || (t != nil && p.track == t) {
			p.stop()
			continue
		}
		next = append(next, p)
	}
	ra.parts.Store(&next)
}

// stop ends what feeds the part from outside the tick: a browser track's
// subscription, a phone leg's voice tap.
func (p *audioPart) stop() {
	if p.unsubscribe != nil {
		p.unsubscribe()
	}
	if p.tap != nil {
		if p.wide {
			p.phone.(PhoneWidebandTap).TapWideband(nil)
		} else {
			p.phone.(PhoneVoiceTap).TapVoice(nil)
		}
	}
}

// phoneLegsLocked counts the phone legs still mixed.
func (ra *roomAudio) phoneLegsLocked() int {
	n := 0
	if parts := ra.parts.Load(); parts != nil {
		for _, p := range *parts {
			if p.phone != nil {
				n++
			}
		}
	}
	return n
}

// stopLocked stops mixing (the last phone leg left).
func (ra *roomAudio) stopLocked() {
	ra.sub.Stop()
	if parts := ra.parts.Load(); parts != nil {
		for _, p := range *parts {
			p.stop()
		}
	}
	ra.parts.Store(nil)
}

// tick mixes one 20 ms frame. It runs on a media clock goroutine, never
// concurrently with itself.
func (ra *roomAudio) tick(t media.Tick) {
	parts := ra.parts.Load()
	if parts == nil {
		return
	}
	step := uint32(1)
	if ra.lastSeq != 0 && t.Seq > ra.lastSeq {
		step = uint32(t.Seq - ra.lastSeq)
	}
	ra.lastSeq = t.Seq
	now := t.Scheduled.UnixNano()
	mixer, n := ra.mixerFor(*parts)

	ra.legs = ra.legs[:0]
	browsers := false
	var engineNow int64 // the engine's clock, which browsers' lastVoice is on; read once
	var wall time.Time  // the jitter buffers' clock (packet arrivals); read once
	for _, p := range *parts {
		talking := false
		in := p.in[:n]
		if p.phone != nil {
			in = p.in[:p.frameSamples()]
			ok := p.phone.ReadFrame(in)
			if p.arrival != nil {
				p.arrived = p.arrival.FrameArrival()
			}
			talking = p.vad.Detect(in) && ok && !p.member.muted.Load()
			if talking {
				p.member.lastVoice.Store(now) // the talking indicator for phone members
			}
			if len(in) != n {
				in = p.upsample(in, talking)
			}
		} else {
			if !browsers {
				engineNow, wall = ra.room.engine.now().UnixNano(), time.Now()
			}
			browsers = true
			talking = p.readBrowser(engineNow, wall, n) && !p.member.muted.Load()
		}
		p.leg.In, p.leg.Talking = in, talking
		ra.legs = append(ra.legs, &p.leg)
	}
	mixer.Mix(ra.legs)
	for _, p := range *parts {
		if p.phone == nil {
			continue
		}
		out := p.leg.Out
		if len(out) != p.frameSamples() {
			if p.leg.Talking {
				out = p.downsample(out) // its own mix, minus itself
			} else {
				out = ra.downsampleCommon(out, t.Seq)
			}
		}
		p.phone.WriteFrame(out, p.leg.Silent)
		// To browsers only while someone receives the leg's track: a
		// browser without a microphone listens too. A tapped leg's voice
		// went as it arrived.
		if p.tap == nil {
			ra.queueForBrowsers(p, p.leg.Talking && p.out.listened(), step)
		}
	}
}

// mixerFor returns the mixer for this tick and its frame size: 16 kHz while
// any phone leg of parts is wideband, else 8 kHz. When the rate changes the
// resampling filters start afresh.
func (ra *roomAudio) mixerFor(parts []*audioPart) (*media.Mixer, int) {
	rate := 8000
	for _, p := range parts {
		if p.wide {
			rate = 16000
			break
		}
	}
	if rate != ra.rate {
		ra.rate = rate
		for _, p := range parts {
			if p.up != nil {
				p.up.Reset()
				p.down.Reset()
			}
		}
		if ra.commonDown != nil {
			ra.commonDown.Reset()
		}
	}
	if rate == 8000 {
		return ra.mixer, PhoneFrameSamples
	}
	if ra.wideMixer == nil {
		ra.wideMixer, _ = media.NewMixer(WidebandFrameSamples) // 320 is valid; cannot fail
	}
	return ra.wideMixer, WidebandFrameSamples
}

// downsampleCommon returns the wideband common mix out (what every
// listener who is not talking hears) at 8 kHz, computed once per tick
// however many narrowband listeners the room has; nil (nobody talks)
// restarts the filter from silence.
func (ra *roomAudio) downsampleCommon(out []int16, seq uint64) []int16 {
	if ra.commonDown == nil {
		ra.commonDown, ra.commonBuf = media.NewDownsampler2(), make([]int16, PhoneFrameSamples)
	}
	if out == nil {
		ra.commonDown.Reset()
		ra.commonSeq = seq
		return nil
	}
	if ra.commonSeq != seq {
		ra.commonSeq = seq
		ra.commonDown.Downsample(ra.commonBuf, out)
	}
	return ra.commonBuf
}

// frameSamples is a phone leg's frame size at its own rate.
func (p *audioPart) frameSamples() int {
	if p.wide {
		return WidebandFrameSamples
	}
	return PhoneFrameSamples
}

// upsample returns narrowband leg p's frame at 16 kHz for a wideband mix.
// Only a talking frame is resampled (the mixer reads no other); a quiet one
// restarts the filter from silence, which is what its history would hold
// after a frame of nothing, give or take the quiet frame's noise.
func (p *audioPart) upsample(in []int16, talking bool) []int16 {
	if p.up == nil {
		p.up, p.down = media.NewUpsampler2(), media.NewDownsampler2()
		p.upBuf, p.downBuf = make([]int16, WidebandFrameSamples), make([]int16, PhoneFrameSamples)
	}
	if !talking {
		p.up.Reset()
		p.down.Reset() // its own mix, next time it talks, starts afresh
		return p.upBuf
	}
	p.up.Upsample(p.upBuf, in)
	return p.upBuf
}

// downsample returns narrowband leg p's own wideband mix out (it talks, so
// it hears everyone but itself) at 8 kHz; nil out (silence) restarts the
// filter from silence, as feeding it a frame of zeros would. A leg that
// stops talking hears the common mix through the room's downsampler
// (downsampleCommon), and its own restarts from silence when it talks again.
func (p *audioPart) downsample(out []int16) []int16 {
	if out == nil || p.down == nil {
		if p.down != nil {
			p.down.Reset()
		}
		return nil
	}
	p.down.Downsample(p.downBuf, out)
	return p.downBuf
}

// readBrowser pops and decodes the browser's next frame into p.in and reports
// whether it holds speech. Loss is concealed by Opus itself (FEC from the next
// packet when it is already here, else packet loss concealment).
//
// A browser that says it is silent is not decoded at all: when its track
// carries the RFC 6464 audio level (browsers send it on every packet, and
// Track.WriteRTP reads it for the talking indicator), and no packet was
// voiced for quietAfter, the frame is popped (so the buffer keeps its timing)
// and dropped. Browsers in a conference are silent most of the time, and the
// decode is what a silent browser costs the phone mix (about 47 µs per frame,
// docs/benchmarks.md). When the browser talks again its decoder resumes from
// the state of its last decoded frame, as after a loss: Opus is built for
// that, and what it missed was silence. After decoderIdleAfter of silence the
// decoder is dropped and the next talk spurt gets a new one; a browser that
// never talks never has one. now is the engine's clock in Unix nanoseconds, the one
// lastVoice is kept on; wall is the time of the tick on the clock of packet
// arrivals, for the jitter buffer's phase tracking (media.JitterBuffer.PopAt).
func (p *audioPart) readBrowser(now int64, wall time.Time, n int) bool {
	f := p.jb.PopAt(p.jbuf, wall)
	if quiet := now - p.member.lastVoice.Load(); p.track.spec.AudioLevelExtID != 0 && quiet >= int64(quietAfter) {
		if p.dec != nil && quiet >= int64(decoderIdleAfter) {
			p.dec, p.decRate = nil, 0
		}
		return false
	}
	if rate := n * 50; rate != p.decRate {
		// The room's rate changed (a wideband leg came or went): Opus
		// decodes at any rate, but a decoder at one only.
		dec, err := media.NewOpusDecoder(rate)
		if err != nil {
			return false
		}
		p.dec, p.decRate = dec, rate
	}
	in := p.in[:n]
	var err error
	switch f.Status {
	case media.FramePlay:
		_, err = p.dec.Decode(in, f.Payload)
	case media.FrameLost:
		if len(f.Payload) > 0 {
			_, err = p.dec.DecodeFEC(in, f.Payload)
		} else {
			_, err = p.dec.Conceal(in)
		}
	default:
		return false
	}
	if err != nil {
		return false
	}
	return p.vad.Detect(in)
}

// sendToBrowsers encodes phone leg p's frame pcm (Opus or G.711, p.voice)
// and forwards it, when the leg talks and browsers listen (send). Silent
// frames are not sent at all: to the browser that is a discontinuous
// transmission (Opus: RFC 7587 §3.1.3; G.711: silence suppression, RFC 3551
// §4.1) and it plays comfort silence; the timestamp keeps advancing so the
// gap is timed right, and the marker bit starts each talk spurt.
// The sequence number and timestamp belong to the leg's track, not to its
// encoder, so they stay continuous when the encoder is released and another
// taken. It runs on whoever holds the room's browser queue: an encode
// worker, or without workers the goroutine that queued the job
// (browserencode.go). arrived is when the frame's packet arrived (Unix ns,
// 0 if unknown), for Metrics.PhoneVoiceSent.
func (ra *roomAudio) sendToBrowsers(p *audioPart, pcm []int16, send bool, step uint32, arrived int64) {
	p.pkt.Timestamp += p.frameTicks * step
	if !send {
		p.sending = false
		if p.enc != nil {
			if p.quiet += int(step); p.quiet >= encoderIdleFrames {
				ra.releaseEncoder(p)
			}
		}
		return
	}
	p.quiet = 0
	payload := ra.encodeForBrowsers(p, pcm)
	if payload == nil {
		return
	}
	p.pkt.SequenceNumber++
	p.pkt.Marker = !p.sending // RFC 3551 §4.1: the first packet of a talk spurt
	p.pkt.Payload = payload
	p.sending = true
	p.out.WriteRTP(&p.pkt)
	if arrived != 0 {
		ra.room.engine.metrics.phoneVoiceSent(time.Duration(time.Now().UnixNano() - arrived))
	}
}

// takeEncoder gives phone leg p an encoder, from the room's pool or new, as
// it starts a talk spurt after encoderIdleFrames or more of quiet. The
// encoder's state is that of a new one (released encoders are reset): its
// first frame does not build on what this leg (or another) said before, and
// that is acceptable at a talk spurt's start. The packet carries the marker
// bit after a gap of at least a second without packets (DTX), across which
// the browser's decoder concealed and faded out, so its state had already
// parted from any encoder's; Opus decoders resynchronise on such a packet
// within a frame. A continuous encoder would do no better there: it is not
// fed during silence either, so its delay buffer (4 ms of look-ahead) would
// still hold the end of the previous spurt and play it first; a reset one
// starts from silence. TestPhoneEncoderHandOver checks the level decoded from fresh
// and reused encoders. It reports false (and the frame goes unsent) only if
// libopus refused a new encoder.
func (ra *roomAudio) takeEncoder(p *audioPart) bool {
	if p.wide {
		enc, err := media.NewOpusEncoder(widebandOpusEncoder())
		if err != nil {
			return false
		}
		p.enc = enc
		return true
	}
	if enc := ra.room.engine.spareEncoders.get(); enc != nil {
		p.enc = enc
		return true
	}
	enc, err := media.NewOpusEncoder(phoneOpusEncoder)
	if err != nil {
		return false
	}
	p.enc = enc
	return true
}

// releaseEncoder takes phone leg p's encoder after encoderIdleFrames of
// quiet, resets it and offers it to the engine's pool for the next talker.
func (ra *roomAudio) releaseEncoder(p *audioPart) {
	enc := p.enc
	p.enc, p.quiet = nil, 0
	if !p.wide && enc.Reset() == nil {
		ra.room.engine.spareEncoders.put(enc)
	}
}
