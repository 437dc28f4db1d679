package media

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestClockNoDrift: ticks are due at start + k·period however long each
// subscriber takes, as long as it takes less than a period.
func TestClockNoDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(ClockConfig{Workers: 1})
		defer c.Close()
		start := time.Now()
		var got []time.Duration
		var seqs []uint64
		s := c.Subscribe(func(tk Tick) {
			got = append(got, time.Since(start))
			seqs = append(seqs, tk.Seq)
			time.Sleep(13 * time.Millisecond) // work that takes most of the period
		})
		time.Sleep(1000*time.Millisecond + time.Millisecond)
		s.Stop()
		<-s.Done()
		if len(got) != 50 {
			t.Fatalf("%d ticks in 1 s, want 50", len(got))
		}
		for k, d := range got {
			if want := time.Duration(k+1) * 20 * time.Millisecond; d != want || seqs[k] != uint64(k+1) {
				t.Fatalf("tick %d (seq %d) at %v, want %v", k, seqs[k], d, want)
			}
		}
		st := c.Stats()
		if st.Ticks != 50 || st.LateMax != 0 || st.BusyP50 < 13*time.Millisecond {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestClockLateness: an overrunning tick makes the next one late, and the
// clock catches up on schedule instead of shifting it.
func TestClockLateness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(ClockConfig{Workers: 1})
		defer c.Close()
		start := time.Now()
		var lates []time.Duration
		var at []time.Duration
		c.Subscribe(func(tk Tick) {
			lates = append(lates, tk.Late)
			at = append(at, time.Since(start))
			if tk.Seq == 3 {
				time.Sleep(45 * time.Millisecond) // overruns ticks 4 and 5
			}
		})
		time.Sleep(200*time.Millisecond + time.Millisecond)
		c.Close()
		want := []time.Duration{0, 0, 0, 25 * time.Millisecond, 5 * time.Millisecond, 0, 0}
		for i, w := range want {
			if lates[i] != w {
				t.Fatalf("lateness %v, want prefix %v", lates, want)
			}
		}
		if at[6] != 140*time.Millisecond {
			t.Errorf("tick 7 at %v, want 140ms: the schedule shifted", at[6])
		}
		st := c.Stats()
		if st.LateMax != 25*time.Millisecond {
			t.Errorf("LateMax %v, want 25ms", st.LateMax)
		}
		if st.LateP50 > time.Microsecond {
			t.Errorf("LateP50 %v, want ≤ 1µs", st.LateP50)
		}
		if st.LateP99 < 25*time.Millisecond || st.LateP99 > 32*time.Millisecond {
			t.Errorf("LateP99 %v, want the 25 ms bucket", st.LateP99)
		}
	})
}

func TestClockSkipsWhenFarBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(ClockConfig{Workers: 1})
		defer c.Close()
		var seqs []uint64
		c.Subscribe(func(tk Tick) {
			seqs = append(seqs, tk.Seq)
			if tk.Seq == 2 {
				time.Sleep(150 * time.Millisecond) // past MaxLag (100 ms)
			}
		})
		time.Sleep(300 * time.Millisecond)
		c.Close()
		// Tick 3 was due at 60 ms; at 190 ms the clock is 130 ms behind, so
		// it skips to tick 9 (due at 180 ms).
		if len(seqs) < 4 || seqs[2] != 9 {
			t.Errorf("seqs %v, want a jump from 2 to 9", seqs)
		}
		if st := c.Stats(); st.Skipped != 6 {
			t.Errorf("skipped %d, want 6", st.Skipped)
		}
	})
}

// TestClockIdleWithoutSubscribers: the loop goroutine exits when the last
// subscriber leaves and starts again with the next.
func TestClockIdleWithoutSubscribers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(ClockConfig{Workers: 2})
		defer c.Close()
		var n atomic.Int64
		s := c.Subscribe(func(Tick) { n.Add(1) })
		time.Sleep(100*time.Millisecond + time.Millisecond)
		s.Stop()
		<-s.Done()
		got := n.Load()
		time.Sleep(time.Second)
		synctest.Wait()
		if n.Load() != got || got != 5 {
			t.Errorf("%d calls, then %d after Stop; want 5 and no more", got, n.Load())
		}
		c.mu.Lock()
		running := c.running
		c.mu.Unlock()
		if running {
			t.Error("clock loop still running without subscribers")
		}
		ticks := c.Stats().Ticks
		time.Sleep(time.Second)
		if c.Stats().Ticks != ticks {
			t.Error("clock ticked without subscribers")
		}
		c.Subscribe(func(Tick) { n.Add(1) })
		time.Sleep(40*time.Millisecond + time.Millisecond)
		if n.Load() != got+2 {
			t.Errorf("after resubscribing %d calls, want %d", n.Load(), got+2)
		}
	})
}

func TestClockStopFromTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(ClockConfig{})
		defer c.Close()
		var calls int
		var s *Subscription
		var mu sync.Mutex
		mu.Lock()
		s = c.Subscribe(func(Tick) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 3 {
				s.Stop()
			}
		})
		mu.Unlock()
		<-s.Done()
		time.Sleep(200 * time.Millisecond)
		if calls != 3 {
			t.Errorf("%d calls, want 3", calls)
		}
	})
}

