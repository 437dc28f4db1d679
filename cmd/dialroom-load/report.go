package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// step is one load level of a run: how many rooms were open, the windows
// measured at that level and the readings at their edges.
type step struct {
	rooms, participants int
	plan                *windowPlan
	samples             []sample // plan.Count+1 boundaries
	notReady, missing   int      // clients and streams not set up when measuring began
}

// stepResult is what a step measured.
type stepResult struct {
	*step
	windows     []windowResult
	roomResults []roomResult
}

// windowResult is one measurement window, all open rooms together.
type windowResult struct {
	wall       time.Duration
	ticks      uint32
	serverCPU  time.Duration
	selfCPU    time.Duration
	machineCPU time.Duration // busy time of all cores together
	end        sample        // the reading at the window's end (memory)
	expected   int64         // packets the senders wrote × their receivers
	received   int64         // distinct packets the receivers got
}

// roomResult is one room over a step's windows.
type roomResult struct {
	index          int
	number         string
	size           int
	expected       int64
	received       int64
	missingStreams int
	talkers        []string // member ids that send speech levels
	talkingSeen    []string // the operator's last talking message
}

// result is everything a run measured.
type result struct {
	cfg     Config
	started time.Time
	url     string
	pid     int
	spawned bool
	cores   int
	idle    sample // before any client
	steps   []stepResult

	aborted               error // why the steps after the last reported one are missing
	sendFailures          int64
	dups, foreign         int64
	protocolErrors        map[string]int
	endedEarly            map[string]int // why sessions ended before the tool left
	serverWarn, serverErr int
	serverLog             []string // the first warning or error lines
}

// collectStep reads a step's counters once the pacer has stopped and the last
// packets are in. rooms are the rooms open during the step.
func collectStep(cfg Config, rooms []*room, st *step) stepResult {
	sr := stepResult{step: st, windows: make([]windowResult, st.plan.Count)}
	for i := range sr.windows {
		a, b := st.samples[i], st.samples[i+1]
		sr.windows[i] = windowResult{wall: b.at.Sub(a.at), ticks: st.plan.Ticks,
			serverCPU: b.serverCPU - a.serverCPU, selfCPU: b.selfCPU - a.selfCPU,
			machineCPU: time.Duration(b.machine.busy-a.machine.busy) * time.Second / userHZ,
			end:        b}
	}
	for _, r := range rooms {
		rr := roomResult{index: r.index, number: r.number.Formatted, size: len(r.clients),
			talkingSeen: r.clients[0].talkingSeen()}
		for _, c := range r.clients {
			if c.talker {
				rr.talkers = append(rr.talkers, c.selfID())
			}
			for _, o := range r.clients {
				if o == c {
					continue
				}
				for _, s := range []*outStream{o.audio, o.video} {
					if s == nil {
						continue
					}
					sc := c.count(streamKey{member: o.selfID(), kind: s.kind})
					if sc == nil {
						rr.missingStreams++
					}
					for i := range sr.windows {
						w := st.plan.First + i
						sent := s.sent[w].Load()
						var got int64
						if sc != nil {
							got = sc.windows[w].Load()
						}
						rr.expected += sent
						rr.received += got
						sr.windows[i].expected += sent
						sr.windows[i].received += got
					}
				}
			}
		}
		sr.roomResults = append(sr.roomResults, rr)
	}
	return sr
}

// collectIssues gathers what went wrong on any client over the whole run.
func (r *result) collectIssues(clients []*client) {
	r.protocolErrors, r.endedEarly = map[string]int{}, map[string]int{}
	for _, c := range clients {
		for _, e := range c.protocolErrors() {
			r.protocolErrors[e]++
		}
		if err := c.ended(); err != nil {
			r.endedEarly[err.Error()]++
		}
		for _, s := range []*outStream{c.audio, c.video} {
			if s != nil {
				r.sendFailures += s.failed.Load()
			}
		}
		c.mu.Lock()
		for _, sc := range c.recv {
			r.dups += sc.dups.Load()
			r.foreign += sc.foreign.Load()
		}
		c.mu.Unlock()
	}
}

