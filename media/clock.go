package media

import (
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Clock defaults; ClockConfig's zero fields take them.
const (
	// DefaultClockPeriod is one audio frame: every codec here runs 20 ms frames.
	DefaultClockPeriod = 20 * time.Millisecond
	// DefaultClockMaxLag: when the clock falls further behind than this (a
	// stalled machine), it skips the missed ticks instead of running them back
	// to back. A backlog beyond what receivers' jitter buffers absorb would
	// only turn into delay; 100 ms is five frames.
	DefaultClockMaxLag = 100 * time.Millisecond
)

// ClockConfig configures a Clock.
type ClockConfig struct {
	// Period between ticks; 0 takes DefaultClockPeriod.
	Period time.Duration
	// MaxLag is how far behind schedule the clock may run before it skips
	// ticks; 0 takes DefaultClockMaxLag.
	MaxLag time.Duration
	// Workers is how many goroutines share each tick's subscribers; 0 takes
	// runtime.GOMAXPROCS(0), so mixing and encoding for many rooms uses every
	// core while each tick still waits for all of them.
	Workers int
}

// Tick is what a subscriber is told on each tick.
type Tick struct {
	// Seq counts periods since the clock started running (it restarts at 1
	// when the clock starts again after having no subscribers). A step larger
	// than one means ticks were skipped; a sender should advance its RTP
	// timestamps by that many frames.
	Seq uint64
	// Scheduled is when the tick was due; Late is how much later it started.
	Scheduled time.Time
	Late      time.Duration
}

// ClockStats describe a Clock since it was made. Lateness is how late each
// tick started against its schedule; Busy is how long each tick's subscribers
// took in all (with several workers, from start until the last finished). A
// Busy p99 near the period means the machine is full. Percentiles are upper
// bounds of histogram buckets (within 25%).
type ClockStats struct {
	Ticks       uint64 // ticks run
	Skipped     uint64 // ticks skipped after falling more than MaxLag behind
	Subscribers int

	LateP50, LateP99, LateMax time.Duration
	BusyP50, BusyP99, BusyMax time.Duration
}

// Clock is the one shared media clock: a single loop that, every Period, calls
// each subscriber's function once, instead of a ticker per leg (a ticker per
// leg measured five times the CPU, MEDIA-COSTS.md). Ticks are scheduled from
// the start time (tick k is due at start + k·Period), so they never drift
// whatever the subscribers cost. The loop runs only while there are
// subscribers.
//
// Subscriber functions run on the clock's goroutines: one subscription's
// function is never called concurrently with itself, but different
// subscriptions run concurrently on different workers. A function must do its
// frame's work and return; it must not block, since every subscriber shares the
// tick.
//
// The clock uses the time package's clock and timers; tests run it inside a
// testing/synctest bubble, where both are virtual.
type Clock struct {
	period  time.Duration
	maxLag  time.Duration
	workers int

	mu      sync.Mutex
	subs    []*Subscription // replaced, never modified in place; the first nfirst are SubscribeFirst's
	nfirst  int
	running bool
	closed  bool
	quit    chan struct{}
	loops   sync.WaitGroup

	ticks, skipped atomic.Uint64
	late, busy     durationHist
}

// NewClock returns a clock; it starts ticking with the first subscriber.
func NewClock(cfg ClockConfig) *Clock {
	if cfg.Period <= 0 {
		cfg.Period = DefaultClockPeriod
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = DefaultClockMaxLag
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	return &Clock{period: cfg.Period, maxLag: cfg.MaxLag, workers: cfg.Workers, quit: make(chan struct{})}
}

// Subscription is one registered tick function.
type Subscription struct {
	c     *Clock
	fn    func(Tick)
	first bool

	mu      sync.Mutex
	running bool
	stopped bool
	done    chan struct{}
}

// Subscribe registers fn to be called on every tick from the next one on. It
// may be called from any goroutine, including from a tick function. After
// Close it returns a subscription that is already stopped.
func (c *Clock) Subscribe(fn func(Tick)) *Subscription { return c.subscribe(fn, false) }

// SubscribeFirst is Subscribe for work that must be done before every other
// subscriber's in each tick: reading the packets that arrived since the last
// tick into the jitter buffers the tick's mixes then pop (Poller). Such
// functions run one after another on the clock's own goroutine, in the order
// they subscribed, before the other subscribers start; they keep the clock
// running like any subscription.
func (c *Clock) SubscribeFirst(fn func(Tick)) *Subscription { return c.subscribe(fn, true) }

func (c *Clock) subscribe(fn func(Tick), first bool) *Subscription {
	s := &Subscription{c: c, fn: fn, first: first, done: make(chan struct{})}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		s.stopped = true
		close(s.done)
		return s
	}
	if first {
		c.subs = slices.Insert(slices.Clone(c.subs), c.nfirst, s)
		c.nfirst++
	} else {
		c.subs = append(slices.Clip(c.subs), s)
	}
	if !c.running {
		c.running = true
		c.loops.Add(1)
		go c.run(time.Now())
	}
	return s
}

// Stop ends the subscription without waiting: a call of fn in progress runs
// to its end, and fn is not called again after that. It may be called from any
// goroutine, from fn itself, and more than once. Wait on Done to know fn has
// returned for the last time (never from fn itself).
func (s *Subscription) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	if !s.running {
		close(s.done)
	}
	s.mu.Unlock()
	s.c.remove(s)
}

