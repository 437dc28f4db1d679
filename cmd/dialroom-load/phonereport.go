package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// phoneStep is one load level of a phone run and what it measured.
type phoneStep struct {
	legs, rooms int
	samples     []phoneSample // Windows+1 boundaries
	windows     []phoneWindow
	latency     []time.Duration // every onset → Opus sample of the step's windows, sorted
	firm        *memReading     // live heap, stacks, goroutines after a forced collection; nil without --firm-memory
}

// phoneWindow is one measurement window.
type phoneWindow struct {
	wall               time.Duration
	serverCPU, selfCPU time.Duration
	machineCPU         time.Duration
	serverCoresBusy    float64 // share of the server's CPUs' time anything ran; NaN when not pinned
	serverCoresIRQ     float64 // … of it in interrupts and softirqs (charged to no process)
	serverCPUs         []int
	rss                int64
	heap, goroutines   float64
	live, stack        float64 // live heap as of the last GC; goroutine stacks (bytes)
	gcs                float64 // the server's GC cycles in the window
	lateP50, lateP99   time.Duration
	late5ms            float64 // ticks that started 5 ms late or more
	ticks              float64
	busyP99            time.Duration
	addedP50, addedP99 time.Duration // the server's own phone → browser delay (its histogram)
	skipped            float64
	received, lost     int64
	expected           int64 // legs × 20 ms periods of the window
	lagged             int64
	legs               int
}

// collect turns the boundary samples into windows. serverCPUs are the CPUs
// the server is pinned to, none if it is not.
func (st *phoneStep) collect(lat *latencyLog, serverCPUs []int) {
	for i := 1; i < len(st.samples); i++ {
		a, b := st.samples[i-1], st.samples[i]
		late := b.metrics.late.sub(a.metrics.late)
		busy := b.metrics.busy.sub(a.metrics.busy)
		added := b.metrics.added.sub(a.metrics.added)
		w := phoneWindow{wall: b.proc.at.Sub(a.proc.at),
			serverCPU:  b.proc.serverCPU - a.proc.serverCPU,
			selfCPU:    b.proc.selfCPU - a.proc.selfCPU,
			machineCPU: time.Duration(b.proc.machine.busy-a.proc.machine.busy) * time.Second / userHZ,
			rss:        b.proc.serverRSS,
			heap:       b.metrics.values["go_memstats_heap_inuse_bytes"],
			goroutines: b.metrics.values["go_goroutines"],
			live:       b.metrics.values["go_gc_heap_live_bytes"],
			stack:      b.metrics.values["go_memstats_stack_inuse_bytes"],
			gcs: b.metrics.values["go_gc_duration_seconds_count"] -
				a.metrics.values["go_gc_duration_seconds_count"],
			lateP50: late.quantile(0.50), lateP99: late.quantile(0.99), late5ms: late.above(phoneGoalLateP99),
			ticks:    late.count(),
			busyP99:  busy.quantile(0.99),
			addedP50: added.quantile(0.50), addedP99: added.quantile(0.99),
			skipped: b.metrics.values["dialroom_media_clock_skipped_ticks_total"] -
				a.metrics.values["dialroom_media_clock_skipped_ticks_total"],
			received: b.received - a.received, lost: b.lost - a.lost,
			lagged: b.lagged - a.lagged, legs: b.legs}
		w.expected = int64(b.legs) * int64(w.wall/tickInterval)
		w.serverCoresBusy, w.serverCoresIRQ, w.serverCPUs = math.NaN(), math.NaN(), serverCPUs
		if len(serverCPUs) > 0 {
			bt, at := b.proc.machine.busyOf(serverCPUs), a.proc.machine.busyOf(serverCPUs)
			if bt.total > at.total {
				w.serverCoresBusy = float64(bt.busy-at.busy) / float64(bt.total-at.total)
				w.serverCoresIRQ = float64(bt.irq-at.irq) / float64(bt.total-at.total)
			}
		}
		st.windows = append(st.windows, w)
	}
	st.latency = lat.between(st.samples[0].proc.at, st.samples[len(st.samples)-1].proc.at)
}

