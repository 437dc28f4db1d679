package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// comm may contain spaces and parentheses; utime is 250, stime 50.
	stat := "4242 (dial room) (x)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 12 0 100 1000000 2000 18446744073709551615\n"
	got, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * time.Second; got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := parseStatCPU("4242 (x) S 1 2"); err == nil {
		t.Error("short stat accepted")
	}
}

func TestParseStatusRSS(t *testing.T) {
	got, err := parseStatusRSS("Name:\tdialroom\nVmPeak:\t  999 kB\nVmRSS:\t   40684 kB\nThreads:\t8\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != 40684*1024 {
		t.Errorf("got %d", got)
	}
	if _, err := parseStatusRSS("Name:\tzombie\n"); err == nil {
		t.Error("missing VmRSS accepted")
	}
}

func TestParseMachineCPU(t *testing.T) {
	stat := "cpu  100 10 50 800 40 5 5 10 0 0\ncpu0 50 5 25 400 20 2 3 5 0 0\ncpu1 50 5 25 400 20 3 2 5 0 0\nintr 1\n"
	m, err := parseMachineCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if m.total != 1020 || m.busy != 180 || m.cores != 2 {
		t.Errorf("got %+v; want total 1020, busy 180, cores 2", m)
	}
	if got := m.busyOf([]int{1}); got != (cpuTicks{busy: 90, total: 510, irq: 5}) {
		t.Errorf("cpu1: %+v; want busy 90 of 510, irq 5", got)
	}
	if got := m.busyOf([]int{0, 1}); got != (cpuTicks{busy: 180, total: 1020, irq: 10}) {
		t.Errorf("cpu0-1: %+v; want busy 180 of 1020, irq 10", got)
	}
}

// TestProcSelf reads this very process, so the parsers meet the real format.
func TestProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	pid := os.Getpid()
	if _, err := processCPU(pid); err != nil {
		t.Error(err)
	}
	if rss, err := processRSS(pid); err != nil || rss <= 0 {
		t.Errorf("rss %d, %v", rss, err)
	}
	if m, err := readMachineCPU(); err != nil || m.cores < 1 || m.total == 0 {
		t.Errorf("machine %+v, %v", m, err)
	}
}
