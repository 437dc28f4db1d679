package sip

import (
	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/media"
)

// inbandKeys finds keys played as tones in a caller's audio, for calls whose
// offer had no telephone-event (RFC 4733): older gateways and trunks that
// pass DTMF in-band only, and phones set to send it so. Without it such a
// caller could neither key an issued number at an access number nor use
// the keypad in the room. The audio is decoded once more for it on the
// receive goroutine (G.711: a table lookup a sample) and cut into the
// detector's 20 ms blocks whatever the packet time; about 2 µs a frame, on
// these calls only.
//
// Tones reach the room's mix like any audio: in-band keys cannot be taken
// out of the caller's voice the way RFC 4733 events are.
type inbandKeys struct {
	det   *media.DTMFDetector
	block int // samples per 20 ms at the leg's rate
	n     int // samples in buf
	buf   [bridge.WidebandFrameSamples]int16
	pcm   [maxInbandPacket]int16 // a G.711 packet decoded
}

// maxInbandPacket bounds the G.711 packets scanned (samples: 120 ms, more
// than any phone's packet time); larger ones are skipped.
const maxInbandPacket = 960

func newInbandKeys(rate int) (*inbandKeys, error) {
	det, err := media.NewDTMFDetector(rate)
	if err != nil {
		return nil, err
	}
	return &inbandKeys{det: det, block: rate / 50}, nil
}

// g711 scans one G.711 packet's audio. Receive goroutine.
func (k *inbandKeys) g711(law media.G711, payload []byte, onKey func(byte)) {
	if len(payload) > len(k.pcm) {
		return
	}
	k.feed(k.pcm[:law.Decode(k.pcm[:], payload)], onKey)
}

// feed scans decoded audio at the leg's rate, calling onKey for each key
// found. Receive goroutine.
func (k *inbandKeys) feed(pcm []int16, onKey func(byte)) {
	for len(pcm) > 0 {
		c := copy(k.buf[k.n:k.block], pcm)
		k.n += c
		pcm = pcm[c:]
		if k.n < k.block {
			return
		}
		k.n = 0
		if key, ok := k.det.Detect(k.buf[:k.block]); ok && onKey != nil {
			onKey(key)
		}
	}
}
