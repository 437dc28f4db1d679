package media

// Opus goes through gopkg.in/hraban/opus.v2 rather than a binding of our own:
// it is a thin cgo layer over libopus's own calls (no buffering, no goroutines),
// its encoder and decoder states live in Go memory so a forgotten Close cannot
// leak C memory, and it is the build MEDIA-COSTS.md measured. Its one trap is
// that Encode and Decode size the output by cap, not len, of the slice they are
// given; every call below passes a full slice expression (s[:n:n]) so libopus
// never writes past what the caller handed us. The package needs pkg-config
// opus and opusfile (scripts/deps.sh installs both).

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// OpusClockRate is the RTP clock rate of Opus, whatever rate the encoder or
// decoder runs at (RFC 7587 §4.1): a 20 ms frame advances the RTP timestamp by
// 960 even when the leg encodes 8 kHz audio.
const OpusClockRate = 48000

// OpusFrameTimestamp is how far the RTP timestamp advances per 20 ms Opus frame.
const OpusFrameTimestamp = OpusClockRate / 50

// OpusMaxPayload is the largest payload a single 20 ms Opus frame can need:
// one TOC byte and at most 1275 bytes of frame (RFC 6716 §3.2.1). A buffer of
// this size never makes Encode fail for lack of room.
const OpusMaxPayload = 1276

// DefaultOpusComplexity is the encoder complexity used when the config leaves it
// zero. 5 rather than libopus's 10: MEDIA-COSTS.md measured 68 µs against 129 µs
// per 8 kHz frame, nearly twice the phone legs per core, for a difference in
// narrowband speech that listeners hardly notice.
const DefaultOpusComplexity = 5

// OpusTimestamp converts a duration of audio to Opus RTP timestamp units
// (48 kHz). It truncates to whole units.
func OpusTimestamp(d time.Duration) uint32 {
	return uint32(d * OpusClockRate / time.Second)
}

// OpusSamplesToTimestamp converts a count of samples at rate (the leg's own
// rate, e.g. 8000) to Opus RTP timestamp units: 160 samples at 8 kHz are 960.
func OpusSamplesToTimestamp(samples, rate int) uint32 {
	return uint32(int64(samples) * OpusClockRate / int64(rate))
}

// OpusTimestampToSamples converts an Opus RTP timestamp difference to a count
// of samples at rate: 960 is 160 samples at 8 kHz, 320 at 16 kHz.
func OpusTimestampToSamples(ts uint32, rate int) int {
	return int(int64(ts) * int64(rate) / OpusClockRate)
}

// SamplesPerFrame returns the number of mono samples in a 20 ms frame at rate.
func SamplesPerFrame(rate int) int { return rate / 50 }

// OpusEncoderConfig configures an OpusEncoder. The zero value is not valid: Rate
// must be set.
type OpusEncoderConfig struct {
	// Rate is the sample rate of the PCM given to Encode: 8000 for a narrowband
	// phone leg, 16000 for a wideband one (12000, 24000 and 48000 also work).
	// Encoding at the leg's own rate avoids resampling and is 2.2–2.5x cheaper
	// than encoding 48 kHz (MEDIA-COSTS.md).
	Rate int
	// Complexity is libopus's 1–10 effort; 0 means DefaultOpusComplexity.
	Complexity int
	// Bitrate in bits per second; 0 leaves libopus's automatic choice for the
	// rate (about 11 kb/s at 8 kHz, 19 kb/s at 16 kHz, mono 20 ms).
	Bitrate int
	// DTX lets the encoder send almost nothing during silence (RFC 7587 §3.1.3).
	DTX bool
	// FEC adds in-band forward error correction (RFC 6716 §2.1.7) sized for
	// PacketLossPercent expected loss; the receiver recovers a lost frame from
	// the next packet with OpusDecoder.DecodeFEC.
	FEC               bool
	PacketLossPercent int
}

