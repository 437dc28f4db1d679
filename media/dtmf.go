package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// DTMFPayloadSize is the size of one RFC 4733 §2.3 event payload.
const DTMFPayloadSize = 4

// ErrDTMFPayload is returned for a telephone-event payload shorter than 4 bytes.
var ErrDTMFPayload = errors.New("media: telephone-event payload shorter than 4 bytes")

// DTMFEvent is one RFC 4733 §2.3 telephone-event payload:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     event     |E|R| volume    |          duration             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type DTMFEvent struct {
	// Event is the event code; 0–15 are the DTMF keys (RFC 4733 §3.2), see
	// DTMFDigit.
	Event uint8
	// End marks the last packet of the event (sent three times, §2.5.1.4).
	End bool
	// Volume is the power level in -dBm0, 0–63 (§2.3.4).
	Volume uint8
	// Duration so far, in RTP timestamp units from the event's timestamp
	// (§2.3.5).
	Duration uint16
}

// ParseDTMFEvent parses a telephone-event payload. Only the first four bytes
// are read: a longer payload (padding, or a redundant block some senders add)
// is accepted. The R bit is ignored, as §2.3.3 asks of receivers.
func ParseDTMFEvent(payload []byte) (DTMFEvent, error) {
	if len(payload) < DTMFPayloadSize {
		return DTMFEvent{}, ErrDTMFPayload
	}
	return DTMFEvent{
		Event:    payload[0],
		End:      payload[1]&0x80 != 0,
		Volume:   payload[1] & 0x3F,
		Duration: binary.BigEndian.Uint16(payload[2:4]),
	}, nil
}

// AppendTo appends the event's 4-byte payload to b (R bit clear, volume capped
// at 63) and returns the result.
func (e DTMFEvent) AppendTo(b []byte) []byte {
	flags := min(e.Volume, 63)
	if e.End {
		flags |= 0x80
	}
	return binary.BigEndian.AppendUint16(append(b, e.Event, flags), e.Duration)
}

// DTMFDigit returns the key of a DTMF event code (RFC 4733 §3.2): '0'–'9',
// '*' (10), '#' (11), 'A'–'D' (12–15); ok is false for other events.
func DTMFDigit(event uint8) (digit byte, ok bool) {
	switch {
	case event <= 9:
		return '0' + event, true
	case event == 10:
		return '*', true
	case event == 11:
		return '#', true
	case event <= 15:
		return 'A' + event - 12, true
	}
	return 0, false
}

// DTMFEventCode returns the event code of a DTMF key: the inverse of
// DTMFDigit (lower-case 'a'–'d' are accepted too).
func DTMFEventCode(digit byte) (event uint8, ok bool) {
	switch {
	case digit >= '0' && digit <= '9':
		return digit - '0', true
	case digit == '*':
		return 10, true
	case digit == '#':
		return 11, true
	case digit >= 'A' && digit <= 'D':
		return digit - 'A' + 12, true
	case digit >= 'a' && digit <= 'd':
		return digit - 'a' + 12, true
	}
	return 0, false
}

// DTMFReport is what a DTMFReceiver tells of one event: its start, its end, or
// both when one packet is all that was received of it.
type DTMFReport struct {
	DTMFEvent
	// Timestamp is the RTP timestamp of the event (its start).
	Timestamp uint32
	// Start: the first packet seen of this event. Collect digits on Start;
	// each event starts exactly once.
	Start bool
	// Duration (in DTMFEvent) is final when End is set.
}

// DTMFReceiver turns the telephone-event packets of one RTP stream into one
// report per event start and one per event end, dropping what RFC 4733 senders
// repeat: continuation packets, and the end packet sent three times (§2.5.1.4).
// Events are told apart by their RTP timestamp (§2.5.1.1); packets of an older
// event (reordered, or late retransmissions) are dropped. It is not safe for
// concurrent use: the leg's reader goroutine owns it. It never allocates.
type DTMFReceiver struct {
	have     bool
	ts       uint32
	event    uint8
	ended    bool
	duration uint16
}