// phoneFigures are a step's medians over its windows.
type phoneFigures struct {
	serverPct, selfPct, machinePct float64 // % of one core; machine: % of all cores
	serverCoresPct                 float64 // % of the server's CPUs busy (anything); NaN unpinned
	serverCoresIRQPct              float64 // … in interrupts and softirqs
	serverCoresOtherPct            float64 // … by other processes: busy - irq - the server's own CPU
	usPerLegFrame                  float64 // server CPU per leg per 20 ms frame
	rssMiB, heapMiB                float64
	liveMiB, stackMiB              float64
	goroutines                     float64
	gcPerSec                       float64 // the server's GC cycles per second
	lateP50, lateP99, busyP99      time.Duration
	addedP50, addedP99             time.Duration // server-side phone → browser delay
	late5ms, skipped, lagged       float64       // sums over the windows
	ticks                          float64       // clock ticks run in the windows
	lossPct                        float64       // phones' missing packets, all windows
	rxPct                          float64       // received / expected, all windows
	latP50, latP99, latMax         time.Duration
	latN                           int
}

func (st *phoneStep) figures(cores int) phoneFigures {
	var f phoneFigures
	med := func(get func(w phoneWindow) float64) float64 {
		var v []float64
		for _, w := range st.windows {
			v = append(v, get(w))
		}
		return median(v)
	}
	f.serverPct = med(func(w phoneWindow) float64 { return 100 * w.serverCPU.Seconds() / w.wall.Seconds() })
	f.selfPct = med(func(w phoneWindow) float64 { return 100 * w.selfCPU.Seconds() / w.wall.Seconds() })
	f.machinePct = med(func(w phoneWindow) float64 {
		return 100 * w.machineCPU.Seconds() / w.wall.Seconds() / float64(max(cores, 1))
	})
	f.serverCoresPct = med(func(w phoneWindow) float64 { return 100 * w.serverCoresBusy })
	f.serverCoresIRQPct = med(func(w phoneWindow) float64 { return 100 * w.serverCoresIRQ })
	f.serverCoresOtherPct = med(func(w phoneWindow) float64 {
		// % of the server's CPUs' time: the server's own CPU is % of one core.
		n := float64(max(len(w.serverCPUs), 1))
		own := w.serverCPU.Seconds() / w.wall.Seconds() / n
		return max(0, 100*(w.serverCoresBusy-w.serverCoresIRQ-own))
	})
	f.usPerLegFrame = med(func(w phoneWindow) float64 {
		frames := float64(w.legs) * w.wall.Seconds() * 50
		return float64(w.serverCPU.Microseconds()) / max(frames, 1)
	})
	f.rssMiB = med(func(w phoneWindow) float64 { return float64(w.rss) / (1 << 20) })
	f.heapMiB = med(func(w phoneWindow) float64 { return w.heap / (1 << 20) })
	f.liveMiB = med(func(w phoneWindow) float64 { return w.live / (1 << 20) })
	f.stackMiB = med(func(w phoneWindow) float64 { return w.stack / (1 << 20) })
	f.goroutines = med(func(w phoneWindow) float64 { return w.goroutines })
	if st.firm != nil {
		f.liveMiB, f.stackMiB, f.goroutines = st.firm.liveMiB, st.firm.stackMiB, st.firm.goroutines
	}
	f.gcPerSec = med(func(w phoneWindow) float64 { return w.gcs / w.wall.Seconds() })
	f.lateP50 = time.Duration(med(func(w phoneWindow) float64 { return float64(w.lateP50) }))
	f.lateP99 = time.Duration(med(func(w phoneWindow) float64 { return float64(w.lateP99) }))
	f.busyP99 = time.Duration(med(func(w phoneWindow) float64 { return float64(w.busyP99) }))
	f.addedP50 = time.Duration(med(func(w phoneWindow) float64 { return float64(w.addedP50) }))
	f.addedP99 = time.Duration(med(func(w phoneWindow) float64 { return float64(w.addedP99) }))
	var rx, lost, exp int64
	for _, w := range st.windows {
		f.late5ms += w.late5ms
		f.ticks += w.ticks
		f.skipped += w.skipped
		f.lagged += float64(w.lagged)
		rx += w.received
		lost += w.lost
		exp += w.expected
	}
	if rx+lost > 0 {
		f.lossPct = 100 * float64(lost) / float64(rx+lost)
	}
	if exp > 0 {
		f.rxPct = 100 * float64(rx) / float64(exp)
	}
	f.latN = len(st.latency)
	f.latP50, f.latP99 = quantile(st.latency, 0.5), quantile(st.latency, 0.99)
	if f.latN > 0 {
		f.latMax = st.latency[f.latN-1]
	}
	return f
}

// passed reports whether the step met issue 4's goal: p99 lateness under
// 5 ms in every window's median, no skipped ticks, no phone frame lost, and
// the load's own clock on time (else the offered load was not what it says).
func (st *phoneStep) passed() bool {
	f := st.figures(1)
	return f.lateP99 < phoneGoalLateP99 && f.skipped == 0 && f.lossPct == 0 && f.lagged == 0
}

