package bridge

import "github.com/dialroom/dialroom/media"

// PhoneVoice is the codec phone legs' voices are published to browsers in
// (Config.PhoneVoice; the server's webrtc.phone_codec). Either way a leg's
// frame is taken after its jitter buffer and concealment, only while the leg
// talks and browsers listen, and sent once for every browser.
type PhoneVoice uint8

const (
	// PhoneVoiceOpus encodes each talking leg's frames to Opus at 8 kHz
	// (phoneOpusEncoder): about a third of G.711's bandwidth, with in-band
	// FEC for lossy paths, for ~45 µs of CPU per frame.
	PhoneVoiceOpus PhoneVoice = iota
	// PhoneVoicePCMU sends G.711 μ-law (RFC 3551 §4.5.14), which every
	// browser decodes: ~0.1 µs per frame (a table lookup per sample) and
	// 64 kbit/s of payload. The audio is the same narrowband signal the
	// phone network carried.
	PhoneVoicePCMU
)

// RTP of a phone leg's G.711 track to browsers: static payload type 0, an
// 8 kHz clock, so one 20 ms frame advances 160 (RFC 3551 §4.5.14, §6).
const (
	pcmuPayloadType   = 0
	pcmuTicksPerFrame = PhoneFrameSamples
)

// trackFormat returns what a phone leg's track to browsers carries in v: the
// codec, the RTP payload type and the RTP timestamp advance per 20 ms frame.
func (v PhoneVoice) trackFormat() (Codec, uint8, uint32) {
	if v == PhoneVoicePCMU {
		return Codec{MimeType: "audio/PCMU", ClockRate: 8000}, pcmuPayloadType, pcmuTicksPerFrame
	}
	return phoneOpusCodec(), opusPayloadType, opusTicksPerFrame
}

// encodeForBrowsers encodes phone leg p's frame pcm in the leg's codec into
// the room's voiceBuf and returns the payload (valid until the room's next
// encoding), or nil when there is nothing to send (libopus refused an
// encoder or a frame). It runs wherever sendToBrowsers runs: on whoever holds
// the room's browser queue, one goroutine at a time, which is what lets the
// room's legs share one buffer.
func (ra *roomAudio) encodeForBrowsers(p *audioPart, pcm []int16) []byte {
	if ra.voiceBuf == nil {
		ra.voiceBuf = make([]byte, media.OpusMaxPayload)
	}
	buf := ra.voiceBuf
	if p.voice == PhoneVoicePCMU {
		if len(pcm) == WidebandFrameSamples {
			// A wideband leg's voice as G.711: its narrowband part.
			if p.voiceDown == nil {
				p.voiceDown, p.voiceBuf = media.NewDownsampler2(), make([]int16, PhoneFrameSamples)
			}
			pcm = p.voiceBuf[:p.voiceDown.Downsample(p.voiceBuf, pcm)]
		}
		return buf[:media.PCMU.Encode(buf, pcm)]
	}
	if p.enc == nil && !ra.takeEncoder(p) {
		return nil
	}
	n, err := p.enc.Encode(buf, pcm)
	if err != nil || n == 0 {
		return nil
	}
	return buf[:n]
}
