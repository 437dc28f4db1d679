package media

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// Jitter buffer defaults; JitterConfig's zero fields take them.
const (
	// DefaultJitterMinDelay is the smallest target delay: one frame covers the
	// arbitrary phase between a packet's arrival and the next 20 ms tick, the
	// second absorbs the few milliseconds of jitter even a quiet network has.
	DefaultJitterMinDelay = 40 * time.Millisecond
	// DefaultJitterMaxDelay caps the target delay. ITU-T G.114 wants under
	// 150 ms one way in all; past ~300 ms of buffering alone conversation breaks
	// down, so beyond it a bad network gets loss (concealed) rather than delay.
	DefaultJitterMaxDelay = 300 * time.Millisecond
	// DefaultJitterMaxPayload fits the largest 20 ms Opus frame; G.711 needs 160.
	DefaultJitterMaxPayload = OpusMaxPayload
)

// RFC 3550 §A.1: a jump of more than maxDropout ahead, or a packet more than
// maxMisorder behind, is not taken as part of the stream unless the next packet
// confirms a restart.
const (
	maxDropout  = 3000
	maxMisorder = 100
	seqMod      = 1 << 16
)

// initialStride is the slot size a buffer starts with: one 20 ms G.711 frame,
// and more than speech Opus needs at the bitrates browsers use. Slots grow by
// doubling (up to MaxPayload) the first time a larger payload arrives, so a
// phone leg does not hold 32 slots of the largest Opus frame (40 KiB) for
// 160-byte frames.
const initialStride = 160

// initialSlots is the ring a buffer starts with: 320 ms of 20 ms frames,
// room for the delays of ordinary networks and a burst after a stall of a
// few hundred ms. A larger burst doubles it, up to twice the largest delay
// (JitterBuffer.maxSlots); most legs never need that (3.3 KiB per leg).
const initialSlots = 16

// jitterWindow is how many Pops (0.5 s) the buffer watches the lowest depth
// before it drains frames it never needed.
const jitterWindow = 25

// minPhaseMargin is the least time the newest frame must have arrived before
// every PopAt of a window for the buffer to play one frame earlier (see
// PopAt): the scheduling noise of a loaded 2-core machine is a few
// milliseconds.
const minPhaseMargin = 3 * time.Millisecond

// tightenHoldoff is how many windows (5 s) a late packet or an underrun
// keeps the buffer from playing a frame earlier again, so a phase that
// wanders near the tick does not cost a gap every half second.
const tightenHoldoff = 10

// JitterConfig configures a JitterBuffer for one incoming stream.
type JitterConfig struct {
	// ClockRate is the stream's RTP clock rate: 8000 for G.711, 48000 for Opus
	// (RFC 7587 §4.1). Required.
	ClockRate int
	// MinDelay and MaxDelay bound the adaptive target delay; zero takes
	// DefaultJitterMinDelay and DefaultJitterMaxDelay. They are rounded to
	// whole 20 ms frames.
	MinDelay, MaxDelay time.Duration
	// MaxPayload is the largest payload kept, in bytes; larger packets are
	// dropped and counted. Zero takes DefaultJitterMaxPayload. Memory held is
	// the largest payload seen so far (at least initialStride bytes, at most
	// MaxPayload) times the slot count (twice MaxDelay in frames, a power of
	// 2): a G.711 leg holds 160-byte slots whatever MaxPayload says.
	MaxPayload int
}

// FrameStatus says what a JitterBuffer.Pop returned.
type FrameStatus uint8

const (
	// FramePlay: Payload holds the next frame; decode and play it.
	FramePlay FrameStatus = iota
	// FrameLost: the sender's next frame is missing (lost, or arrived too late
	// to play); conceal it. If the packet after it is already buffered its
	// payload is in Payload, for Opus in-band FEC (OpusDecoder.DecodeFEC); it
	// comes again as a FramePlay on the next Pop.
	FrameLost
	// FrameEmpty: there is nothing to play: the buffer is filling to its target
	// (at the start, after an underrun or a DTX/silence gap) or stretching to
	// add delay. Conceal (which fades out) or play silence.
	FrameEmpty
)

func (s FrameStatus) String() string {
	switch s {
	case FramePlay:
		return "play"
	case FrameLost:
		return "lost"
	case FrameEmpty:
		return "empty"
	}
	return fmt.Sprintf("FrameStatus(%d)", uint8(s))
}

