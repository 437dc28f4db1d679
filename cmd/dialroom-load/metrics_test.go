package main

import (
	"strings"
	"testing"
)

func TestParseGoMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 10
go_memstats_heap_inuse_bytes 2.1741568e+07
go_memstats_heap_inuse_bytes_total 1
dialroom_members 0
`
	m, err := parseGoMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if m.goroutines != 10 || m.heapInuse != 21741568 {
		t.Errorf("got %+v", m)
	}
	if _, err := parseGoMetrics(strings.NewReader("dialroom_members 3\n")); err == nil {
		t.Error("metrics without Go figures accepted")
	}
}