// OpusEncoder encodes 20 ms mono frames at one rate. It is not safe for
// concurrent use: one leg's sending path (usually the shared clock's tick) owns
// it. It holds no C memory, so it needs no Close.
type OpusEncoder struct {
	enc     *opus.Encoder
	rate    int
	samples int
}

// NewOpusEncoder returns an encoder for cfg, tuned for speech (libopus VoIP
// application).
func NewOpusEncoder(cfg OpusEncoderConfig) (*OpusEncoder, error) {
	if !opusRate(cfg.Rate) {
		return nil, fmt.Errorf("media: opus encoder rate %d Hz: want 8000, 12000, 16000, 24000 or 48000", cfg.Rate)
	}
	enc, err := opus.NewEncoder(cfg.Rate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("media: opus encoder: %w", err)
	}
	e := &OpusEncoder{enc: enc, rate: cfg.Rate, samples: SamplesPerFrame(cfg.Rate)}
	cx := cfg.Complexity
	if cx == 0 {
		cx = DefaultOpusComplexity
	}
	if err := e.SetComplexity(cx); err != nil {
		return nil, err
	}
	if cfg.Bitrate != 0 {
		if err := e.SetBitrate(cfg.Bitrate); err != nil {
			return nil, err
		}
	}
	if err := enc.SetDTX(cfg.DTX); err != nil {
		return nil, fmt.Errorf("media: opus DTX: %w", err)
	}
	if cfg.FEC {
		if err := enc.SetInBandFEC(true); err != nil {
			return nil, fmt.Errorf("media: opus FEC: %w", err)
		}
		if err := enc.SetPacketLossPerc(min(max(cfg.PacketLossPercent, 0), 100)); err != nil {
			return nil, fmt.Errorf("media: opus packet loss: %w", err)
		}
	}
	return e, nil
}

// Rate returns the sample rate of the PCM the encoder takes.
func (e *OpusEncoder) Rate() int { return e.rate }

// FrameSamples returns the number of samples Encode takes: 20 ms at Rate.
func (e *OpusEncoder) FrameSamples() int { return e.samples }

// SetComplexity changes the encoder complexity (1–10) between frames, e.g. to
// shed CPU under load.
func (e *OpusEncoder) SetComplexity(cx int) error {
	if cx < 0 || cx > 10 {
		return fmt.Errorf("media: opus complexity %d: want 0–10", cx)
	}
	if err := e.enc.SetComplexity(cx); err != nil {
		return fmt.Errorf("media: opus complexity: %w", err)
	}
	return nil
}

// SetBitrate changes the target bitrate in bits per second (500–512000).
func (e *OpusEncoder) SetBitrate(bps int) error {
	if bps < 500 || bps > 512000 {
		return fmt.Errorf("media: opus bitrate %d: want 500–512000", bps)
	}
	if err := e.enc.SetBitrate(bps); err != nil {
		return fmt.Errorf("media: opus bitrate: %w", err)
	}
	return nil
}

// Reset returns the encoder to the state of a new one with the same settings
// (rate, complexity, bitrate, DTX, FEC): libopus's OPUS_RESET_STATE, which
// clears what it predicts from past frames and keeps its configuration. An
// encoder handed from one stream to another must be reset first, so that the
// new stream's first packet does not continue the old one's signal. It does
// not allocate.
func (e *OpusEncoder) Reset() error {
	if err := e.enc.Reset(); err != nil {
		return fmt.Errorf("media: opus encoder reset: %w", err)
	}
	return nil
}

// Encode encodes exactly one 20 ms frame (FrameSamples samples of pcm) into dst
// and returns the payload length. dst should hold OpusMaxPayload bytes; libopus
// writes only within len(dst). With DTX a silent frame may encode to 1–2 bytes
// (RFC 7587 §3.1.3: such packets are still sent, or may be skipped). It does
// not allocate on success.
func (e *OpusEncoder) Encode(dst []byte, pcm []int16) (int, error) {
	if len(pcm) != e.samples {
		return 0, fmt.Errorf("media: opus encode: %d samples, want %d (20 ms at %d Hz)", len(pcm), e.samples, e.rate)
	}
	if len(dst) == 0 {
		return 0, errors.New("media: opus encode: empty destination")
	}
	n, err := e.enc.Encode(pcm, dst[:len(dst):len(dst)])
	if err != nil {
		return 0, fmt.Errorf("media: opus encode: %w", err)
	}
	return n, nil
}

