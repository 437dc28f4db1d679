package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"
)

// SIPpEnv names the environment variable that may point at the sipp binary.
const SIPpEnv = "SIPP"

// RequireSIPp returns the path of the sipp binary (Debian package
// sip-tester). When it is missing the test is skipped on a developer machine
// and fails in CI (see InCI).
func RequireSIPp(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(SIPpEnv); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			t.Fatalf("$%s=%q is not an executable: %v", SIPpEnv, p, err)
		}
		return path
	}
	if path, err := exec.LookPath("sipp"); err == nil {
		return path
	}
	const msg = "sipp not found (set $SIPP, or install the Debian package sip-tester: make deps)"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// SIPpRun is one run of a SIPp scenario placing calls at a server.
type SIPpRun struct {
	// Scenario is the path of the scenario XML file.
	Scenario string
	// Target is the server, host:port.
	Target string
	// LocalIP is the address SIPp binds and puts in its messages; "" means
	// 127.0.0.1. Any 127.x.y.z works on Linux loopback, which lets a test
	// call from an address that is not a trunk's.
	LocalIP string
	// Service is the user part of the Request-URI (-s): the dialled number.
	Service string
	// Keys are extra keywords for the scenario (-key NAME VALUE), used in it
	// as [NAME].
	Keys map[string]string
	// Calls is how many calls to place (-m); 0 means 1.
	Calls int
	// Transport is "u1" (UDP, one socket; the default) or "t1" (TCP).
	Transport string
	// Timeout ends the run (-timeout, and the process is killed a little
	// later); 0 means 20 s.
	Timeout time.Duration
}

// SIPpResult is what a run left: SIPp's exit status (0: every call
// succeeded) and its output and error log, for failure messages.
type SIPpResult struct {
	ExitCode int
	Output   string
	Errors   string
}

// RunSIPp runs a SIPp scenario as a client and waits for it to end. It
// returns an error only when SIPp could not be run; a failed scenario is a
// non-zero ExitCode (SIPp exits 1 when a call failed). The run's files are
// written under dir (a t.TempDir()).
func RunSIPp(ctx context.Context, sipp, dir string, r SIPpRun) (SIPpResult, error) {
	if r.LocalIP == "" {
		r.LocalIP = "127.0.0.1"
	}
	if r.Calls == 0 {
		r.Calls = 1
	}
	if r.Transport == "" {
		r.Transport = "u1"
	}
	if r.Timeout == 0 {
		r.Timeout = 20 * time.Second
	}
	errFile := filepath.Join(dir, "sipp-errors.log")
	args := []string{
		r.Target,
		"-sf", r.Scenario,
		"-i", r.LocalIP,
		"-p", "0", // any free port
		"-t", r.Transport,
		"-m", strconv.Itoa(r.Calls),
		"-l", strconv.Itoa(r.Calls),
		"-timeout", strconv.Itoa(int(r.Timeout / time.Second)),
		"-timeout_error",
		"-nostdin",
		"-trace_err", "-error_file", errFile,
	}
	if r.Service != "" {
		args = append(args, "-s", r.Service)
	}
	names := make([]string, 0, len(r.Keys))
	for k := range r.Keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "-key", k, r.Keys[k])
	}
	ctx, cancel := context.WithTimeout(ctx, r.Timeout+5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, sipp, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	res := SIPpResult{Output: out.String()}
	if b, rerr := os.ReadFile(errFile); rerr == nil {
		res.Errors = string(b)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	default:
		return res, fmt.Errorf("sipp: %w", err)
	}
	return res, nil
}
