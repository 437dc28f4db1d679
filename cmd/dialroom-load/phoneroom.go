package main

import (
	"slices"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// phonesPerRoom and browsersPerRoom make issue 4's rooms of 10: eight phone
// legs, the operator's browser and one browser guest.
const (
	phonesPerRoom   = 8
	browsersPerRoom = 2
)

// onsetMatchWindow bounds how long after a phone's tone onset a marker
// packet still counts as its first Opus packet. Onsets in a room are
// talkEvery (1.5 s) apart, so anything within a second is unambiguous.
const onsetMatchWindow = time.Second

// phoneRoom is one room of the phone load: its browsers (web) and its phones.
type phoneRoom struct {
	index  int
	number issuedNumber
	web    *room
	legs   []*phoneLeg
	offset uint32 // talk schedule phase, so rooms do not all start spurts together

	lat *latencyLog

	mu       sync.Mutex
	onsetAt  time.Time
	onsetSeq int
	matched  [browsersPerRoom]int // onsetSeq each browser last matched
}

// markOnset records that a phone of the room starts a talk spurt now (the
// phone clock, just before sending the spurt's first frame).
func (r *phoneRoom) markOnset(at time.Time) {
	r.mu.Lock()
	r.onsetAt = at
	r.onsetSeq++
	r.mu.Unlock()
}

// onAudio is every browser's audio hook in phone mode: a packet from a phone
// member's track with the marker bit set is the first Opus packet of a talk
// spurt (bridge/roomaudio.go sets it, RFC 3551 §4.1), i.e. the server's
// answer to the room's latest onset. Its delay from the onset is one sample
// of the added latency.
func (r *phoneRoom) onAudio(c *client, member string, pkt *rtp.Packet, at time.Time) {
	if !pkt.Marker || c.index >= browsersPerRoom {
		return
	}
	for _, b := range r.web.clients {
		if b.selfID() == member {
			return // the other browser, forwarded by the SFU
		}
	}
	r.mu.Lock()
	seq, onset := r.onsetSeq, r.onsetAt
	fresh := seq != r.matched[c.index] && !onset.IsZero() && at.Sub(onset) < onsetMatchWindow
	if fresh {
		r.matched[c.index] = seq
	}
	r.mu.Unlock()
	if fresh {
		r.lat.add(at, at.Sub(onset))
	}
}

// latencyLog keeps latency samples with their times, so each measurement
// window takes its own.
type latencyLog struct {
	mu      sync.Mutex
	at      []time.Time
	samples []time.Duration
}

func (l *latencyLog) add(at time.Time, d time.Duration) {
	l.mu.Lock()
	l.at = append(l.at, at)
	l.samples = append(l.samples, d)
	l.mu.Unlock()
}

// between returns the samples taken in [from, to), sorted.
func (l *latencyLog) between(from, to time.Time) []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	for i, t := range l.at {
		if !t.Before(from) && t.Before(to) {
			out = append(out, l.samples[i])
		}
	}
	slices.Sort(out)
	return out
}

// quantile returns the q-quantile of sorted durations (nearest rank), 0 for none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