// Done is closed once the subscription is stopped and fn is not running.
func (s *Subscription) Done() <-chan struct{} { return s.done }

func (s *Subscription) call(t Tick) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.running = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		if s.stopped {
			close(s.done)
		}
		s.mu.Unlock()
	}()
	s.fn(t)
}

func (c *Clock) remove(s *Subscription) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.subs, s); i >= 0 {
		c.subs = slices.Delete(slices.Clone(c.subs), i, i+1)
		if s.first {
			c.nfirst--
		}
	}
}

// Close stops the clock: no tick starts after it returns, and it waits for the
// tick in progress. Every subscription is stopped. It must not be called from
// a tick function.
func (c *Clock) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.quit)
	subs := c.subs
	c.mu.Unlock()
	c.loops.Wait()
	for _, s := range subs {
		s.Stop()
	}
}

// Stats returns the clock's counters and lateness and busy percentiles.
func (c *Clock) Stats() ClockStats {
	c.mu.Lock()
	n := len(c.subs)
	c.mu.Unlock()
	return ClockStats{
		Ticks:       c.ticks.Load(),
		Skipped:     c.skipped.Load(),
		Subscribers: n,
		LateP50:     c.late.percentile(0.50),
		LateP99:     c.late.percentile(0.99),
		LateMax:     time.Duration(c.late.max.Load()),
		BusyP50:     c.busy.percentile(0.50),
		BusyP99:     c.busy.percentile(0.99),
		BusyMax:     time.Duration(c.busy.max.Load()),
	}
}

// Histogram is a snapshot of one of the clock's duration histograms, for
// exporting (a Prometheus histogram) and for windowed percentiles: two
// snapshots subtract bucket by bucket. Counts[i] is how many durations fell
// below Upper[i] and at or above Upper[i-1]; the last bucket also holds
// everything longer. Upper bounds are within 25% of each other.
type Histogram struct {
	Upper  []time.Duration
	Counts []uint64
	Count  uint64
	Sum    time.Duration
}

// LateHistogram returns how late ticks started, since the clock was made.
func (c *Clock) LateHistogram() Histogram { return c.late.snapshot() }

// BusyHistogram returns how long ticks took, since the clock was made.
func (c *Clock) BusyHistogram() Histogram { return c.busy.snapshot() }

// snapshot returns the histogram's buckets up to the last one used, so an
// export stays short (about 80 buckets for durations up to a second).
func (h *durationHist) snapshot() Histogram {
	var out Histogram
	last := 0
	var counts [histBuckets]uint64
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		if counts[i] != 0 {
			last = i
		}
	}
	// At least up to 10 ms, so exports keep a stable shape at low load.
	last = max(last, histBucket(10*time.Millisecond))
	for i := 0; i <= last; i++ {
		out.Upper = append(out.Upper, histUpper(i))
		out.Counts = append(out.Counts, counts[i])
		out.Count += counts[i]
	}
	out.Sum = time.Duration(h.sum.Load())
	return out
}

// snapshot returns the subscribers for a tick (SubscribeFirst's, then the
// rest), or stops the loop (under the same lock Subscribe restarts it with)
// when there are none.
func (c *Clock) snapshot() (first, rest []*Subscription, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.subs) == 0 || c.closed {
		c.running = false
		return nil, nil, false
	}
	return c.subs[:c.nfirst], c.subs[c.nfirst:], true
}

