package bridge

import (
	"time"

	"github.com/dialroom/dialroom/media"
)

// maxTapPayload is the largest phone packet sent to browsers as it arrives:
// 60 ms of G.711, the longest packet time phones use. A longer one is not
// sent (the browsers conceal it). maxTapSamples is the same 60 ms at 16 kHz,
// for wideband legs (PhoneWidebandTap).
const (
	maxTapPayload = 480
	maxTapSamples = 2 * maxTapPayload
)

// voiceTap sends a phone leg's voice to the room's browsers as each packet
// arrives (a PhoneAudio that implements PhoneVoiceTap), rather than taking
// each 20 ms frame after the mix's jitter buffer at the next tick: the
// browsers' own jitter buffers absorb the network's jitter and conceal its
// losses, so the phone → browser path need not wait for ours. With
// PhoneVoicePCMU a packet goes on as received (A-law converted by the leg);
// with PhoneVoiceOpus it is cut into 20 ms frames (phones nearly always
// send 20 ms packets; others are re-framed) and each frame encoded. Only
// voiced packets go (a VAD of its own, deciding as the tick's does for the
// mix), not while the member is muted, and only while a browser receives
// the leg's track.
//
// packet runs on the leg's receive goroutine and owns the fields; the
// writes (and the Opus encoding) happen on the encode worker holding the
// room, in arrival order, through the room's browser queue
// (browserencode.go), which owns the leg's RTP header and encoder.
//
// A wideband leg (PhoneWidebandTap) hands decoded 16 kHz PCM instead
// (pcm16): the same, at 16 kHz, with a 16 kHz Opus encoder, or with
// PhoneVoicePCMU downsampled (down) and encoded to μ-law here.
type voiceTap struct {
	ra    *roomAudio
	p     *audioPart
	opus  bool
	rate  uint32 // of the PCM handed in: 8000, or 16000 for a wideband leg
	frame int    // samples of 20 ms at rate
	vad   *media.VAD

	narrow *tapNarrow // wideband with PhoneVoicePCMU; nil otherwise

	talking bool // the last packet was sent: the next one is no talk spurt's first
	quiet   int  // Opus: packets not sent since the last one sent

	// Opus: samples waiting to make a 20 ms frame (a packet's worth and a
	// frame, at rate), and our timestamp (at rate) of the first. acc is
	// made for the first packet that is not one whole frame: 20 ms packets,
	// what phones send, go on without it.
	acc       []int16
	accN      int
	accTS     uint32
	maxPacket int // samples of the longest packet taken

	// Our RTP timestamps (at rate; ×6 or ×3 for Opus's 48 kHz clock, ÷2
	// for a wideband leg's G.711) follow the
	// caller's, offset so that our track's timeline stays continuous when
	// the caller's stream restarts (a new SSRC after a re-INVITE, a jump).
	started         bool
	ssrc            uint32
	lastIn, lastOut uint32
}

// tapNarrow turns a wideband leg's packets into G.711 for browsers
// (PhoneVoicePCMU): the half-band filter and its output, per packet.
type tapNarrow struct {
	down *media.Downsampler2
	pcm  [maxTapPayload]int16
	pcmu [maxTapPayload]byte
}

func newVoiceTap(ra *roomAudio, p *audioPart) *voiceTap {
	v := &voiceTap{ra: ra, p: p, opus: p.voice == PhoneVoiceOpus, rate: 8000, frame: PhoneFrameSamples, vad: newVAD()}
	v.maxPacket = maxTapPayload
	if p.wide {
		v.rate, v.frame, v.maxPacket = 16000, WidebandFrameSamples, maxTapSamples
		if !v.opus {
			v.narrow = &tapNarrow{down: media.NewDownsampler2()}
		}
	}
	return v
}

// packet is the leg's tap (PhoneVoiceTap.TapVoice).
func (v *voiceTap) packet(pcmu []byte, ssrc, ts uint32, arrived int64) {
	if len(pcmu) == 0 || len(pcmu) > maxTapPayload {
		return
	}
	var pcm [maxTapPayload]int16 // on the caller's stack: nothing keeps it past take
	n := media.PCMU.Decode(pcm[:], pcmu)
	v.take(pcm[:n], pcmu, ssrc, ts, arrived)
}

// pcm16 is a wideband leg's tap (PhoneWidebandTap.TapWideband): the packet
// decoded to 16 kHz, ts in 16 kHz units; opus is the packet itself when the
// call is in Opus.
func (v *voiceTap) pcm16(pcm []int16, opus []byte, ssrc, ts uint32, arrived int64) {
	if len(pcm) == 0 || len(pcm) > maxTapSamples || len(pcm)%2 != 0 {
		return
	}
	if v.opus && len(opus) > 0 && len(opus) <= maxTapPayload {
		// Opus to Opus: the caller's packet goes to the browsers as it
		// is (no second encoding, no re-framing: Opus packets say their
		// own duration), timed on our track's 48 kHz clock.
		voiced := v.vad.Detect(pcm)
		out := v.timestamp(ssrc, ts, uint32(len(pcm)))
		send := voiced && !v.p.member.muted.Load() && v.p.out.listened()
		if send {
			v.ra.queueTapped(v.p, tappedPacket{payload: opus, encoded: true, ts: out * (48000 / v.rate), marker: !v.talking, arrived: arrived})
		}
		v.talking = send
		return
	}
	var pcmu []byte
	if nb := v.narrow; nb != nil {
		// G.711 to browsers: the packet's narrowband part. The filter runs
		// on every packet, voiced or not, so its history is the stream's.
		n := nb.down.Downsample(nb.pcm[:], pcm)
		pcmu = nb.pcmu[:media.PCMU.Encode(nb.pcmu[:], nb.pcm[:n])]
	}
	v.take(pcm, pcmu, ssrc, ts, arrived)
}