// Receive takes one telephone-event packet: its RTP timestamp and marker bit
// and its payload. ok reports whether there is something to tell; err is
// ErrDTMFPayload for a malformed payload.
func (r *DTMFReceiver) Receive(timestamp uint32, marker bool, payload []byte) (rep DTMFReport, ok bool, err error) {
	ev, err := ParseDTMFEvent(payload)
	if err != nil {
		return DTMFReport{}, false, err
	}
	if r.have {
		d := int32(timestamp - r.ts) // wraps like the timestamps do
		switch {
		case d < 0:
			return DTMFReport{}, false, nil // a packet of an older event
		case d == 0 && ev.Event == r.event:
			if r.ended {
				return DTMFReport{}, false, nil // retransmitted end (§2.5.1.4)
			}
			r.duration = max(r.duration, ev.Duration)
			if !ev.End {
				return DTMFReport{}, false, nil // continuation (§2.5.1.2)
			}
			r.ended = true
			ev.Duration = r.duration
			return DTMFReport{DTMFEvent: ev, Timestamp: timestamp}, true, nil
		case !marker && !r.ended && ev.Event == r.event && uint32(d) <= uint32(r.duration)+dtmfSegmentSlack:
			// §2.5.1.3: a long event goes on in a new segment, with a new
			// timestamp about one duration on and no marker bit; it is the
			// same key press.
			r.ts, r.duration, r.ended = timestamp, ev.Duration, ev.End
			if ev.End {
				return DTMFReport{DTMFEvent: ev, Timestamp: timestamp}, true, nil
			}
			return DTMFReport{}, false, nil
		}
	}
	r.have, r.ts, r.event, r.ended, r.duration = true, timestamp, ev.Event, ev.End, ev.Duration
	return DTMFReport{DTMFEvent: ev, Timestamp: timestamp, Start: true}, true, nil
}

// dtmfSegmentSlack is how far past the end of a segment (in timestamp units)
// the next segment of a long event may start: 1 s at 8 kHz, 170 ms at 48 kHz.
const dtmfSegmentSlack = 0x2000

// DTMF sender defaults; DTMFSenderConfig's zero fields take them.
const (
	// DefaultDTMFDuration is how long each key sounds: ITU-T Q.24 asks
	// receivers to accept 40 ms; 100 ms is what phones send and what every
	// carrier's detector takes.
	DefaultDTMFDuration = 100 * time.Millisecond
	// DefaultDTMFGap is the pause between keys (Q.24 minimum 40 ms, with room).
	DefaultDTMFGap = 60 * time.Millisecond
	// DefaultDTMFVolume is -10 dBm0, the level RFC 4733 §2.3.4's examples use.
	DefaultDTMFVolume = 10
	// dtmfQueue is how many keys a DTMFSender holds: an 11-digit number and a
	// few more.
	dtmfQueue = 32
	// dtmfEndRepeats: the end packet is sent three times (§2.5.1.4).
	dtmfEndRepeats = 3
)

// ErrDTMFQueueFull is returned by DTMFSender.Send when the queue has no room.
var ErrDTMFQueueFull = errors.New("media: DTMF queue full")

// DTMFSenderConfig configures a DTMFSender.
type DTMFSenderConfig struct {
	// ClockRate is the RTP clock of the negotiated telephone-event, which is
	// the audio codec's (RFC 4733 §2.1): 8000 for G.711, 48000 for Opus.
	ClockRate int
	// Duration of each key (rounded up to 20 ms, at most what a 16-bit
	// duration holds: 8 s at 8 kHz, 1.3 s at 48 kHz) and Gap between keys;
	// zero takes the defaults.
	Duration, Gap time.Duration
	// Volume in -dBm0 (0–63); zero takes DefaultDTMFVolume.
	Volume uint8
}

// DTMFSender generates the RFC 4733 packets for queued keys, one call of Next
// per 20 ms tick, interleaved with the leg's audio: while it sends an event the
// leg sends no audio (§2.5.1.1) but keeps its SSRC, sequence numbers and
// advancing audio timestamps. Send may be called from any goroutine; Next
// belongs to the leg's tick. It never allocates.
type DTMFSender struct {
	frame    uint32 // timestamp units per tick
	duration uint32 // timestamp units per key
	gapTicks int
	volume   uint8
	queue    chan uint8

	active   bool
	event    uint8
	ts       uint32 // the event's timestamp
	elapsed  uint32 // duration sent so far
	endsSent int
	gapLeft  int
}

