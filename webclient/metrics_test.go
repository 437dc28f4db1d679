package webclient

import (
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsMemory checks /metrics carries what the load tool divides per
// call: the live heap (runtime/metrics, not a memstat) and the goroutine
// stacks, both non-zero once a collection has run.
func TestMetricsMemory(t *testing.T) {
	runtime.GC() // the live heap is measured by a collection
	m := NewMetrics(prometheus.NewRegistry())
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"go_gc_heap_live_bytes": false, "go_memstats_stack_inuse_bytes": false}
	for _, f := range families {
		if _, ok := want[f.GetName()]; !ok {
			continue
		}
		if v := f.GetMetric()[0].GetGauge().GetValue(); v <= 0 {
			t.Errorf("%s = %v, want > 0", f.GetName(), v)
		}
		want[f.GetName()] = true
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("%s missing from the metrics", name)
		}
	}
}
