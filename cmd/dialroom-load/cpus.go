package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// CPU partitioning (--server-cpus, --load-cpus): on a 2-core machine the load
// generator would otherwise compete with the server it measures, so the
// server's capacity would be confounded with the tool's. Pinning the spawned
// server to some CPUs and this tool to others makes the server's figures
// "per server core" with nothing of ours on that core (other programs of the
// machine are not pinned away: the report shows how busy the server's CPUs
// were in all).
//
// The server is born pinned: spawnServer forks it from an OS thread whose
// affinity is set to the server's CPUs for the fork (sched_setaffinity(2);
// a child inherits the forking thread's mask), then every thread of the
// child is set again (/proc/PID/task) for good measure. Its GOMAXPROCS is
// the number of its CPUs (the Go runtime also derives it from the inherited
// mask; the environment variable makes it explicit). This tool pins every
// thread of its own and sets runtime.GOMAXPROCS likewise; threads created
// later inherit the mask of the thread that creates them.

// maxCPU bounds CPU numbers in lists (unix.CPUSet holds 0..1023).
const maxCPU = 1023

// parseCPUList reads a CPU list in the kernel's format (cpuset(7) "List
// format"): CPU numbers and inclusive ranges separated by commas, such as
// "1", "0-1" or "0,2-3". It returns the CPUs ascending, without repeats.
func parseCPUList(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty CPU list (want e.g. 1, 0-1 or 0,2-3)")
	}
	seen := map[int]bool{}
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		first, err := parseCPU(lo, part)
		if err != nil {
			return nil, err
		}
		last := first
		if isRange {
			if last, err = parseCPU(hi, part); err != nil {
				return nil, err
			}
			if last < first {
				return nil, fmt.Errorf("CPU range %q runs backwards (write %d-%d)", part, last, first)
			}
		}
		for c := first; c <= last; c++ {
			if seen[c] {
				return nil, fmt.Errorf("CPU %d is listed twice in %q", c, s)
			}
			seen[c] = true
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out, nil
}

// parseCPU reads one CPU number of part.
func parseCPU(s, part string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("%q is not a CPU number or range (want e.g. 1 or 0-1)", part)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a CPU number or range (want e.g. 1 or 0-1)", part)
	}
	if n > maxCPU {
		return 0, fmt.Errorf("CPU %d is out of range (0..%d)", n, maxCPU)
	}
	return n, nil
}

// formatCPUList writes ascending CPUs in the list format, ranges joined:
// [0 1 2 5] → "0-2,5". "none" for an empty list.
func formatCPUList(cpus []int) string {
	if len(cpus) == 0 {
		return "none"
	}
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	return b.String()
}

// cpuSet returns cpus as an affinity mask.
func cpuSet(cpus []int) *unix.CPUSet {
	var set unix.CPUSet
	set.Zero()
	for _, c := range cpus {
		set.Set(c)
	}
	return &set
}

// cpusOf returns the CPUs of a mask, ascending.
func cpusOf(set *unix.CPUSet) []int {
	var out []int
	for c := 0; c <= maxCPU; c++ {
		if set.IsSet(c) {
			out = append(out, c)
		}
	}
	return out
}

// affinity returns the CPUs a thread (or, by its main thread's id, a
// process) may run on; 0 is the calling thread.
func affinity(tid int) ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(tid, &set); err != nil {
		return nil, err
	}
	return cpusOf(&set), nil
}

// startCPUs is the affinity this process had before it pinned anything:
// what the server and the load may be given. runMain reads it first.
var startCPUs = sync.OnceValues(func() ([]int, error) { return affinity(0) })

// checkCPUsAllowed reports CPUs of want this process may not use (offline,
// or outside its cpuset), with what it may use, as it was before anything
// was pinned.
func checkCPUsAllowed(flag string, want []int) error {
	allowed, err := startCPUs()
	if err != nil {
		return fmt.Errorf("%s: reading this process's CPU affinity: %w", flag, err)
	}
	var bad []int
	for _, c := range want {
		if !slices.Contains(allowed, c) {
			bad = append(bad, c)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: CPU %s not available here (this process may use %s)", flag,
			formatCPUList(bad), formatCPUList(allowed))
	}
	return nil
}

// pinProcess sets the affinity of every thread of pid (0: this process) to
// cpus. Threads that appear while it works (the Go runtime starts threads
// at any time) are caught by going over /proc/PID/task until a pass finds
// no thread it has not set; a thread created by an already pinned thread
// inherits the mask anyway. A thread that exits meanwhile is skipped.
func pinProcess(pid int, cpus []int) error {
	set := cpuSet(cpus)
	dir := "/proc/self/task"
	if pid != 0 {
		dir = fmt.Sprintf("/proc/%d/task", pid)
	}
	done := map[int]bool{}
	for pass := 0; pass < 10; pass++ {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("listing threads: %w", err)
		}
		fresh := 0
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done[tid] {
				continue
			}
			fresh++
			if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("sched_setaffinity(%d, %s): %w", tid, formatCPUList(cpus), err)
			}
			done[tid] = true
		}
		if fresh == 0 {
			return nil
		}
	}
	return fmt.Errorf("threads of %s kept appearing while pinning them", dir)
}