// TestClockWorkers: with several workers every subscriber is called once per
// tick, and never concurrently with itself.
func TestClockWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(ClockConfig{Workers: 3})
		defer c.Close()
		const subs = 10
		var counts [subs]atomic.Int64
		var busy [subs]atomic.Bool
		for i := range subs {
			c.Subscribe(func(Tick) {
				if !busy[i].CompareAndSwap(false, true) {
					t.Errorf("subscriber %d called concurrently with itself", i)
				}
				counts[i].Add(1)
				time.Sleep(time.Millisecond)
				busy[i].Store(false)
			})
		}
		time.Sleep(200*time.Millisecond + time.Millisecond)
		c.Close()
		for i := range subs {
			if counts[i].Load() != 10 {
				t.Errorf("subscriber %d called %d times in 10 ticks", i, counts[i].Load())
			}
		}
		if st := c.Stats(); st.BusyMax < time.Millisecond || st.BusyMax > 5*time.Millisecond {
			t.Errorf("busy max %v: want about 4 ms (10 subscribers of 1 ms over 3 workers)", st.BusyMax)
		}
	})
}

func TestClockClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(ClockConfig{})
		s := c.Subscribe(func(Tick) {})
		time.Sleep(50 * time.Millisecond)
		c.Close()
		<-s.Done()
		s2 := c.Subscribe(func(Tick) { t.Error("called after Close") })
		<-s2.Done()
		time.Sleep(100 * time.Millisecond)
		c.Close() // twice is fine
	})
}

func TestDurationHist(t *testing.T) {
	prev := -1
	for us := range 100000 {
		d := time.Duration(us) * time.Microsecond
		b := histBucket(d)
		if b < prev || b > prev+1 {
			t.Fatalf("bucket of %v = %d after %d", d, b, prev)
		}
		if up := histUpper(b); up <= d || up > d+d/4+time.Microsecond {
			t.Fatalf("bucket %d of %v has upper bound %v", b, d, up)
		}
		prev = b
	}
	var h durationHist
	if h.percentile(0.5) != 0 {
		t.Error("empty histogram percentile not 0")
	}
	for i := range 100 {
		h.record(time.Duration(i+1) * time.Millisecond)
	}
	if p := h.percentile(0.5); p < 50*time.Millisecond || p > 63*time.Millisecond {
		t.Errorf("p50 of 1..100 ms = %v", p)
	}
	if p := h.percentile(0.99); p < 99*time.Millisecond || p > 124*time.Millisecond {
		t.Errorf("p99 of 1..100 ms = %v", p)
	}
	if h.max.Load() != int64(100*time.Millisecond) {
		t.Errorf("max = %v", time.Duration(h.max.Load()))
	}
}

// BenchmarkClockDispatch measures the clock's own cost per tick for 1,000
// subscribers (a tick function that does nothing), without the sleeping.
func BenchmarkClockDispatch(b *testing.B) {
	c := NewClock(ClockConfig{Workers: 1})
	subs := make([]*Subscription, 1000)
	for i := range subs {
		subs[i] = &Subscription{c: c, fn: func(Tick) {}, done: make(chan struct{})}
	}
	b.ReportAllocs()
	for b.Loop() {
		j := &tickJob{subs: subs, finished: make(chan struct{})}
		j.run()
		<-j.finished
	}
}

// The exported histogram keeps every observation, bounds ascend, and it
// reaches at least 10 ms so exports keep one shape at low load.
func TestDurationHistSnapshot(t *testing.T) {
	var h durationHist
	for _, d := range []time.Duration{0, 3 * time.Microsecond, 700 * time.Microsecond, 2 * time.Millisecond, 40 * time.Millisecond} {
		h.record(d)
	}
	s := h.snapshot()
	if s.Count != 5 || len(s.Upper) != len(s.Counts) {
		t.Fatalf("count %d, %d bounds, %d counts", s.Count, len(s.Upper), len(s.Counts))
	}
	var sum uint64
	for i, c := range s.Counts {
		sum += c
		if i > 0 && s.Upper[i] <= s.Upper[i-1] {
			t.Fatalf("bounds not ascending at %d: %v", i, s.Upper[i-1:i+1])
		}
	}
	if sum != 5 || s.Upper[len(s.Upper)-1] <= 40*time.Millisecond {
		t.Errorf("sum %d, last bound %v", sum, s.Upper[len(s.Upper)-1])
	}
	if s.Sum != 42703*time.Microsecond {
		t.Errorf("sum of durations %v", s.Sum)
	}
	var empty durationHist
	if e := empty.snapshot(); e.Count != 0 || e.Upper[len(e.Upper)-1] < 10*time.Millisecond {
		t.Errorf("empty snapshot: %d observations, last bound %v", e.Count, e.Upper[len(e.Upper)-1])
	}
}
