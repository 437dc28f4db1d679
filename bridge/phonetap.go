package bridge

import (
	"time"

	"github.com/dialroom/dialroom/media"
)

// maxTapPayload is the largest phone packet sent to browsers as it arrives:
// 60 ms of G.711, the longest packet time phones use. A longer one is not
// sent (the browsers conceal it).
const maxTapPayload = 480

// voiceTap sends a phone leg's voice to the room's browsers as each packet
// arrives (PhoneVoicePCMU with a PhoneAudio that implements PhoneVoiceTap),
// G.711 as the caller sent it: no jitter buffer, no concealment and no
// wait for the next tick on the way, since the browsers' own jitter buffers
// absorb the network's jitter and conceal its losses. Only voiced packets
// go (a VAD of its own, as the tick's would decide for the mix), not while
// the member is muted, and only while a browser receives the leg's track.
//
// packet runs on the leg's receive goroutine and owns the fields; the
// packets themselves are written by the encode worker holding the room, in
// arrival order, through the room's browser queue (browserencode.go).
type voiceTap struct {
	ra  *roomAudio
	p   *audioPart
	vad *media.VAD
	pcm [maxTapPayload]int16

	talking bool // the last packet was sent: the next one is no talk spurt's first

	// Our RTP timestamps follow the caller's (8 kHz both), offset so that
	// our track's timeline stays continuous when the caller's stream
	// restarts (a new SSRC after a re-INVITE, or a jump).
	started         bool
	ssrc            uint32
	lastIn, lastOut uint32
}

func newVoiceTap(ra *roomAudio, p *audioPart) *voiceTap {
	return &voiceTap{ra: ra, p: p, vad: newVAD()}
}

// packet is the leg's tap (PhoneVoiceTap.TapVoice).
func (v *voiceTap) packet(pcmu []byte, ssrc, ts uint32, arrived int64) {
	if len(pcmu) == 0 || len(pcmu) > maxTapPayload {
		return
	}
	n := media.PCMU.Decode(v.pcm[:], pcmu)
	voiced := v.vad.Detect(v.pcm[:n])
	out := v.timestamp(ssrc, ts, uint32(n))
	if !voiced || v.p.member.muted.Load() || !v.p.out.listened() {
		v.talking = false
		return
	}
	marker := !v.talking // RFC 3551 §4.1: the first packet of a talk spurt
	v.talking = true
	v.ra.queueTapped(v.p, pcmu, out, marker, arrived)
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
	case ssrc != v.ssrc || d > 10*media.G711Rate || d < -media.G711Rate:
		v.lastOut += samples
	case d <= 0:
		return v.lastOut + uint32(d)
	default:
		v.lastOut += uint32(d)
	}
	v.ssrc, v.lastIn = ssrc, ts
	return v.lastOut
}

// queueTapped hands one arrived packet of phone leg p to the room's browser
// queue (or sends it at once without encode workers). It runs on the
// leg's receive goroutine.
func (ra *roomAudio) queueTapped(p *audioPart, pcmu []byte, ts uint32, marker bool, arrived int64) {
	ra.queueJob(func(j *browserJob, full bool) bool {
		if full {
			return false // the workers are half a second behind: the browsers conceal it
		}
		*j = browserJob{p: p, tapped: true, send: true, ts: ts, marker: marker, arrived: arrived, n: uint16(len(pcmu))}
		copy(j.payload[:], pcmu)
		return true
	})
}

// sendTapped writes one tapped packet to the browsers. It runs where
// sendToBrowsers runs.
func (ra *roomAudio) sendTapped(j *browserJob) {
	p := j.p
	p.pkt.SequenceNumber++
	p.pkt.Timestamp = j.ts
	p.pkt.Marker = j.marker
	p.pkt.Payload = j.payload[:j.n]
	p.out.WriteRTP(&p.pkt)
	if j.arrived != 0 {
		ra.room.engine.metrics.phoneVoiceSent(time.Duration(time.Now().UnixNano() - j.arrived))
	}
}