// sustainable reports whether the server kept up at all: the phones got at
// least 90% of their frames and the clock skipped under 5% of its ticks. The
// ramp goes on past a step that misses the goal (the machine is shared, and
// a miss at one step may be another job's burst) but not past one that is
// not sustainable.
func (st *phoneStep) sustainable() bool {
	f := st.figures(1)
	return f.rxPct >= 90 && f.skipped <= 0.05*(f.ticks+f.skipped)
}

// median returns the median of v (mean of the middle two), 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// phoneResult is everything a phone run measured.
type phoneResult struct {
	cfg     Config
	started time.Time
	idle    phoneSample
	steps   []*phoneStep
	aborted error
	cpus    cpuReport // which CPUs the server and the load generator had

	setupTimes            []time.Duration
	setupFails            int
	serverWarn, serverErr int
	serverLog             []string
}

// serverPinned reports whether the server ran on CPUs of its own.
func (r *phoneResult) serverPinned() bool { return len(r.cfg.ServerCPUs) > 0 }

func (r *phoneResult) print(out io.Writer) {
	cores := r.idle.proc.machine.cores
	fmt.Fprintf(out, "\ndialroom phone load, %s, %d cores, rooms of %d phones + %d browsers, phones speak %s, phone voice to browsers as %s, %d windows of %v per step\n",
		r.started.UTC().Format("2006-01-02 15:04 UTC"), cores, phonesPerRoom, browsersPerRoom, r.cfg.PhoneWire, r.cfg.PhoneCodec, r.cfg.Windows, r.cfg.Duration)
	fmt.Fprintf(out, "CPUs: %v\n", r.cpus)
	if r.cfg.ServerNice != 0 {
		fmt.Fprintf(out, "server at nice %d (its config's nice)\n", r.cfg.ServerNice)
	}
	fmt.Fprintf(out, "idle server: RSS %.1f MiB, Go heap in use %.1f MiB, %.0f goroutines\n",
		float64(r.idle.proc.serverRSS)/(1<<20), r.idle.metrics.values["go_memstats_heap_inuse_bytes"]/(1<<20),
		r.idle.metrics.values["go_goroutines"])
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "legs\trooms\tserver cpu%\tµs/leg/frame\tsrv CPUs busy%\tsrv CPUs irq%\tsrv CPUs other%\tRSS MiB\tRSS KiB/leg\theap KiB/leg\tlive KiB/leg\tstack KiB/leg\tgoroutines/leg\tlate p50\tlate p99\tbusy p99\tGC/s\tticks ≥5ms\tskipped\tphone loss %\trx %\tlat p50\tlat p99\tlat n\tsrv added p50\tsrv added p99\tload cpu%\tload lag\tmachine %\tpass\t")
	base := r.memoryBase(cores)
	for _, st := range r.steps {
		f := st.figures(cores)
		g := base.perLeg(st.legs, f)
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%v\t%v\t%v\t%.2f\t%.0f\t%.0f\t%.3f\t%.1f\t%v\t%v\t%d\t%v\t%v\t%.1f\t%.0f\t%.0f\t%v\t\n",
			st.legs, st.rooms, f.serverPct, f.usPerLegFrame, orDash(f.serverCoresPct, 0), orDash(f.serverCoresIRQPct, 0),
			orDash(f.serverCoresOtherPct, 0), f.rssMiB, orBase(g.rssKiB, 0), orBase(g.heapKiB, 0),
			orBase(g.liveKiB, 0), orBase(g.stackKiB, 0), orBase(g.goroutines, 1),
			f.lateP50, f.lateP99, f.busyP99, f.gcPerSec, f.late5ms,
			f.skipped, f.lossPct, f.rxPct, f.latP50.Round(100*time.Microsecond), f.latP99.Round(100*time.Microsecond),
			f.latN, f.addedP50, f.addedP99, f.selfPct, f.lagged, f.machinePct, st.passed())
	}
	tw.Flush()
	if len(r.steps) > 0 {
		fmt.Fprintf(out, "memory per leg: growth from the first step (%d legs, \"base\") to each later one, per added leg"+
			" (its room's browsers' share included)\n", base.legs)
		if r.cfg.FirmMemory {
			fmt.Fprintln(out, "  live heap, stacks and goroutines read after a collection forced at each step's end (--firm-memory)")
		}
		if g, ok := r.idleGrowth(cores); ok {
			fmt.Fprintf(out, "  idle → first step: RSS %.0f KiB/leg, heap %.0f KiB/leg, live heap %.0f KiB/leg, stacks %.0f KiB/leg, %.1f goroutines/leg"+
				" (RSS and heap also move by the start-up garbage freed meanwhile: RSS may even shrink; live heap, stacks and goroutines do not)\n",
				g.rssKiB, g.heapKiB, g.liveKiB, g.stackKiB, g.goroutines)
		}
	}
	maxN, firstMiss := r.capacity()
	miss := "none missed"
	if firstMiss > 0 {
		miss = fmt.Sprintf("first miss at %d", firstMiss)
	}
	fmt.Fprintf(out, "largest N meeting the goal (p99 lateness < %v, no skipped ticks, no phone loss): %d; %s\n",
		phoneGoalLateP99, maxN, miss)
	if line := r.perCoreLine(maxN, firstMiss); line != "" {
		fmt.Fprintln(out, line)
	}
	if len(r.setupTimes) > 0 {
		s := slices.Clone(r.setupTimes)
		slices.Sort(s)
		fmt.Fprintf(out, "call setup INVITE→200 while loading: p50 %v, p99 %v, %d calls, %d failed\n",
			quantile(s, 0.5).Round(100*time.Microsecond), quantile(s, 0.99).Round(100*time.Microsecond), len(s), r.setupFails)
	}
	if r.aborted != nil {
		fmt.Fprintf(out, "stopped early: %v\n", r.aborted)
	}
	if r.serverWarn+r.serverErr > 0 {
		fmt.Fprintf(out, "server log: %d warnings, %d errors, e.g.\n  %s\n", r.serverWarn, r.serverErr, strings.Join(r.serverLog, "\n  "))
	}
}

