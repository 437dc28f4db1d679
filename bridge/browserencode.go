package bridge

import (
	"sync"
)

// Phone voice for browsers is encoded off the tick when the engine has
// encode workers (Config.EncodeWorkers): the tick mixes and writes every
// phone leg's frame, and hands each phone leg's frame for browsers (a job:
// the PCM when the leg talks, else only the timestamp step) to the room's
// queue; a worker then encodes the talkers (phonevoice.go) and writes them to the
// browsers. Why: the encodes (~47 µs per talker) and pion's writes are half
// of a tick's work, and the tick's length is what makes the next tick late
// on a busy machine (docs/benchmarks.md); phones need their frame by the
// next tick, browsers run a jitter buffer of their own and do not mind a
// millisecond more. The CPU is the same.
//
// Order: one leg's frames must be encoded in order (an Opus encoder's state
// runs from frame to frame) and its RTP sequence numbers must rise. A room
// is scheduled on at most one worker at a time, and the worker takes the
// room's jobs in the order the ticks queued them, so a room's browser-bound
// state (each leg's encoder, RTP header, quiet count, the room's encoder
// pool) has one owner at a time: the worker holding the room, or the tick
// itself when the engine has no workers.

// maxQueuedBrowserJobs bounds a room's queue: beyond it (the workers are 25
// ticks, half a second, behind) new frames for browsers are not encoded but
// still advance the legs' timestamps, so the browsers hear a gap instead of
// ever later audio, and memory stays bounded under overload.
const maxQueuedBrowserJobs = 25 * 16

// browserJob is one phone leg's frame for browsers from one tick, or one
// packet of it as it arrived (tapped).
type browserJob struct {
	p       *audioPart
	step    uint32
	send    bool
	arrived int64                       // the frame's packet's arrival (Unix ns), 0 if unknown
	pcm     [WidebandFrameSamples]int16 // the frame, when send: pcm[:samples]
	samples uint16

	// A packet sent as it arrived (phonetap.go) instead of a tick's frame.
	tapped  bool
	encoded bool // payload is already Opus (a wideband caller's own packet)
	marker  bool
	ts      uint32
	n       uint16
	payload [maxTapPayload]byte // G.711 μ-law, n bytes
}

// browserQueue is a room's jobs waiting for a worker. The tick appends under
// mu; the worker holding the room swaps the slice out under mu and works
// through it without the lock.
type browserQueue struct {
	mu        sync.Mutex
	pending   []browserJob
	spare     []browserJob // the last slice worked through, for reuse
	scheduled bool         // the room is queued on, or held by, a worker
}

// encodeWorkers is the engine's pool of goroutines that encode phone voice
// for browsers, one room at a time. Started by NewEngine, stopped by Close
// once every room has ended; rooms is never closed (a tick may still try to
// schedule a room, and does not block).
type encodeWorkers struct {
	rooms chan *roomAudio
	quit  chan struct{}
	wg    sync.WaitGroup
}

func startEncodeWorkers(n int) *encodeWorkers {
	w := &encodeWorkers{rooms: make(chan *roomAudio, 4096), quit: make(chan struct{})}
	for range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for {
				select {
				case ra := <-w.rooms:
					ra.workBrowserJobs()
				case <-w.quit:
					return
				}
			}
		}()
	}
	return w
}

func (w *encodeWorkers) stop() {
	close(w.quit)
	w.wg.Wait()
}

// queueForBrowsers hands phone leg p's frame of this tick (send: it talks
// and browsers listen) to the room's queue and schedules the room; without
// workers the tick itself works through the queue. Always through the
// queue: a leg that taps its voice (phonetap.go) queues from its receive
// goroutine, and the queue is what gives the room's browser-bound state one
// owner at a time. It runs on the tick.
func (ra *roomAudio) queueForBrowsers(p *audioPart, send bool, step uint32) {
	ra.queueJob(func(j *browserJob, full bool) bool {
		*j = browserJob{p: p, step: step, send: send && !full, arrived: p.arrived}
		if j.send {
			j.samples = uint16(copy(j.pcm[:], p.in[:p.frameSamples()]))
		}
		return true
	})
}

// queueJob appends a job to the room's queue, filled in place by fill
// (under the queue's lock; full: the queue is at maxQueuedBrowserJobs,
// and fill returns false to drop the job), and schedules the room on a
// worker; without workers, or when the workers' queue is full, the room's
// jobs run on the calling goroutine.
func (ra *roomAudio) queueJob(fill func(j *browserJob, full bool) bool) {
	w := ra.room.engine.encoders
	q := &ra.browserQ
	q.mu.Lock()
	q.pending = append(q.pending, browserJob{})
	if !fill(&q.pending[len(q.pending)-1], len(q.pending) > maxQueuedBrowserJobs) {
		q.pending = q.pending[:len(q.pending)-1]
		q.mu.Unlock()
		return
	}
	schedule := !q.scheduled
	q.scheduled = true
	q.mu.Unlock()
	if !schedule {
		return
	}
	if w != nil {
		select {
		case w.rooms <- ra:
			return
		default:
			// Every worker is far behind: do this room's jobs here.
		}
	}
	ra.workBrowserJobs()
}

// workBrowserJobs sends the room's queued frames to the browsers until the
// queue is empty, then unschedules the room. It runs on a worker (or the
// tick), never on two goroutines at once for one room.
func (ra *roomAudio) workBrowserJobs() {
	q := &ra.browserQ
	for {
		q.mu.Lock()
		jobs := q.pending
		if len(jobs) == 0 {
			q.scheduled = false
			q.mu.Unlock()
			return
		}
		q.pending, q.spare = q.spare[:0], nil
		q.mu.Unlock()
		for i := range jobs {
			j := &jobs[i]
			if j.tapped {
				ra.sendTapped(j)
			} else {
				ra.sendToBrowsers(j.p, j.pcm[:j.samples], j.send, j.step, j.arrived)
			}
			j.p = nil // let a removed leg be collected
		}
		q.mu.Lock()
		q.spare = jobs[:0]
		q.mu.Unlock()
	}
}
