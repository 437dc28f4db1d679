//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// niceChildEnv makes the test binary run niceChild instead of the tests.
const niceChildEnv = "DIALROOM_TEST_NICE_CHILD"

// TestSetNice runs setNice in a child process (a nice value, once raised,
// cannot be lowered again without privilege, and the other tests should
// keep theirs) and checks every thread ends up at it: those that existed
// and those the runtime started afterwards.
func TestSetNice(t *testing.T) {
	if os.Getenv(niceChildEnv) != "" {
		niceChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSetNice$", "-test.count=1")
	cmd.Env = append(os.Environ(), niceChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "threads at nice 7:") {
		t.Fatalf("child output:\n%s", out)
	}
	t.Logf("%s", strings.TrimSpace(strings.Split(string(out), "\n")[0]))
}

// niceChild sets nice 7, starts threads, and exits non-zero naming any
// thread at another value.
func niceChild() {
	if err := setNice(7); err != nil {
		fmt.Println("setNice:", err)
		os.Exit(1)
	}
	// Goroutines locked to their threads while the others block: the
	// runtime must start new threads for them.
	var started, release sync.WaitGroup
	release.Add(1)
	for range 4 {
		started.Add(1)
		go func() {
			runtime.LockOSThread()
			started.Done()
			release.Wait()
		}()
	}
	started.Wait()
	tasks, _ := filepath.Glob("/proc/self/task/*/stat")
	var wrong []string
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited
		}
		// Field 19 is nice; the command name (field 2) is in parentheses.
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		if nice := fields[16]; nice != "7" {
			wrong = append(wrong, f+": "+nice)
		}
	}
	release.Done()
	fmt.Printf("threads at nice 7: %d\n", len(tasks))
	if len(wrong) > 0 || len(tasks) < 5 {
		fmt.Println("wrong:", wrong)
		os.Exit(1)
	}
	os.Exit(0)
}