// capacity returns the largest step that met the goal and the first that
// did not (0 for none).
func (r *phoneResult) capacity() (maxN, firstMiss int) {
	for _, st := range r.steps {
		if st.passed() {
			maxN = st.legs
		} else if firstMiss == 0 {
			firstMiss = st.legs
		}
	}
	return maxN, firstMiss
}

// perCoreLine states the capacity per server core when the server ran on
// CPUs of its own, "" otherwise. It is what was measured on that many CPUs;
// nothing is extrapolated to more. A smaller step that missed the goal is
// named, so that a lucky larger step does not read as a clean ramp.
func (r *phoneResult) perCoreLine(maxN, firstMiss int) string {
	if !r.serverPinned() {
		return ""
	}
	n := len(r.cpus.server)
	if n == 0 {
		n = len(r.cfg.ServerCPUs)
	}
	what := "legs per server core"
	if n != 1 {
		what = fmt.Sprintf("legs on %d server cores (measured on %d, not per core)", n, n)
	}
	line := fmt.Sprintf("capacity with the server alone on CPU %s (GOMAXPROCS %d) and the load generator on CPU %s: %d %s",
		formatCPUList(r.cpus.server), r.cpus.serverProcs, formatCPUList(r.cpus.load), maxN, what)
	if firstMiss > 0 && firstMiss < maxN {
		line += fmt.Sprintf(" (but %d missed the goal in this run)", firstMiss)
	}
	return line
}

// memoryBase is what per-leg memory is measured from: the first step. A
// fresh server's RSS still holds tens of MiB of argon2 garbage from its first
// start and the login, which the runtime returns to the OS at an unknown
// moment, so growth from idle misleads; growth from the first loaded step to
// later ones is the cost of the added legs (with their rooms' browsers).
// Growth from idle to the first step is printed separately (idleGrowth).
type memoryBase struct {
	legs int
	mem  memReading
}

// memReading is one reading of the server's memory: MiB, and goroutines.
type memReading struct {
	rssMiB, heapMiB, liveMiB, stackMiB, goroutines float64
}

func (f phoneFigures) memory() memReading {
	return memReading{rssMiB: f.rssMiB, heapMiB: f.heapMiB, liveMiB: f.liveMiB, stackMiB: f.stackMiB, goroutines: f.goroutines}
}

func (r *phoneResult) memoryBase(cores int) memoryBase {
	if len(r.steps) == 0 {
		return memoryBase{}
	}
	return memoryBase{legs: r.steps[0].legs, mem: r.steps[0].figures(cores).memory()}
}

// perLeg returns the growth per added leg; NaN in every field for the base
// step itself (printed as "base").
func (b memoryBase) perLeg(legs int, f phoneFigures) memGrowth {
	if legs <= b.legs {
		nan := math.NaN()
		return memGrowth{nan, nan, nan, nan, nan}
	}
	return growth(b.mem, f.memory(), float64(legs-b.legs))
}

