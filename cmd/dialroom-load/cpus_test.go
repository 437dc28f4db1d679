package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	good := []struct {
		in   string
		want []int
	}{
		{"0", []int{0}},
		{"1", []int{1}},
		{"0-1", []int{0, 1}},
		{" 3 , 0-1 ", []int{0, 1, 3}},
		{"0,2-3", []int{0, 2, 3}},
		{"5-5", []int{5}},
		{"1023", []int{1023}},
	}
	for _, tt := range good {
		got, err := parseCPUList(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	bad := []struct{ in, want string }{
		{"", "empty"},
		{"  ", "empty"},
		{"x", `"x" is not a CPU number`},
		{"3-1", "runs backwards"},
		{"-1", `"-1" is not a CPU number`},
		{"1-", `"1-" is not a CPU number`},
		{"1,,2", `"" is not a CPU number`},
		{"0-1,1", "listed twice"},
		{"1024", "out of range"},
		{"0-2000", "out of range"},
		{"1.5", "not a CPU number"},
	}
	for _, tt := range bad {
		got, err := parseCPUList(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want an error mentioning %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatCPUList(t *testing.T) {
	for _, tt := range []struct {
		in   []int
		want string
	}{
		{nil, "none"},
		{[]int{1}, "1"},
		{[]int{0, 1}, "0-1"},
		{[]int{0, 1, 2, 5, 7, 8}, "0-2,5,7-8"},
	} {
		if got := formatCPUList(tt.in); got != tt.want {
			t.Errorf("formatCPUList(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if len(tt.in) > 0 {
			back, err := parseCPUList(tt.want)
			if err != nil || !slices.Equal(back, tt.in) {
				t.Errorf("round trip of %v: %v, %v", tt.in, back, err)
			}
		}
	}
}

func TestCPUFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--spawn", "--server-cpus", "1", "--load-cpus", "0", "--phones", "80"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.ServerCPUs, []int{1}) || !slices.Equal(cfg.LoadCPUs, []int{0}) {
		t.Errorf("server %v load %v", cfg.ServerCPUs, cfg.LoadCPUs)
	}
	if _, err := parseFlags([]string{"--spawn", "--server-cpus", "3-1"}, &strings.Builder{}); err == nil ||
		!strings.Contains(err.Error(), "backwards") {
		t.Errorf("--server-cpus 3-1: %v", err)
	}
	if _, err := parseFlags([]string{"--url", "http://127.0.0.1:1", "--password", "x", "--server-cpus", "0"},
		&strings.Builder{}); err == nil || !strings.Contains(err.Error(), "needs --spawn") {
		t.Errorf("--server-cpus without --spawn: %v", err)
	}
}

// TestStartPinned starts a child pinned to one allowed CPU and checks that
// every thread of it has that CPU only and that GOMAXPROCS is in its
// environment; this process's own mask is unchanged afterwards.
func TestStartPinned(t *testing.T) {
	allowed, err := startCPUs()
	if err != nil {
		t.Skip("no sched_getaffinity:", err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep(1)")
	}
	cpu := allowed[len(allowed)-1]
	cmd := exec.Command(sleep, "5")
	if err := startPinned(cmd, []int{cpu}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	got, err := threadsAffinity(cmd.Process.Pid)
	if err != nil || !slices.Equal(got, []int{cpu}) {
		t.Errorf("child on %v, %v; want [%d]", got, err, cpu)
	}
	if !slices.Contains(cmd.Env, "GOMAXPROCS=1") {
		t.Error("GOMAXPROCS=1 not in the child's environment")
	}
	rep := readCPUReport(cmd.Process.Pid, true, false)
	if rep.serverProcs != 1 || !slices.Equal(rep.server, []int{cpu}) {
		t.Errorf("report %+v", rep)
	}
	if self, _ := affinity(0); !slices.Equal(self, allowed) {
		t.Errorf("this thread's CPUs %v after the start, want %v again", self, allowed)
	}
	if err := startPinned(exec.Command(sleep, "0"), []int{maxCPU}); err == nil ||
		!strings.Contains(err.Error(), "not available") {
		t.Errorf("pinning to CPU %d: %v", maxCPU, err)
	}
}