// JitterFrame is one 20 ms tick's worth of output of a JitterBuffer.
type JitterFrame struct {
	Status FrameStatus
	// Payload aliases the dst given to Pop; see FrameStatus for what it holds.
	Payload []byte
	// SequenceNumber and Timestamp are the frame's (for FrameLost, the missing
	// frame's sequence number and its timestamp estimated from the last played
	// frame); zero for FrameEmpty.
	SequenceNumber uint16
	Timestamp      uint32
	PayloadType    uint8
	Marker         bool
	// Arrived is when the played packet arrived (Push's arrival), in Unix
	// nanoseconds; 0 unless FramePlay. Its age when the frame leaves again
	// is the delay the server added.
	Arrived int64
}

// PushResult says what a JitterBuffer.Push did with a packet.
type PushResult uint8

const (
	PushStored    PushResult = iota // kept for playing
	PushDuplicate                   // already held or recently played; dropped
	PushLate                        // its turn to play has passed; dropped
	PushOversize                    // payload larger than MaxPayload; dropped
	PushJump                        // sequence jump not (yet) confirmed as a restart (RFC 3550 §A.1); dropped
)

// JitterStats are a JitterBuffer's counters since it was made (they survive
// SSRC changes and Reset) and its current estimates.
type JitterStats struct {
	Received   uint64 // packets stored
	Played     uint64 // frames returned as FramePlay
	Lost       uint64 // frames returned as FrameLost
	Empty      uint64 // Pops that returned FrameEmpty
	Late       uint64 // packets dropped because their turn had passed
	Duplicates uint64 // packets dropped as duplicates
	Discarded  uint64 // frames dropped unplayed to shrink the delay or make room for a burst
	Underruns  uint64 // times the buffer ran dry while playing
	Resets     uint64 // new sources: SSRC changes, confirmed sequence restarts, Reset calls
	Dropped    uint64 // oversize packets and unconfirmed sequence jumps

	// Jitter is the RFC 3550 §6.4.1 interarrival jitter estimate; JitterRTP is
	// the same in timestamp units, as an RTCP receiver report carries it.
	Jitter    time.Duration
	JitterRTP uint32
	// Target is the delay the buffer currently aims for; Depth is the span of
	// frames it held at the last Pop.
	Target, Depth time.Duration
}

// JitterBuffer reorders one incoming RTP stream and releases one frame per
// 20 ms tick, with a delay that adapts to the measured jitter.
//
// Push is called by the leg's RTP reader goroutine as packets arrive; Pop by
// the shared clock's tick. Both lock briefly, so one pusher and one popper (or
// more) may run concurrently. Payloads are copied into the buffer's own
// slots: a Push never retains the caller's packet. Slots start at
// initialStride bytes and double the first time a larger payload arrives, and
// the ring of initialSlots doubles for a burst larger than it (each at most a
// few times in a stream's life); apart from that nothing allocates after
// NewJitterBuffer. It assumes one 20 ms frame per packet (SDP
// a=ptime:20).
//
// How it plays: the first Pop that finds Target worth of frames buffered starts
// playing; each Pop then returns the next sequence number, present or not. A
// missing frame with later ones buffered is lost (its packet, if it ever comes,
// is late and dropped). When the buffer runs dry (loss at the tail, a DTX gap, a
// delay spike) it stops and refills to Target, which adds delay; when its depth
// stayed above Target for half a second it drops the frames it did not need,
// at most one per Pop. Target is one frame plus four times the jitter
// estimate, rounded up to frames and kept within [MinDelay, MaxDelay]; a late
// packet also stretches the delay by one frame.
type JitterBuffer struct {
	mu sync.Mutex

	frameTS    uint32 // timestamp units per 20 ms frame
	clockRate  int
	minFrames  int
	maxFrames  int
	maxPayload int
	stride     int // bytes per slot in data: grows up to maxPayload

	slots    []jitterSlot // a ring of initialSlots, doubled up to maxSlots by a burst that needs them
	data     []byte
	mask     uint64
	maxSlots int // twice the largest delay in frames, rounded up to a power of two

	started bool
	ssrc    uint32
	maxSeq  uint16 // RFC 3550 §A.1 max_seq
	cycles  uint64 // RFC 3550 §A.1 cycles, starting at seqMod so "older" stays ≥ 0
	badSeq  uint32 // RFC 3550 §A.1 bad_seq; > 0xFFFF when unset
	highest uint64 // highest extended sequence number stored
	next    uint64 // extended sequence number of the next frame to play
	fresh   bool   // nothing popped from this source yet: an earlier packet may move next back
	playing bool

	epoch       time.Time
	haveTransit bool
	lastTransit uint32
	jitter16    uint32 // RFC 3550 §A.8: jitter estimate times 16

	target   int // frames
	lowWater int
	pops     int
	drain    int
	grow     bool

	// Arrival phase (PopAt only): the least time by which the newest frame
	// preceded a Pop in this window (-1: unknown), and whether one frame of
	// the delay is to be dropped at the next Pop.
	minSpare time.Duration
	tighten  bool
	holdoff  int // windows to wait before tightening again after a late packet or an underrun

	lastTS      uint32
	haveLastTS  bool
	lastPayload uint8

	stats JitterStats
}