// figures are the per-window numbers the summary quotes medians of.
type figures struct {
	pacerRate     float64 // ticks per second, nominal 50
	deliveredRate float64 // packets per second received by all clients
	serverPct     float64 // % of one core
	perMemberPct  float64
	usPerPacket   float64
	rssMiB        float64
	heapMiB       float64
	goroutines    float64
	selfPct       float64
	othersPct     float64 // machine busy minus server and load generator
	machinePct    float64 // % of all cores
}

func (r *result) figures(w windowResult, participants int) figures {
	sec := w.wall.Seconds()
	pct := func(d time.Duration) float64 { return d.Seconds() / sec * 100 }
	f := figures{
		pacerRate:     float64(w.ticks) / sec,
		deliveredRate: float64(w.received) / sec,
		serverPct:     pct(w.serverCPU),
		selfPct:       pct(w.selfCPU),
		rssMiB:        float64(w.end.serverRSS) / (1 << 20),
		heapMiB:       w.end.heapInuse / (1 << 20),
		goroutines:    w.end.goroutines,
	}
	f.perMemberPct = f.serverPct / float64(participants)
	if w.received > 0 {
		f.usPerPacket = float64(w.serverCPU.Microseconds()) / float64(w.received)
	}
	machine := pct(w.machineCPU)
	f.othersPct = max(machine-f.serverPct-f.selfPct, 0)
	if r.cores > 0 {
		f.machinePct = machine / float64(r.cores)
	}
	return f
}

// spread is a median with the range it came from.
type spread struct{ med, lo, hi float64 }

func spreadOf(vals []float64) spread {
	s := slices.Clone(vals)
	slices.Sort(s)
	n := len(s)
	m := s[n/2]
	if n%2 == 0 {
		m = (s[n/2-1] + s[n/2]) / 2
	}
	return spread{med: m, lo: s[0], hi: s[n-1]}
}

// stat returns the spread of one figure over a step's windows.
func (r *result) stat(sr stepResult, get func(figures) float64) spread {
	vals := make([]float64, len(sr.windows))
	for i, w := range sr.windows {
		vals[i] = get(r.figures(w, sr.participants))
	}
	return spreadOf(vals)
}

// nominalTickRate is the pacer's target, ticks per second; below
// minPacerRate a step is flagged as not offering the load it claims.
const (
	nominalTickRate = float64(time.Second / tickInterval)
	minPacerRate    = 0.97 * nominalTickRate
)

// summary is one step's medians and its growth over the step before (or over
// the idle server for the first step).
type summary struct {
	label                     string
	participants              int
	expected, received        int64
	lossPct                   float64
	pacer, delivered          float64
	server                    spread
	perMember, usPerPacket    float64
	addedCPUPerMember         float64 // % of one core per added participant
	rss, heap, goroutines     float64
	addedRSSKiB, addedHeapKiB float64 // per added participant
	goroutinesPerMember       float64
	self, others, machine     float64
	hasGo, notReady           bool
	pacerBehind               bool // the offered load fell short of nominal
}

func (r *result) summaries() []summary {
	var out []summary
	prev := summary{rss: float64(r.idle.serverRSS) / (1 << 20), heap: r.idle.heapInuse / (1 << 20)}
	for _, sr := range r.steps {
		med := func(get func(figures) float64) float64 { return r.stat(sr, get).med }
		s := summary{label: fmt.Sprintf("%d×%d", sr.rooms, r.cfg.Size), participants: sr.participants,
			pacer:     med(func(f figures) float64 { return f.pacerRate }),
			delivered: med(func(f figures) float64 { return f.deliveredRate }),
			server:    r.stat(sr, func(f figures) float64 { return f.serverPct }),
			perMember: med(func(f figures) float64 { return f.perMemberPct }),
			usPerPacket: med(func(f figures) float64 {
				return f.usPerPacket
			}),
			rss:        med(func(f figures) float64 { return f.rssMiB }),
			heap:       med(func(f figures) float64 { return f.heapMiB }),
			goroutines: med(func(f figures) float64 { return f.goroutines }),
			self:       med(func(f figures) float64 { return f.selfPct }),
			others:     med(func(f figures) float64 { return f.othersPct }),
			machine:    med(func(f figures) float64 { return f.machinePct }),
			hasGo:      sr.samples[0].hasGo, notReady: sr.notReady > 0}
		for _, w := range sr.windows {
			s.expected += w.expected
			s.received += w.received
		}
		s.lossPct = lossPct(s.expected, s.received)
		s.pacerBehind = s.pacer < minPacerRate
		added := float64(sr.participants - prev.participants)
		s.addedCPUPerMember = (s.server.med - prev.server.med) / added
		s.addedRSSKiB = (s.rss - prev.rss) * 1024 / added
		s.addedHeapKiB = (s.heap - prev.heap) * 1024 / added
		s.goroutinesPerMember = (s.goroutines - r.idle.goroutines) / float64(sr.participants)
		out = append(out, s)
		prev = s
	}
	return out
}