// OpusDecoder decodes Opus packets (from any encoder rate and bandwidth) to mono
// PCM at its own rate; libopus resamples internally, so a phone leg decodes
// straight to 8 kHz. It is not safe for concurrent use: one leg's receive path
// owns it. It holds no C memory, so it needs no Close.
type OpusDecoder struct {
	dec     *opus.Decoder
	rate    int
	samples int
}

// NewOpusDecoder returns a mono decoder producing PCM at rate (8000, 12000,
// 16000, 24000 or 48000).
func NewOpusDecoder(rate int) (*OpusDecoder, error) {
	if !opusRate(rate) {
		return nil, fmt.Errorf("media: opus decoder rate %d Hz: want 8000, 12000, 16000, 24000 or 48000", rate)
	}
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return nil, fmt.Errorf("media: opus decoder: %w", err)
	}
	return &OpusDecoder{dec: dec, rate: rate, samples: SamplesPerFrame(rate)}, nil
}

// Rate returns the sample rate of the PCM the decoder produces.
func (d *OpusDecoder) Rate() int { return d.rate }

// FrameSamples returns the number of samples in a 20 ms frame at Rate.
func (d *OpusDecoder) FrameSamples() int { return d.samples }

// Decode decodes one packet into dst and returns the number of samples written.
// dst must hold the packet's duration: FrameSamples for 20 ms packets, up to
// 6*FrameSamples for the longest (120 ms). It does not allocate on success.
func (d *OpusDecoder) Decode(dst []int16, payload []byte) (int, error) {
	if len(payload) == 0 {
		return 0, errors.New("media: opus decode: empty payload")
	}
	if len(dst) == 0 {
		return 0, errors.New("media: opus decode: empty destination")
	}
	n, err := d.dec.Decode(payload, dst[:len(dst):len(dst)])
	if err != nil {
		return 0, fmt.Errorf("media: opus decode: %w", err)
	}
	return n, nil
}

// DecodeFEC recovers the 20 ms frame lost just before next, from the in-band
// FEC data that next carries (RFC 6716 §2.1.7), into dst[:FrameSamples]; when
// next carries none, libopus conceals instead. Call it when the jitter buffer
// reports a lost frame and already holds the following packet, then Decode next
// as usual at its own turn. It returns the number of samples written.
func (d *OpusDecoder) DecodeFEC(dst []int16, next []byte) (int, error) {
	if len(next) == 0 {
		return d.Conceal(dst)
	}
	if len(dst) < d.samples {
		return 0, fmt.Errorf("media: opus FEC: destination of %d samples, want %d", len(dst), d.samples)
	}
	if err := d.dec.DecodeFEC(next, dst[:d.samples:d.samples]); err != nil {
		return 0, fmt.Errorf("media: opus FEC: %w", err)
	}
	return d.samples, nil
}

// Conceal fills dst[:FrameSamples] with libopus's packet loss concealment for
// one lost (or DTX-suppressed) 20 ms frame, extrapolated from what was decoded
// before. It returns the number of samples written.
func (d *OpusDecoder) Conceal(dst []int16) (int, error) {
	if len(dst) < d.samples {
		return 0, fmt.Errorf("media: opus PLC: destination of %d samples, want %d", len(dst), d.samples)
	}
	if err := d.dec.DecodePLC(dst[:d.samples:d.samples]); err != nil {
		return 0, fmt.Errorf("media: opus PLC: %w", err)
	}
	return d.samples, nil
}

func opusRate(r int) bool {
	switch r {
	case 8000, 12000, 16000, 24000, 48000:
		return true
	}
	return false
}