// jitterSlot holds one frame. A played slot keeps its sequence number so a
// duplicate of a frame already played is told from a late one.
type jitterSlot struct {
	ext    uint64
	valid  bool // held, waiting to play
	played bool
	marker bool
	pt     uint8
	ts     uint32
	n      int
	at     int64 // arrival, Unix nanoseconds
}

// NewJitterBuffer returns an empty buffer for cfg.
func NewJitterBuffer(cfg JitterConfig) (*JitterBuffer, error) {
	if cfg.ClockRate < 1000 || cfg.ClockRate%50 != 0 {
		return nil, fmt.Errorf("media: jitter buffer clock rate %d: want a multiple of 50 Hz, at least 1000", cfg.ClockRate)
	}
	if cfg.MinDelay == 0 {
		cfg.MinDelay = DefaultJitterMinDelay
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = DefaultJitterMaxDelay
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = DefaultJitterMaxPayload
	}
	if cfg.MinDelay < 0 || cfg.MaxDelay < cfg.MinDelay || cfg.MaxPayload < 0 {
		return nil, fmt.Errorf("media: jitter buffer delay %v–%v, payload %d: want 0 ≤ min ≤ max, payload ≥ 0", cfg.MinDelay, cfg.MaxDelay, cfg.MaxPayload)
	}
	const frame = 20 * time.Millisecond
	j := &JitterBuffer{
		frameTS:    uint32(cfg.ClockRate / 50),
		clockRate:  cfg.ClockRate,
		minFrames:  max(1, int((cfg.MinDelay+frame-1)/frame)),
		maxFrames:  max(1, int(cfg.MaxDelay/frame)),
		maxPayload: cfg.MaxPayload,
	}
	j.maxFrames = max(j.maxFrames, j.minFrames)
	j.maxSlots = initialSlots
	for j.maxSlots < 2*j.maxFrames {
		j.maxSlots *= 2
	}
	size := initialSlots
	j.slots = make([]jitterSlot, size)
	j.stride = min(cfg.MaxPayload, initialStride)
	j.data = make([]byte, size*j.stride)
	j.mask = uint64(size - 1)
	j.target = j.minFrames
	return j, nil
}

// MaxPayload returns the largest payload the buffer keeps (JitterConfig's
// MaxPayload): a Pop's dst of this size holds any frame.
func (j *JitterBuffer) MaxPayload() int { return j.maxPayload }

// Reset forgets the current source and everything buffered, as after a
// renegotiation; the next packet starts a new stream. Counters are kept.
func (j *JitterBuffer) Reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started {
		j.stats.Resets++
	}
	j.started = false
	j.clearLocked()
}