func lossPct(expected, received int64) float64 {
	if expected == 0 {
		return 100
	}
	return float64(expected-received) / float64(expected) * 100
}

func (r *result) describeLoad() string {
	video := "no video"
	if n := r.cfg.videoSenders(); n > 0 {
		video = fmt.Sprintf("%d of %d send video (~1 Mbit/s each)", n, r.cfg.Size)
	}
	return fmt.Sprintf("rooms of %d; Opus-sized audio at 50 packets/s from every member, %d talking per room; %s",
		r.cfg.Size, r.cfg.talkers(), video)
}

// print writes the human summary: one column per step.
func (r *result) print(out io.Writer) {
	server := "not sampled (no --server-pid)"
	if r.pid > 0 {
		server = fmt.Sprintf("pid %d", r.pid)
		if r.spawned {
			server += " (spawned)"
		}
	}
	fmt.Fprintf(out, "\ndialroom-load %s, server %s at %s, %d cores\n", r.started.UTC().Format("2006-01-02 15:04 MST"), server, r.url, r.cores)
	fmt.Fprintf(out, "load: %s\n", r.describeLoad())
	fmt.Fprintf(out, "each step: %d window(s) of %v after %v warm-up; medians over windows\n\n",
		r.cfg.Windows, r.cfg.Duration, r.cfg.Warmup)

	sums := r.summaries()
	tw := tabwriter.NewWriter(out, 2, 8, 2, ' ', tabwriter.AlignRight)
	row := func(name string, cell func(s summary) string) {
		fmt.Fprint(tw, name+"\t")
		for _, s := range sums {
			fmt.Fprint(tw, cell(s)+"\t")
		}
		fmt.Fprintln(tw)
	}
	f := func(format string, get func(s summary) float64) func(summary) string {
		return func(s summary) string { return fmt.Sprintf(format, get(s)) }
	}
	row("rooms × size", func(s summary) string { return s.label })
	row("participants", func(s summary) string { return fmt.Sprint(s.participants) })
	row("pacer ticks/s (nominal 50)", func(s summary) string {
		c := fmt.Sprintf("%.1f", s.pacer)
		if s.pacerBehind {
			c += "!"
		}
		return c
	})
	row("packets/s delivered to clients", f("%.0f", func(s summary) float64 { return s.delivered }))
	row("loss %", func(s summary) string {
		c := fmt.Sprintf("%.2f", s.lossPct)
		if s.notReady {
			c += "!"
		}
		return c
	})
	if r.pid > 0 {
		row("server CPU, % of one core", f("%.1f", func(s summary) float64 { return s.server.med }))
		row("  min–max over windows", func(s summary) string { return fmt.Sprintf("%.1f–%.1f", s.server.lo, s.server.hi) })
		row("  per participant, %", f("%.3f", func(s summary) float64 { return s.perMember }))
		row("  per added participant, % (1)", f("%.3f", func(s summary) float64 { return s.addedCPUPerMember }))
		row("  per delivered packet, µs", f("%.1f", func(s summary) float64 { return s.usPerPacket }))
		row("server RSS, MiB", f("%.1f", func(s summary) float64 { return s.rss }))
		row("  per added participant, KiB (1)", f("%.0f", func(s summary) float64 { return s.addedRSSKiB }))
	}
	if len(sums) > 0 && sums[0].hasGo {
		row("Go heap in use, MiB", f("%.1f", func(s summary) float64 { return s.heap }))
		row("  per added participant, KiB (1)", f("%.0f", func(s summary) float64 { return s.addedHeapKiB }))
		row("goroutines per participant", f("%.1f", func(s summary) float64 { return s.goroutinesPerMember }))
	}
	row("load generator CPU, % of one core", f("%.1f", func(s summary) float64 { return s.self }))
	row("other processes, % of one core", f("%.1f", func(s summary) float64 { return s.others }))
	row(fmt.Sprintf("machine busy, %% of %d cores", r.cores), f("%.1f", func(s summary) float64 { return s.machine }))
	tw.Flush()
	fmt.Fprintf(out, "(1) growth over the previous step; the first step is compared with the idle server, whose\n"+
		"    memory still holds password-hash garbage (idle RSS %.1f MiB, heap %.1f MiB), so trust later steps.\n",
		float64(r.idle.serverRSS)/(1<<20), r.idle.heapInuse/(1<<20))
	for _, s := range sums {
		if s.notReady {
			fmt.Fprintf(out, "! step %s: not every client was set up when measuring began; missing streams count as lost.\n", s.label)
		}
		if s.pacerBehind {
			fmt.Fprintf(out, "! step %s: the load generator fell behind (%.0f%% of the nominal packet rate): the machine is\n"+
				"  saturated (see other processes); these figures understate the load and do not find the server's limit.\n",
				s.label, s.pacer/nominalTickRate*100)
		}
	}

	if r.aborted != nil {
		fmt.Fprintf(out, "! %v\n", r.aborted)
	}

	last := r.steps[len(r.steps)-1]
	fmt.Fprintf(out, "\nrooms in the last step (%d×%d):\n", last.rooms, r.cfg.Size)
	tw = tabwriter.NewWriter(out, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "room\tnumber\tmembers\texpected\treceived\tloss %\tmissing streams\ttalking seen\t")
	for _, rr := range last.roomResults {
		seen := strings.Join(rr.talkingSeen, ",")
		if !slices.Equal(sortedCopy(rr.talkingSeen), sortedCopy(rr.talkers)) {
			seen += " (want " + strings.Join(rr.talkers, ",") + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%.2f\t%d\t%s\t\n", rr.index+1, rr.number, rr.size,
			rr.expected, rr.received, lossPct(rr.expected, rr.received), rr.missingStreams, seen)
	}
	tw.Flush()

	if r.dups > 0 || r.foreign > 0 || r.sendFailures > 0 {
		fmt.Fprintf(out, "\nduplicates (retransmissions) %d, packets without our stamp %d, failed sends %d\n", r.dups, r.foreign, r.sendFailures)
	}
	printCounts(out, "protocol errors received", r.protocolErrors)
	printCounts(out, "sessions that ended before the tool left", r.endedEarly)
	if r.serverWarn+r.serverErr > 0 {
		fmt.Fprintf(out, "\nserver log: %d warnings, %d errors, e.g.:\n", r.serverWarn, r.serverErr)
		for _, l := range r.serverLog {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
}

// markdownHeader heads the table printMarkdown writes rows of.
const markdownHeader = "| rooms×size | participants | delivered pkt/s | loss % | server CPU % | CPU % / participant | µs / packet | RSS MiB | heap MiB | goroutines / participant | load gen CPU % | others CPU % |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

// printMarkdown writes one docs/benchmarks.md table row per step, medians only.
func (r *result) printMarkdown(out io.Writer) {
	fmt.Fprintf(out, "\n%s\n", markdownHeader)
	if r.aborted != nil {
		defer fmt.Fprintf(out, "\n%v\n", r.aborted)
	}
	for _, s := range r.summaries() {
		fmt.Fprintf(out, "| %s | %d | %.0f | %.2f | %.1f | %.3f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
			s.label, s.participants, s.delivered, s.lossPct, s.server.med, s.perMember, s.usPerPacket,
			s.rss, s.heap, s.goroutinesPerMember, s.self, s.others)
	}
}

func printCounts(out io.Writer, title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return m[b] - m[a] })
	fmt.Fprintf(out, "\n%s:\n", title)
	for i, k := range keys {
		if i == 5 {
			fmt.Fprintf(out, "  … and %d more kinds\n", len(keys)-5)
			break
		}
		fmt.Fprintf(out, "  %4d × %s\n", m[k], k)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
