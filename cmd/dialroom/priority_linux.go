//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// setNice sets the scheduling priority (nice) of every thread of the
// process to n. Linux keeps the value per thread, and a thread starts with
// its creator's, so setting the threads that exist also covers those the Go
// runtime starts later; a second pass catches one started during the first.
func setNice(n int) error {
	for range 2 {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil {
				continue
			}
			// PRIO_PROCESS with a thread id sets that thread only (Linux).
			err = syscall.Setpriority(syscall.PRIO_PROCESS, tid, n)
			switch {
			case errors.Is(err, syscall.ESRCH): // the thread has exited
			case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
				return fmt.Errorf("nice %d needs root or CAP_SYS_NICE (systemd: AmbientCapabilities=CAP_SYS_NICE, or Nice=%d in the unit): %w", n, n, err)
			case err != nil:
				return err
			}
		}
	}
	return nil
}