// Push offers one received packet, which arrived at arrival (the reader's
// time.Now(), or a test's clock). p and its payload are not retained.
func (j *JitterBuffer) Push(p *rtp.Packet, arrival time.Time) PushResult {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(p.Payload) > j.maxPayload {
		j.stats.Dropped++
		return PushOversize
	}
	if !j.started || p.SSRC != j.ssrc {
		if j.started {
			j.stats.Resets++
		}
		j.startLocked(p, arrival)
	}
	ext, ok := j.extendLocked(p.SequenceNumber)
	if !ok {
		// RFC 3550 §A.1: two sequential packets after a big jump mean the
		// sender restarted its sequence; anything else after it is dropped.
		if uint32(p.SequenceNumber) != j.badSeq {
			j.badSeq = uint32(p.SequenceNumber+1) & 0xFFFF
			j.stats.Dropped++
			return PushJump
		}
		j.stats.Resets++
		j.startLocked(p, arrival)
		ext, _ = j.extendLocked(p.SequenceNumber)
	}
	size := uint64(len(j.slots))
	sl := &j.slots[ext&j.mask]
	if sl.ext == ext && (sl.valid || sl.played) {
		j.stats.Duplicates++
		return PushDuplicate
	}
	if ext < j.next {
		if j.fresh && j.next-ext < size && j.highest-ext < size {
			j.next = ext // reordered before anything was played: start earlier
		} else {
			j.stats.Late++
			j.grow = true
			j.holdoff = tightenHoldoff
			j.updateJitterLocked(p.Timestamp, arrival)
			return PushLate
		}
	}
	for ext >= j.next+size && len(j.slots) < j.maxSlots {
		// A burst larger than the ring has room for: more room, up to
		// twice the largest delay.
		j.growRingLocked()
		size = uint64(len(j.slots))
		sl = &j.slots[ext&j.mask]
	}
	if ext >= j.next+size {
		// A burst larger than the buffer (or a long stall of the popper):
		// drop the oldest frames to make room.
		newNext := ext - size + 1
		for s := j.next; s < newNext; s++ {
			if sl := &j.slots[s&j.mask]; sl.valid && sl.ext == s {
				sl.valid = false
				j.stats.Discarded++
			}
		}
		j.next = newNext
		j.fresh = false
	}
	if len(p.Payload) > j.stride {
		j.growLocked(len(p.Payload))
	}
	i := int(ext & j.mask)
	sl.n = copy(j.data[i*j.stride:(i+1)*j.stride], p.Payload)
	sl.ext, sl.valid, sl.played, sl.marker, sl.pt, sl.ts = ext, true, false, p.Marker, p.PayloadType, p.Timestamp
	sl.at = arrival.UnixNano()
	if ext > j.highest {
		j.highest = ext
	}
	j.stats.Received++
	j.updateJitterLocked(p.Timestamp, arrival)
	return PushStored
}

// Pop returns the frame for this 20 ms tick, copying a payload into dst (which
// should hold MaxPayload bytes; a longer payload is truncated). Call it once per
// tick from the clock's goroutine.
func (j *JitterBuffer) Pop(dst []byte) JitterFrame { return j.PopAt(dst, time.Time{}) }

