//go:build unix

package materials

import (
	"os/exec"
	"syscall"
)

// killGroup makes cmd's cancellation kill its whole process group.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// converterNice is the scheduling priority (nice) converters run at. A
// conversion is batch work that may take a CPU for seconds; calls on the
// same machine mix audio every 20 ms. At 10 the kernel gives a busy CPU to
// the server's threads first, and a conversion still gets every idle cycle.
const converterNice = 10

// run starts cmd at converterNice and waits for it. The priority is set
// right after the start (exec has no hook between fork and exec), before a
// converter forks helpers of its own, which inherit it; for a command in a
// process group of its own (killGroup) the whole group is lowered.
func run(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	which := syscall.PRIO_PROCESS
	if cmd.SysProcAttr != nil && cmd.SysProcAttr.Setpgid {
		which = syscall.PRIO_PGRP // the group's id is the leader's pid
	}
	// Best effort: the process may have exited already.
	_ = syscall.Setpriority(which, cmd.Process.Pid, converterNice)
	return cmd.Wait()
}