// take sends one packet's pcm (at v.rate) on, as pcmu (μ-law, 8 kHz) when
// the browsers get G.711, else re-framed and encoded to Opus.
func (v *voiceTap) take(pcm []int16, pcmu []byte, ssrc, ts uint32, arrived int64) {
	n := len(pcm)
	voiced := v.vad.Detect(pcm)
	out := v.timestamp(ssrc, ts, uint32(n))
	send := voiced && !v.p.member.muted.Load() && v.p.out.listened()
	if !v.opus {
		if send {
			// The G.711 track's clock is 8 kHz.
			v.ra.queueTapped(v.p, tappedPacket{payload: pcmu, ts: out * 8000 / v.rate, marker: !v.talking, arrived: arrived})
		}
		v.talking = send
		return
	}
	if v.accN > 0 && out != v.accTS+uint32(v.accN) {
		v.accN = 0 // a gap or a packet from behind: drop the partial frame
	}
	if v.accN == 0 && n == v.frame {
		v.frameOut(pcm, out, send, arrived) // one whole frame: no re-framing
		return
	}
	if v.acc == nil {
		v.acc = make([]int16, v.maxPacket+v.frame)
	}
	if v.accN == 0 {
		v.accTS = out
	}
	v.accN += copy(v.acc[v.accN:], pcm) // fits: accN < frame, n ≤ the longest packet taken
	for v.accN >= v.frame {
		v.frameOut(v.acc[:v.frame], v.accTS, send, arrived)
		v.accN = copy(v.acc[:], v.acc[v.frame:v.accN])
		v.accTS += uint32(v.frame)
	}
}

// frameOut queues one 20 ms frame (at rate, our timestamp ts) for encoding
// when the leg talks, or the encoder's release after encoderIdleFrames of
// quiet. The worker copies the frame: it may be reused at once.
func (v *voiceTap) frameOut(frame []int16, ts uint32, send bool, arrived int64) {
	switch {
	case send:
		v.ra.queueTapped(v.p, tappedPacket{pcm: frame, ts: ts * (opusTicksPerFrame / uint32(v.frame)),
			marker: !v.talking, arrived: arrived})
		v.quiet = 0
	case v.quiet == encoderIdleFrames-1:
		// Quiet long enough: the worker releases the leg's encoder.
		v.ra.queueTapped(v.p, tappedPacket{release: true})
	}
	if !send {
		v.quiet++
	}
	v.talking = send
}

// timestamp maps the caller's RTP timestamp ts (of a packet of samples) to
// our track's. A packet from behind (reordered) maps back as far without
// moving the mapping; a new SSRC, or a jump of more than ten seconds
// forward or one back (RFC 3550 §A.1's restart, by time), continues our
// timeline one packet on.
func (v *voiceTap) timestamp(ssrc, ts, samples uint32) uint32 {
	d := int32(ts - v.lastIn)
	switch {
	case !v.started:
		v.started = true
	case ssrc != v.ssrc || d > 10*int32(v.rate) || d < -int32(v.rate):
		v.lastOut += samples
	case d <= 0:
		return v.lastOut + uint32(d)
	default:
		v.lastOut += uint32(d)
	}
	v.ssrc, v.lastIn = ssrc, ts
	return v.lastOut
}

// tappedPacket is what the tap hands the worker: a G.711 payload to send
// as it is, a 20 ms frame to encode to Opus, or the word to release the
// leg's encoder.
type tappedPacket struct {
	payload []byte  // μ-law (PhoneVoicePCMU), or Opus when encoded
	encoded bool    // payload is a wideband caller's own Opus packet, sent as it is
	pcm     []int16 // one frame (PhoneVoiceOpus)
	ts      uint32  // our RTP timestamp, in the track's clock
	marker  bool
	arrived int64
	release bool
}

// queueTapped hands one tapped packet of phone leg p to the room's browser
// queue (or sends it at once without encode workers). It runs on the leg's
// receive goroutine.
func (ra *roomAudio) queueTapped(p *audioPart, tp tappedPacket) {
	ra.queueJob(func(j *browserJob, full bool) bool {
		if full && !tp.release {
			return false // the workers are half a second behind: the browsers conceal it
		}
		*j = browserJob{p: p, tapped: true, send: !tp.release, encoded: tp.encoded, ts: tp.ts, marker: tp.marker, arrived: tp.arrived}
		j.n = uint16(copy(j.payload[:], tp.payload))
		j.samples = uint16(copy(j.pcm[:], tp.pcm))
		return true
	})
}

// sendTapped writes one tapped packet to the browsers, encoding it first
// with Opus. It runs where sendToBrowsers runs and shares its state.
func (ra *roomAudio) sendTapped(j *browserJob) {
	p := j.p
	payload := j.payload[:j.n]
	if p.voice == PhoneVoiceOpus && !j.encoded {
		if !j.send {
			if p.enc != nil {
				ra.releaseEncoder(p)
			}
			return
		}
		if payload = ra.encodeForBrowsers(p, j.pcm[:j.samples]); payload == nil {
			return
		}
	}
	p.pkt.SequenceNumber++
	p.pkt.Timestamp = j.ts
	p.pkt.Marker = j.marker
	p.pkt.Payload = payload
	p.out.WriteRTP(&p.pkt)
	if j.arrived != 0 {
		ra.room.engine.metrics.phoneVoiceSent(time.Duration(time.Now().UnixNano() - j.arrived))
	}
}
