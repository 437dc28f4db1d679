package main

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// tickInterval is the packet time browsers use for Opus (ptime 20).
const tickInterval = 20 * time.Millisecond

// maxLag is how far the clock may fall behind before it gives up catching
// up: a few late ticks are sent at once (a browser's audio thread does the
// same after a stall), a long stall is skipped rather than burst.
const maxLag = 200 * time.Millisecond

// tailTicks keeps sending briefly after the last window so its last packets
// are not the last ones on the wire.
const tailTicks = 10

// pacer is the one media clock of the load: every 20 ms it has each connected
// client send that tick's packets. One loop over all clients, not a ticker
// per client, so the load generator's own cost stays small and flat.
//
// Ticks are due every 20 ms from the start; a tick that is late is sent at
// once, so scheduling delays on a busy machine do not lower the rate. Only
// after a stall longer than maxLag are ticks dropped; the rate actually
// achieved is reported.
type pacer struct {
	clients []*client
	plan    *atomic.Pointer[windowPlan]
	next    atomic.Uint32 // the tick being sent or next to send
	// marks receives one time per window boundary of the current plan: the
	// start of each window and the end of the last (Count+1 in all), taken
	// just before that tick's packets go out. The coordinator reads them all
	// before it publishes the next plan.
	marks chan time.Time
	rng   *rand.Rand // payload sizes; pacer goroutine only
}

// newPacer returns a pacer for clients; windows is the window count of one plan.
func newPacer(clients []*client, plan *atomic.Pointer[windowPlan], windows int, seed uint64) *pacer {
	return &pacer{clients: clients, plan: plan, marks: make(chan time.Time, windows+1),
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// run sends ticks until ctx ends or the final plan's tail is sent; it closes
// marks when it returns.
func (p *pacer) run(ctx context.Context) {
	defer close(p.marks)
	timer := time.NewTimer(tickInterval)
	defer timer.Stop()
	due := time.Now()
	for {
		due = due.Add(tickInterval)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if -wait > maxLag {
			due = time.Now()
		}
		if ctx.Err() != nil {
			return
		}
		k := p.next.Load()
		plan := p.plan.Load()
		if plan != nil {
			if k >= plan.Start && k <= plan.end() && (k-plan.Start)%plan.Ticks == 0 {
				p.marks <- time.Now() // buffered for every boundary: never blocks
			}
			if plan.Final && k >= plan.end()+tailTicks {
				return
			}
		}
		w := plan.index(k)
		for _, c := range p.clients {
			c.sendTick(k, w, minAudioPayload+p.rng.IntN(maxAudioPayload-minAudioPayload+1))
		}
		p.next.Store(k + 1)
	}
}