// pinSelf pins this load generator to cpus and sets GOMAXPROCS to match.
func pinSelf(cpus []int) error {
	if err := checkCPUsAllowed("--load-cpus", cpus); err != nil {
		return err
	}
	if err := pinProcess(0, cpus); err != nil {
		return fmt.Errorf("--load-cpus: %w", err)
	}
	runtime.GOMAXPROCS(len(cpus))
	return nil
}

// startPinned starts cmd with cpus as its affinity from birth: it forks from
// this goroutine's OS thread with that thread's mask set to cpus, restores
// the thread's mask, and then pins every thread of the child (which by then
// may have started its runtime's threads) again. GOMAXPROCS in cmd's
// environment is set to the number of CPUs. With no cpus it is cmd.Start.
func startPinned(cmd *exec.Cmd, cpus []int) error {
	if len(cpus) == 0 {
		return cmd.Start()
	}
	if err := checkCPUsAllowed("--server-cpus", cpus); err != nil {
		return err
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	env = slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") })
	cmd.Env = append(env, fmt.Sprintf("GOMAXPROCS=%d", len(cpus)))

	err := func() error {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var saved unix.CPUSet
		if err := unix.SchedGetaffinity(0, &saved); err != nil {
			return fmt.Errorf("--server-cpus: %w", err)
		}
		if err := unix.SchedSetaffinity(0, cpuSet(cpus)); err != nil {
			return fmt.Errorf("--server-cpus: sched_setaffinity(%s): %w", formatCPUList(cpus), err)
		}
		startErr := cmd.Start()
		if err := unix.SchedSetaffinity(0, &saved); err != nil {
			// The run stops: this thread would otherwise run load on the
			// server's CPUs.
			return errors.Join(startErr, fmt.Errorf("restoring this thread's CPU affinity: %w", err))
		}
		return startErr
	}()
	if err != nil {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		return err
	}
	if err := pinProcess(cmd.Process.Pid, cpus); err != nil {
		_ = cmd.Process.Kill()
		return fmt.Errorf("--server-cpus: %w", err)
	}
	return nil
}

// cpuReport is which CPUs the server and this tool actually had, read back
// from the kernel (not what was asked for), for the report.
type cpuReport struct {
	server, load           []int
	serverProcs, loadProcs int // GOMAXPROCS; 0 when not known
	pinned                 bool
}

// threadsAffinity returns the union of the CPUs every thread of pid (0:
// this process) may run on, so that one stray thread shows.
func threadsAffinity(pid int) ([]int, error) {
	dir := "/proc/self/task"
	if pid != 0 {
		dir = fmt.Sprintf("/proc/%d/task", pid)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var union []int
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cpus, err := affinity(tid)
		if err != nil {
			continue // exited meanwhile
		}
		for _, c := range cpus {
			if !slices.Contains(union, c) {
				union = append(union, c)
			}
		}
	}
	slices.Sort(union)
	return union, nil
}

// readCPUReport reads the CPUs the threads of the server (pid, 0: none) and
// of this process may run on, and the server's GOMAXPROCS as it was started
// (its environment, else its CPUs).
func readCPUReport(pid int, serverPinned, loadPinned bool) cpuReport {
	r := cpuReport{pinned: serverPinned || loadPinned, loadProcs: runtime.GOMAXPROCS(0)}
	r.load, _ = threadsAffinity(0)
	if pid > 0 {
		r.server, _ = threadsAffinity(pid)
		r.serverProcs = len(r.server)
		if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil {
			for kv := range strings.SplitSeq(string(data), "\x00") {
				if v, ok := strings.CutPrefix(kv, "GOMAXPROCS="); ok {
					if n, err := strconv.Atoi(v); err == nil {
						r.serverProcs = n
					}
				}
			}
		}
	}
	return r
}

// overlap returns the CPUs both have.
func (r cpuReport) overlap() []int {
	var out []int
	for _, c := range r.server {
		if slices.Contains(r.load, c) {
			out = append(out, c)
		}
	}
	return out
}

// String is the report's line.
func (r cpuReport) String() string {
	s := fmt.Sprintf("server CPUs %s (GOMAXPROCS %d), load generator CPUs %s (GOMAXPROCS %d)",
		formatCPUList(r.server), r.serverProcs, formatCPUList(r.load), r.loadProcs)
	if !r.pinned {
		return s + ": not pinned, both share every CPU"
	}
	if ov := r.overlap(); len(ov) > 0 {
		return s + fmt.Sprintf(": CPU %s shared", formatCPUList(ov))
	}
	return s + ": disjoint"
}
