package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process and machine figures from /proc (proc(5)). Linux reports CPU times in
// USER_HZ clock ticks, which is 100 per second on every architecture Go runs
// on (the kernel converts; CONFIG_HZ does not leak through), so the
// resolution is 10 ms: windows of a few seconds are plenty.
const userHZ = 100

// sample is one reading taken at a window boundary.
type sample struct {
	at        time.Time
	serverCPU time.Duration // user+system time of the server; 0 without one
	serverRSS int64         // resident bytes of the server
	selfCPU   time.Duration // user+system time of this load generator
	machine   machineCPU
	goMetrics // from the server's /metrics; zero when unavailable
	hasGo     bool
}

// machineCPU is the machine-wide line of /proc/stat, in USER_HZ ticks summed
// over all cores.
type machineCPU struct {
	busy, total uint64
	cores       int // the cpuN lines
	// perCPU holds the same figures per cpuN line, by CPU number.
	perCPU map[int]cpuTicks
}

// cpuTicks is one CPU's busy and total time in USER_HZ ticks, and the
// part of busy spent in interrupts and softirqs (on loopback that is mostly
// delivering UDP: the kernel charges it to no process).
type cpuTicks struct{ busy, total, irq uint64 }

// busyOf returns the busy, total and interrupt ticks of cpus together.
func (m machineCPU) busyOf(cpus []int) (t cpuTicks) {
	for _, c := range cpus {
		p := m.perCPU[c]
		t.busy += p.busy
		t.total += p.total
		t.irq += p.irq
	}
	return t
}

// takeSample reads everything; pid 0 skips the server.
func takeSample(pid int) (sample, error) {
	s := sample{at: time.Now(), selfCPU: selfCPU()}
	var errs []error
	if pid > 0 {
		var err error
		if s.serverCPU, err = processCPU(pid); err != nil {
			errs = append(errs, err)
		}
		if s.serverRSS, err = processRSS(pid); err != nil {
			errs = append(errs, err)
		}
	}
	m, err := readMachineCPU()
	if err != nil {
		errs = append(errs, err)
	}
	s.machine = m
	return s, errors.Join(errs...)
}

// selfCPU returns this process's user+system time (getrusage(2), µs resolution).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU returns utime+stime of a process.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(data))
}

// parseStatCPU reads utime and stime, fields 14 and 15 of /proc/PID/stat. The
// second field (comm) is in parentheses and may hold spaces and parentheses,
// so fields are counted from the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc stat: no command name")
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields", len(f)+2)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc stat: %w", err)
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// processRSS returns the resident set size of a process.
func processRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusRSS(string(data))
}

// parseStatusRSS reads the VmRSS line of /proc/PID/status ("VmRSS:  1234 kB").
func parseStatusRSS(status string) (int64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("/proc status: odd VmRSS line %q", strings.TrimSpace(line))
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc status: %w", err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("/proc status: no VmRSS (process exited?)")
}

func readMachineCPU() (machineCPU, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, err
	}
	return parseMachineCPU(string(data))
}

// parseMachineCPU reads the first line of /proc/stat:
// "cpu user nice system idle iowait irq softirq steal guest guest_nice".
// Idle and iowait are free time; steal (the hypervisor gave the time to
// another VM) counts as busy, since it was not available to us either. Guest
// time is already inside user.
// The cpuN lines that follow have the same fields per CPU.
func parseMachineCPU(stat string) (machineCPU, error) {
	line, _, _ := strings.Cut(stat, "\n")
	all, err := parseCPULine(line, "cpu")
	if err != nil {
		return machineCPU{}, err
	}
	m := machineCPU{busy: all.busy, total: all.total, cores: strings.Count(stat, "\ncpu"), perCPU: map[int]cpuTicks{}}
	for l := range strings.Lines(stat) {
		name, _, _ := strings.Cut(l, " ")
		n, err := strconv.Atoi(strings.TrimPrefix(name, "cpu"))
		if !strings.HasPrefix(name, "cpu") || err != nil {
			continue
		}
		t, err := parseCPULine(strings.TrimSpace(l), name)
		if err != nil {
			return machineCPU{}, err
		}
		m.perCPU[n] = t
	}
	return m, nil
}

// parseCPULine reads one "cpu…" line of /proc/stat named name.
func parseCPULine(line, name string) (cpuTicks, error) {
	var t cpuTicks
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != name {
		return t, fmt.Errorf("/proc/stat: unexpected line %q", line)
	}
	for i := range 8 {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return t, fmt.Errorf("/proc/stat: %w", err)
		}
		t.total += n
		if i != 3 && i != 4 { // idle, iowait
			t.busy += n
		}
		if i == 5 || i == 6 { // irq, softirq
			t.irq += n
		}
	}
	return t, nil
}

// processName returns /proc/PID/comm, for a sanity check of --server-pid.
func processName(pid int) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(data)), err
}