// PopAt is Pop for a caller that knows when its tick runs (now, on the clock
// Push's arrival times are on). It also watches the arrival phase: how long
// before each Pop the newest frame arrived. The target delay keeps a frame
// more than the jitter needs (Target is one frame plus four times the
// jitter), because packets arrive at an arbitrary phase of the 20 ms tick:
// with a target of two frames a packet waits 20 ms plus the phase. When over
// a whole window every newest frame arrived at least four times the jitter
// (and minPhaseMargin) before the Pop, that frame is safe to play at once, so
// one frame of delay is dropped: a packet then waits only the phase. A packet
// that comes too late after all makes the buffer grow again as usual (a late
// packet, or an underrun that refills to Target). The zero now (Pop) leaves
// the phase alone.
func (j *JitterBuffer) PopAt(dst []byte, now time.Time) JitterFrame {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.started {
		j.stats.Empty++
		return JitterFrame{Status: FrameEmpty}
	}
	depth := 0
	if j.highest >= j.next {
		depth = int(j.highest - j.next + 1)
	}
	if !now.IsZero() && depth > 0 {
		if sl := &j.slots[j.highest&j.mask]; sl.valid && sl.ext == j.highest {
			spare := time.Duration(now.UnixNano() - sl.at)
			if j.minSpare < 0 || spare < j.minSpare {
				j.minSpare = spare
			}
		}
	} else if !now.IsZero() && j.playing {
		j.minSpare = 0 // ran dry while playing: no spare at all
	}
	j.stats.Depth = j.frames(depth)
	if !j.playing {
		if depth == 0 || depth < j.target {
			j.stats.Empty++
			return JitterFrame{Status: FrameEmpty}
		}
		j.playing = true
		j.pops, j.lowWater, j.drain, j.minSpare, j.tighten = 0, depth, 0, -1, false
	}
	j.fresh = false

	// Shrink: a depth that never fell to Target in a whole window is delay
	// nobody needed; drop it a frame per Pop.
	j.lowWater = min(j.lowWater, depth)
	if depth > j.maxFrames { // over the bound: drain now, not after a window
		j.drain = max(j.drain, depth-j.target)
	}
	if j.pops++; j.pops >= jitterWindow {
		if j.lowWater > j.target {
			j.drain = j.lowWater - j.target
		} else if j.holdoff > 0 {
			j.holdoff--
		} else if j.lowWater == j.target && j.target >= 2 && j.minSpare >= j.phaseMarginLocked() {
			j.tighten = true
		}
		j.pops, j.lowWater, j.minSpare = 0, depth, -1
	}
	if j.tighten && depth >= 2 {
		// Play the newer frame now: the older one is dropped once.
		j.tighten = false
		if sl := &j.slots[j.next&j.mask]; sl.valid && sl.ext == j.next {
			sl.valid = false
			j.stats.Discarded++
		}
		j.next++
		depth--
		j.lowWater = min(j.lowWater, depth)
	}
	if j.drain > 0 && depth > j.target {
		if sl := &j.slots[j.next&j.mask]; sl.valid && sl.ext == j.next {
			sl.valid = false
			j.stats.Discarded++
		}
		j.next++
		depth--
		j.drain--
	}
	// Grow: a packet came too late to play; wait one tick to add a frame of
	// delay (the jitter estimate has grown with it).
	if j.grow && depth <= j.target {
		j.grow = false
		j.stats.Empty++
		return JitterFrame{Status: FrameEmpty}
	}
	if depth == 0 {
		j.playing = false
		j.holdoff = tightenHoldoff
		j.stats.Underruns++
		j.stats.Empty++
		return JitterFrame{Status: FrameEmpty}
	}

	ext := j.next
	j.next++
	sl := &j.slots[ext&j.mask]
	if sl.valid && sl.ext == ext {
		sl.valid, sl.played = false, true
		i := int(ext & j.mask)
		n := copy(dst, j.data[i*j.stride:i*j.stride+sl.n])
		j.lastTS, j.haveLastTS, j.lastPayload = sl.ts, true, sl.pt
		j.stats.Played++
		return JitterFrame{
			Status:         FramePlay,
			Payload:        dst[:n],
			SequenceNumber: uint16(ext),
			Timestamp:      sl.ts,
			PayloadType:    sl.pt,
			Marker:         sl.marker,
			Arrived:        sl.at,
		}
	}
	j.stats.Lost++
	f := JitterFrame{Status: FrameLost, SequenceNumber: uint16(ext), PayloadType: j.lastPayload}
	if j.haveLastTS {
		j.lastTS += j.frameTS
		f.Timestamp = j.lastTS
	}
	if nx := &j.slots[j.next&j.mask]; nx.valid && nx.ext == j.next {
		i := int(j.next & j.mask)
		n := copy(dst, j.data[i*j.stride:i*j.stride+nx.n])
		f.Payload = dst[:n]
	}
	return f
}

// Stats returns the counters and the current estimates.
func (j *JitterBuffer) Stats() JitterStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	s.JitterRTP = j.jitter16 >> 4
	s.Jitter = time.Duration(int64(s.JitterRTP) * int64(time.Second) / int64(j.clockRate))
	s.Target = j.frames(j.target)
	return s
}

// growLocked makes every slot hold at least n bytes (n ≤ maxPayload),
// doubling the stride, and moves the buffered payloads. It allocates; it runs
// at most a few times in a buffer's life.
func (j *JitterBuffer) growLocked(n int) {
	stride := j.stride
	for stride < n {
		stride *= 2
	}
	stride = min(stride, j.maxPayload)
	data := make([]byte, len(j.slots)*stride)
	for i := range j.slots {
		if k := j.slots[i].n; k > 0 {
			copy(data[i*stride:i*stride+k], j.data[i*j.stride:i*j.stride+k])
		}
	}
	j.data, j.stride = data, stride
}

