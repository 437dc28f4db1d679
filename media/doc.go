// Package media is dialroom's telephone-side audio: everything between a
// phone leg's UDP socket and the 16-bit PCM a conference mixes, and back.
//
// What it owns:
//
//   - RTP endpoints (Endpoint, PortAllocator): one UDP port per leg from a
//     configured range, one reader goroutine per socket, symmetric RTP with a
//     short learning window against hijacking, RTP timeout detection.
//   - Codecs: G.711 μ-law and A-law by lookup tables (G711), Opus through
//     libopus at the leg's own rate (OpusEncoder, OpusDecoder) and the helpers
//     for Opus's fixed 48 kHz RTP clock.
//   - Receiving: an adaptive jitter buffer per incoming stream (JitterBuffer)
//     and loss concealment for G.711 (Concealer; Opus conceals itself).
//   - Conferencing: the mixer (Mixer, "sum once, subtract self", speech-aware)
//     and its energy VAD (VAD); the one shared 20 ms Clock that drives every
//     room's mixing.
//   - Signalling in the media path: RFC 4733 telephone-events (DTMFReceiver,
//     DTMFSender) and in-band DTMF for trunks without them (DTMFDetector).
//   - Sources for legs: tones, beeps and looped prompts (Tone, Beeps, Loop),
//     read from WAV files (ReadWAV) and resampled (Resample).
//
// What it does not own: SIP and SDP (the sip package decides codecs, payload
// types, addresses and ptime, and calls SetRemote), rooms and who hears whom
// (the bridge package builds MixerLegs from its members and subscribes rooms
// to the Clock), browser media (pion/webrtc forwards Opus as it is; only its
// decoding for phone legs uses OpusDecoder), SRTP and RTCP (an Endpoint counts
// and drops RTCP multiplexed on its port; nothing here sends reports).
//
// It imports nothing of dialroom's (architecture_test.go enforces it).
//
// Frames: every per-frame function works on 20 ms mono frames (160 samples at
// 8 kHz, 320 at 16 kHz) in caller-provided buffers and does not allocate; each
// type's documentation says which goroutine owns it. Per phone leg that means:
// the Endpoint's reader goroutine pushes into the leg's JitterBuffer; on each
// Clock tick the room pops, decodes or conceals, runs the VAD, mixes, encodes
// and sends with Endpoint.WriteRTP. No goroutine per packet, no ticker per leg.
package media