// run is the clock loop, one goroutine while there are subscribers.
//
// A tick's subscribers are a queue that the clock goroutine and its workers
// take from until it is empty (one atomic add per subscriber), not fixed
// shards: a worker that is waiting for a core when the tick starts (the
// machine is busy with other goroutines) does not hold the tick up; the
// clock goroutine takes its share, and the worker, when it runs, finds the
// queue empty.
func (c *Clock) run(start time.Time) {
	defer c.loops.Done()
	var work []chan *tickJob
	for range c.workers - 1 {
		// One slot: handing out a tick never blocks the clock. A worker
		// still holding a finished tick's job when the next comes gets
		// this one on its next receive; the jobs are self-draining.
		ch := make(chan *tickJob, 1)
		work = append(work, ch)
		go func() {
			for j := range ch {
				j.run()
			}
		}()
	}
	defer func() {
		for _, ch := range work {
			close(ch)
		}
	}()

	timer := time.NewTimer(c.period)
	defer timer.Stop()
	var seq uint64
	for {
		seq++
		due := start.Add(time.Duration(seq) * c.period)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-c.quit:
				return
			}
		}
		now := time.Now()
		late := now.Sub(due)
		if late >= c.maxLag {
			behind := uint64(late / c.period)
			seq += behind
			c.skipped.Add(behind)
			due = start.Add(time.Duration(seq) * c.period)
			late = now.Sub(due)
		}
		first, subs, ok := c.snapshot()
		if !ok {
			return
		}
		c.ticks.Add(1)
		c.late.record(late)
		t := Tick{Seq: seq, Scheduled: due, Late: late}
		for _, s := range first {
			s.call(t)
		}
		if len(subs) > 0 {
			j := &tickJob{subs: subs, tick: t, finished: make(chan struct{})}
			for _, ch := range work[:min(len(work), len(subs)-1)] {
				select {
				case ch <- j:
				default: // the worker has not taken the last job yet
				}
			}
			j.run()
			<-j.finished
		}
		c.busy.record(time.Since(now))
	}
}

// tickJob is one tick's subscribers as a queue for the clock goroutine and
// its workers.
type tickJob struct {
	subs     []*Subscription
	tick     Tick
	next     atomic.Int64  // index of the next subscriber to call
	called   atomic.Int64  // subscribers whose call has returned
	finished chan struct{} // closed when every subscriber's call returned
}

// run calls subscribers from the queue until it is empty.
func (j *tickJob) run() {
	n := int64(len(j.subs))
	for {
		i := j.next.Add(1) - 1
		if i >= n {
			return
		}
		j.subs[i].call(j.tick)
		if j.called.Add(1) == n {
			close(j.finished)
		}
	}
}

// durationHist is a lock-free histogram of durations with four buckets per
// power of two of microseconds (bucket bounds within 25%), from 1 µs to about
// 18 minutes. Any goroutine may record and read.
type durationHist struct {
	buckets [histBuckets]atomic.Uint64
	count   atomic.Uint64
	sum     atomic.Int64 // nanoseconds
	max     atomic.Int64
}

const histBuckets = 4 + 4*29

func histBucket(d time.Duration) int {
	us := uint64(max(d, 0) / time.Microsecond)
	if us < 4 {
		return int(us)
	}
	e := bits.Len64(us) - 1 // us in [2^e, 2^(e+1))
	i := 4 + 4*(e-2) + int((us>>(e-2))&3)
	return min(i, histBuckets-1)
}

// histUpper is the exclusive upper bound of bucket i.
func histUpper(i int) time.Duration {
	if i < 4 {
		return time.Duration(i+1) * time.Microsecond
	}
	e, sub := (i-4)/4+2, (i-4)%4
	return time.Duration(uint64(5+sub)<<(e-2)) * time.Microsecond
}

func (h *durationHist) record(d time.Duration) {
	h.buckets[histBucket(d)].Add(1)
	h.count.Add(1)
	h.sum.Add(int64(d))
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// percentile returns the upper bound of the bucket holding the p-quantile, or
// 0 when nothing was recorded.
func (h *durationHist) percentile(p float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(p*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.buckets {
		if seen += h.buckets[i].Load(); seen >= rank {
			return histUpper(i)
		}
	}
	return histUpper(histBuckets - 1)
}