// growRingLocked doubles the ring, moving each slot to its place in the new
// one (the sequence numbers a ring holds are distinct modulo its size, so
// modulo twice it too). It allocates; it runs at most a few times in a
// buffer's life, after bursts.
func (j *JitterBuffer) growRingLocked() {
	size := 2 * len(j.slots)
	slots := make([]jitterSlot, size)
	data := make([]byte, size*j.stride)
	mask := uint64(size - 1)
	for i, sl := range j.slots {
		if !sl.valid && !sl.played {
			continue
		}
		k := int(sl.ext & mask)
		slots[k] = sl
		copy(data[k*j.stride:k*j.stride+sl.n], j.data[i*j.stride:i*j.stride+sl.n])
	}
	j.slots, j.data, j.mask = slots, data, mask
}

// phaseMarginLocked is how long before a Pop the newest frame must arrive
// for the buffer to play it at once: four times the jitter, at least
// minPhaseMargin.
func (j *JitterBuffer) phaseMarginLocked() time.Duration {
	jit := time.Duration(int64(j.jitter16>>4) * int64(time.Second) / int64(j.clockRate))
	return max(minPhaseMargin, 4*jit)
}

func (j *JitterBuffer) frames(n int) time.Duration { return time.Duration(n) * 20 * time.Millisecond }

// startLocked makes p's source the current one, dropping anything buffered.
func (j *JitterBuffer) startLocked(p *rtp.Packet, arrival time.Time) {
	j.clearLocked()
	j.started = true
	j.ssrc = p.SSRC
	j.maxSeq = p.SequenceNumber
	j.cycles = seqMod
	j.next = j.cycles + uint64(p.SequenceNumber)
	j.highest = j.next - 1
	j.fresh = true
	j.epoch = arrival
}

func (j *JitterBuffer) clearLocked() {
	for i := range j.slots {
		j.slots[i] = jitterSlot{}
	}
	j.playing, j.fresh, j.grow = false, false, false
	j.badSeq = seqMod + 1
	j.haveTransit, j.jitter16 = false, 0
	j.haveLastTS = false
	j.target = j.minFrames
	j.pops, j.lowWater, j.drain = 0, 0, 0
	j.minSpare, j.tighten, j.holdoff = -1, false, 0
}

// extendLocked maps a 16-bit sequence number to the extended one (RFC 3550
// §A.1 update_seq). ok is false for a jump too large to belong to the stream.
func (j *JitterBuffer) extendLocked(seq uint16) (ext uint64, ok bool) {
	udelta := seq - j.maxSeq
	switch {
	case udelta < maxDropout: // in order, possibly with a gap
		if seq < j.maxSeq {
			j.cycles += seqMod // wrapped
		}
		j.maxSeq = seq
		return j.cycles + uint64(seq), true
	case int(udelta) <= seqMod-maxMisorder: // a very large jump
		return 0, false
	default: // duplicate or reordered, behind maxSeq
		if seq > j.maxSeq { // from before the last wrap
			return j.cycles - seqMod + uint64(seq), true
		}
		return j.cycles + uint64(seq), true
	}
}

// updateJitterLocked folds one arrival into the interarrival jitter estimate
// (RFC 3550 §6.4.1, integer form of §A.8) and recomputes the target delay.
func (j *JitterBuffer) updateJitterLocked(ts uint32, arrival time.Time) {
	d := arrival.Sub(j.epoch)
	secs, frac := int64(d/time.Second), int64(d%time.Second)
	units := uint32(secs*int64(j.clockRate) + frac*int64(j.clockRate)/int64(time.Second))
	transit := units - ts // wraps like the timestamps do
	if j.haveTransit {
		delta := int64(int32(transit - j.lastTransit))
		if delta < 0 {
			delta = -delta
		}
		// A change of more than a second is a timestamp discontinuity (a
		// sender that re-based its timeline), not network jitter: it would
		// pin the target at MaxDelay for seconds.
		if delta <= int64(j.clockRate) {
			j.jitter16 += uint32(delta) - ((j.jitter16 + 8) >> 4)
		}
	}
	j.lastTransit, j.haveTransit = transit, true
	jit := j.jitter16 >> 4
	t := int((4*uint64(jit)+uint64(j.frameTS)-1)/uint64(j.frameTS)) + 1
	j.target = min(max(t, j.minFrames), j.maxFrames)
}
