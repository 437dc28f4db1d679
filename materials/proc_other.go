//go:build !unix

package materials

import "os/exec"

// killGroup leaves cancellation to exec's default (kill the process).
func killGroup(*exec.Cmd) {}

// run runs cmd at the server's own priority.
func run(cmd *exec.Cmd) error { return cmd.Run() }
