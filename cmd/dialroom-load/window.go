package main

import "encoding/binary"

// Every packet the load sends carries the pacer tick it was sent at, so loss is
// counted exactly: a receiver counts the distinct (tick, part) pairs of each
// window it got, a sender counts what it wrote in the same window, and packets
// in flight at a window's edge are neither lost nor counted twice.
//
// Payload layout (the SFU forwards payloads untouched and never decodes them):
//
//	byte 0     codec byte: an Opus TOC (RFC 6716 §3.1) or a VP8 payload descriptor (RFC 7741 §4.2)
//	bytes 1–4  pacer tick, big-endian
//	byte 5     part: the packet's index within the tick (video sends several)
//	the rest   random bytes
const payloadHeader = 6

// putStamp writes the tick and part into a payload.
func putStamp(payload []byte, tick uint32, part uint8) {
	binary.BigEndian.PutUint32(payload[1:5], tick)
	payload[5] = part
}

// readStamp reads the tick and part of a payload; ok is false for a payload
// too short to be ours.
func readStamp(payload []byte) (tick uint32, part uint8, ok bool) {
	if len(payload) < payloadHeader {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(payload[1:5]), payload[5], true
}

// windowPlan is the measurement schedule of one load step in pacer ticks:
// Count windows of Ticks ticks each, back to back from tick Start, numbered
// from First across all steps. A plan is published before the pacer reaches
// Start and never changed; the next step publishes a new one.
type windowPlan struct {
	Start uint32
	Ticks uint32
	Count int
	First int  // global index of the plan's first window
	Final bool // the pacer stops after this plan's tail
}

// index returns the global window tick falls in, or -1 outside the plan.
func (p *windowPlan) index(tick uint32) int {
	if p == nil || tick < p.Start {
		return -1
	}
	i := int((tick - p.Start) / p.Ticks)
	if i >= p.Count {
		return -1
	}
	return p.First + i
}

// end returns the first tick after the last window.
func (p *windowPlan) end() uint32 { return p.Start + p.Ticks*uint32(p.Count) }

// bitset remembers which (tick, part) pairs of a plan a receiver has seen, so
// a retransmitted (NACKed) packet is not counted twice. It belongs to one
// reader goroutine.
type bitset []uint64

// newBitset returns a set for n bits.
func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

// add sets bit i and reports whether it was clear.
func (b bitset) add(i int) bool {
	w, m := i/64, uint64(1)<<(i%64)
	if b[w]&m != 0 {
		return false
	}
	b[w] |= m
	return true
}
