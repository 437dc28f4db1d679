package main

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dialroom/dialroom/media"
)

// What the simulated phones and browsers say, encoded once before the load
// starts so the load generator spends nothing on codecs while it runs.
const (
	// phoneFrame is one 20 ms G.711 frame at 8 kHz.
	phoneFrame = 160
	// payloadFrames is how many distinct frames each kind cycles through (1 s).
	payloadFrames = 50
	// talkLevel is a talker's tone level in dBFS: speech on a phone line sits
	// around -20 to -30 (media.DefaultVADThreshold explains the levels).
	talkLevel = -20
	// noiseLevel is what a silent phone sends: line/comfort noise far below
	// the server's -45 dBFS voice threshold. Phones keep sending RTP while
	// their user is silent; only the content is quiet.
	noiseLevel = -65
)

// loadPayloads are the pre-encoded frames.
type loadPayloads struct {
	pt    byte     // the phones' RTP payload type: 0 (PCMU) or 9 (G.722)
	talk  [][]byte // G.711 μ-law (or G.722), a 1 kHz tone at talkLevel
	quiet [][]byte // G.711 μ-law (or G.722), white noise at noiseLevel
	opus  [][]byte // Opus at 48 kHz, noise at noiseLevel: a browser whose user is silent
}

// newLoadPayloads encodes the frames; wire is the phones' codec, "pcmu" or
// "g722" (16 kHz, 160 bytes per 20 ms like G.711; RTP clock 8000 too).
func newLoadPayloads(wire string) (*loadPayloads, error) {
	p := &loadPayloads{}
	g711 := func(dst []byte, pcm []int16) { media.PCMU.Encode(dst, pcm) }
	rate, encodeTalk, encodeQuiet := media.G711Rate, g711, g711
	if wire == "g722" {
		// Each kind is one continuous G.722 stream (its ADPCM state runs on).
		talk, quiet := media.NewG722Encoder(), media.NewG722Encoder()
		p.pt, rate = media.G722PayloadType, media.G722Rate
		encodeTalk = func(dst []byte, pcm []int16) { talk.Encode(dst, pcm) }
		encodeQuiet = func(dst []byte, pcm []int16) { quiet.Encode(dst, pcm) }
	}
	tone, err := media.NewTone(rate, talkLevel, 1000)
	if err != nil {
		return nil, err
	}
	pcm := make([]int16, rate/50)
	rng := rand.New(rand.NewPCG(1, 2))
	// Uniform noise of amplitude a has RMS a/√3; full scale is 32768.
	noiseAmp := 32768 * 1.732 * dbToGain(noiseLevel)
	for range payloadFrames {
		if _, err := tone.Read(pcm); err != nil {
			return nil, err
		}
		p.talk = append(p.talk, make([]byte, phoneFrame))
		encodeTalk(p.talk[len(p.talk)-1], pcm)
		for i := range pcm {
			pcm[i] = int16((rng.Float64()*2 - 1) * noiseAmp)
		}
		p.quiet = append(p.quiet, make([]byte, phoneFrame))
		encodeQuiet(p.quiet[len(p.quiet)-1], pcm)
	}
	enc, err := media.NewOpusEncoder(media.OpusEncoderConfig{Rate: 48000})
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	wide := make([]int16, enc.FrameSamples())
	buf := make([]byte, media.OpusMaxPayload)
	for range payloadFrames {
		for i := range wide {
			wide[i] = int16((rng.Float64()*2 - 1) * noiseAmp)
		}
		n, err := enc.Encode(buf, wide)
		if err != nil {
			return nil, fmt.Errorf("opus encode: %w", err)
		}
		p.opus = append(p.opus, append([]byte(nil), buf[:n]...))
	}
	return p, nil
}

// dbToGain converts dBFS to a linear factor of full scale.
func dbToGain(db float64) float64 { return math.Pow(10, db/20) }