// NewDTMFSender returns a sender for cfg.
func NewDTMFSender(cfg DTMFSenderConfig) (*DTMFSender, error) {
	if cfg.ClockRate < 1000 || cfg.ClockRate%50 != 0 {
		return nil, fmt.Errorf("media: DTMF clock rate %d: want a multiple of 50 Hz, at least 1000", cfg.ClockRate)
	}
	if cfg.Duration == 0 {
		cfg.Duration = DefaultDTMFDuration
	}
	if cfg.Gap == 0 {
		cfg.Gap = DefaultDTMFGap
	}
	if cfg.Volume == 0 {
		cfg.Volume = DefaultDTMFVolume
	}
	frame := uint32(cfg.ClockRate / 50)
	d := int64(cfg.Duration) * int64(cfg.ClockRate) / int64(time.Second)
	d = (d + int64(frame) - 1) / int64(frame) * int64(frame) // whole ticks
	if d <= 0 || d > 0xFFFF || cfg.Gap < 0 || cfg.Volume > 63 {
		return nil, fmt.Errorf("media: DTMF duration %v, gap %v, volume %d at %d Hz: want a duration of 1–65535 timestamp units, a gap ≥ 0, volume 0–63",
			cfg.Duration, cfg.Gap, cfg.Volume, cfg.ClockRate)
	}
	return &DTMFSender{
		frame:    frame,
		duration: uint32(d),
		gapTicks: int((cfg.Gap + 20*time.Millisecond - 1) / (20 * time.Millisecond)),
		volume:   cfg.Volume,
		queue:    make(chan uint8, dtmfQueue),
	}, nil
}

// Send queues keys to send ('0'–'9', '*', '#', 'A'–'D'). It checks every key
// first and queues none if one is invalid; it returns ErrDTMFQueueFull if the
// queue cannot take them all (those that fit are queued).
func (s *DTMFSender) Send(keys string) error {
	for i := range len(keys) {
		if _, ok := DTMFEventCode(keys[i]); !ok {
			return fmt.Errorf("media: DTMF key %q is not 0-9, *, #, A-D", keys[i])
		}
	}
	for i := range len(keys) {
		ev, _ := DTMFEventCode(keys[i])
		select {
		case s.queue <- ev:
		default:
			return ErrDTMFQueueFull
		}
	}
	return nil
}

// Busy reports whether an event or its trailing gap is being sent, or keys
// are queued. Call it from the tick, like Next.
func (s *DTMFSender) Busy() bool { return s.active || s.gapLeft > 0 || len(s.queue) > 0 }

// Next is called once per tick with the RTP timestamp this tick's audio frame
// carries. When ok, the leg sends, instead of audio, a telephone-event packet
// with payload dst[:n] (dst needs DTMFPayloadSize bytes), marker bit marker
// and RTP timestamp timestamp; otherwise it sends its audio as usual. Each key
// is a first packet with the marker bit, updates every 20 ms with a growing
// duration, and the end packet three times (§2.5.1).
func (s *DTMFSender) Next(audioTS uint32, dst []byte) (n int, marker bool, timestamp uint32, ok bool) {
	if len(dst) < DTMFPayloadSize {
		return 0, false, 0, false
	}
	if !s.active {
		if s.gapLeft > 0 {
			s.gapLeft--
			return 0, false, 0, false
		}
		select {
		case ev := <-s.queue:
			s.active, s.event, s.ts, s.elapsed, s.endsSent = true, ev, audioTS, 0, 0
		default:
			return 0, false, 0, false
		}
	}
	marker = s.elapsed == 0
	if s.elapsed < s.duration {
		s.elapsed += s.frame
	}
	ev := DTMFEvent{Event: s.event, Volume: s.volume, Duration: uint16(s.elapsed), End: s.elapsed >= s.duration}
	if ev.End {
		if s.endsSent++; s.endsSent == dtmfEndRepeats {
			s.active = false
			s.gapLeft = s.gapTicks
		}
	}
	ev.AppendTo(dst[:0])
	return DTMFPayloadSize, marker, s.ts, true
}
