//go:build !unix

package materials

import "os/exec"

// killGroup leaves cancellation to exec's default (kill the process).
func killGroup(*exec.Cmd) {}