// memGrowth is memory growth per leg between two readings: KiB, and
// goroutines. The live heap (as of the last collection) and the stacks are
// what the legs hold; RSS adds the collector's headroom (GOGC) and what the
// runtime has not returned to the system.
type memGrowth struct{ rssKiB, heapKiB, liveKiB, stackKiB, goroutines float64 }

// growth divides the difference of two readings by n legs.
func growth(from, to memReading, n float64) memGrowth {
	return memGrowth{
		rssKiB:     (to.rssMiB - from.rssMiB) * 1024 / n,
		heapKiB:    (to.heapMiB - from.heapMiB) * 1024 / n,
		liveKiB:    (to.liveMiB - from.liveMiB) * 1024 / n,
		stackKiB:   (to.stackMiB - from.stackMiB) * 1024 / n,
		goroutines: (to.goroutines - from.goroutines) / n,
	}
}

// idleGrowth returns the growth per leg from the idle server (before any
// room) to the first step; false when there is no step or no idle reading.
func (r *phoneResult) idleGrowth(cores int) (memGrowth, bool) {
	if len(r.steps) == 0 || r.idle.proc.serverRSS == 0 || r.steps[0].legs == 0 {
		return memGrowth{}, false
	}
	iv := r.idle.metrics.values
	idle := memReading{
		rssMiB:     float64(r.idle.proc.serverRSS) / (1 << 20),
		heapMiB:    iv["go_memstats_heap_inuse_bytes"] / (1 << 20),
		liveMiB:    iv["go_gc_heap_live_bytes"] / (1 << 20),
		stackMiB:   iv["go_memstats_stack_inuse_bytes"] / (1 << 20),
		goroutines: iv["go_goroutines"],
	}
	if f := r.idle.firm; f != nil {
		idle.liveMiB, idle.stackMiB, idle.goroutines = f.liveMiB, f.stackMiB, f.goroutines
	}
	return growth(idle, r.steps[0].figures(cores).memory(), float64(r.steps[0].legs)), true
}

// orBase formats a per-leg figure; NaN (the base step) prints as "base".
func orBase(v float64, prec int) string {
	if math.IsNaN(v) {
		return "base"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// orDash formats a figure that may be unknown (NaN) as "—".
func orDash(v float64, prec int) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// printMarkdown prints one docs/benchmarks.md row per step.
func (r *phoneResult) printMarkdown(out io.Writer) {
	cores := r.idle.proc.machine.cores
	fmt.Fprintf(out, "\nCPUs: %v\n", r.cpus)
	fmt.Fprintln(out, "\n| phone legs | rooms | server CPU % of a core | µs per leg per frame | server CPUs busy % (irq / other) | RSS MiB | RSS KiB per leg | heap KiB per leg | live heap + stacks KiB per leg | clock late p50 | clock late p99 | skipped ticks | phone loss % | latency p50 | latency p99 | server-added p50 / p99 | load gen CPU % | machine busy % | goal |")
	fmt.Fprintln(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
	base := r.memoryBase(cores)
	for _, st := range r.steps {
		f := st.figures(cores)
		g := base.perLeg(st.legs, f)
		goal := "missed"
		if st.passed() {
			goal = "met"
		}
		fmt.Fprintf(out, "| %d | %d | %.1f | %.1f | %s (%s / %s) | %.1f | %s | %s | %s + %s | %v | %v | %.0f | %.3f | %v | %v | %v / %v | %.1f | %.0f | %s |\n",
			st.legs, st.rooms, f.serverPct, f.usPerLegFrame, orDash(f.serverCoresPct, 0), orDash(f.serverCoresIRQPct, 0),
			orDash(f.serverCoresOtherPct, 0), f.rssMiB, orBase(g.rssKiB, 0), orBase(g.heapKiB, 0),
			orBase(g.liveKiB, 0), orBase(g.stackKiB, 0), f.lateP50, f.lateP99, f.skipped, f.lossPct,
			f.latP50.Round(100*time.Microsecond), f.latP99.Round(100*time.Microsecond), f.addedP50, f.addedP99, f.selfPct, f.machinePct, goal)
	}
	if g, ok := r.idleGrowth(cores); ok {
		fmt.Fprintf(out, "\nMemory from the idle server to the first step (%d legs): RSS %.0f KiB, heap %.0f KiB, live heap %.0f KiB, stacks %.0f KiB, %.1f goroutines per leg.\n",
			r.steps[0].legs, g.rssKiB, g.heapKiB, g.liveKiB, g.stackKiB, g.goroutines)
	}
	if line := r.perCoreLine(r.capacity()); line != "" {
		fmt.Fprintln(out, line)
	}
}
