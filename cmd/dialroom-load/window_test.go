package main

import "testing"

func TestStampRoundTrip(t *testing.T) {
	p := make([]byte, payloadHeader+10)
	putStamp(p, 0xdeadbeef, 3)
	tick, part, ok := readStamp(p)
	if !ok || tick != 0xdeadbeef || part != 3 {
		t.Fatalf("got %x %d %v", tick, part, ok)
	}
	if _, _, ok := readStamp(p[:payloadHeader-1]); ok {
		t.Fatal("short payload accepted")
	}
}

func TestWindowPlanIndex(t *testing.T) {
	p := &windowPlan{Start: 100, Ticks: 50, Count: 3, First: 6}
	tests := []struct {
		tick uint32
		want int
	}{
		{0, -1}, {99, -1}, {100, 6}, {149, 6}, {150, 7}, {249, 8}, {250, -1}, {1 << 31, -1},
	}
	for _, tt := range tests {
		if got := p.index(tt.tick); got != tt.want {
			t.Errorf("index(%d) = %d, want %d", tt.tick, got, tt.want)
		}
	}
	if p.end() != 250 {
		t.Errorf("end = %d", p.end())
	}
	var none *windowPlan
	if none.index(5) != -1 {
		t.Error("nil plan counts packets")
	}
}

func TestBitset(t *testing.T) {
	b := newBitset(130)
	for _, i := range []int{0, 63, 64, 129} {
		if !b.add(i) {
			t.Errorf("add(%d) first time = false", i)
		}
		if b.add(i) {
			t.Errorf("add(%d) second time = true", i)
		}
	}
	if !b.add(1) {
		t.Error("neighbour bit was set")
	}
}
