//go:build unix

package materials

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestRunLowersPriority: a converter runs at converterNice, alone or with
// the helpers in its process group, which inherit it.
func TestRunLowersPriority(t *testing.T) {
	base, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The kernel's getpriority returns 20 - nice.
	if nice := 20 - base; nice >= converterNice {
		t.Skipf("the test already runs at nice %d", nice)
	}
	// The shell reads its own nice and a child's after the parent had time
	// to lower it (fields 19 of /proc/PID/stat).
	const script = `sleep 0.3; cut -d" " -f19 /proc/$$/stat; sh -c 'cut -d" " -f19 /proc/$$/stat'`
	for _, group := range []bool{false, true} {
		cmd := exec.CommandContext(t.Context(), "sh", "-c", script)
		var out bytes.Buffer
		cmd.Stdout = &out
		if group {
			killGroup(cmd)
		}
		if err := run(cmd); err != nil {
			t.Fatalf("group %v: %v", group, err)
		}
		for _, f := range strings.Fields(out.String()) {
			if n, err := strconv.Atoi(f); err != nil || n != converterNice {
				t.Errorf("group %v: nice %q, want %d (output %q)", group, f, converterNice, out.String())
			}
		}
		if len(strings.Fields(out.String())) != 2 {
			t.Errorf("group %v: output %q, want two nice values", group, out.String())
		}
	}
}
