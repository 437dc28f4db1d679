package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// IsolatedEnv names the environment variable that marks a test process as
// already isolated. RunIsolated sets it to 1 in the process it re-executes; a
// developer who wants to run on the host network on purpose can set it too.
const IsolatedEnv = "DIALROOM_E2E_ISOLATED"

// InCI reports whether the tests run in CI: the CI environment variable is set
// to a true value ("true", "1", "yes"), as CI systems do. In CI a missing peer
// or a failed isolation is an error, never a skip.
func InCI() bool {
	switch strings.ToLower(os.Getenv("CI")) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// Isolated reports whether this process sees no network interface that is up
// other than loopback, so every connection a test makes stays on 127.0.0.1.
// It reports false when the interfaces cannot be listed.
func Isolated() bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}

// RunIsolated runs the tests of m in a network namespace that has only
// loopback, and returns the exit code for os.Exit. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(e2e.RunIsolated(m)) }
//
// When the process is already isolated (see [Isolated]) or IsolatedEnv is set,
// it simply runs m. Otherwise it re-executes the test binary, with the same
// arguments, under `unshare --net` (adding --map-root-user when not root, which
// needs unprivileged user namespaces) through `sh -c 'ip link set lo up &&
// exec "$@"'`, and returns the child's exit code. The child inherits stdin,
// stdout, stderr, the working directory and the environment (plus
// IsolatedEnv=1); SIGINT and SIGTERM are forwarded to it, and it is killed if
// this process dies. No network is needed inside: the binary is already built.
//
// If a namespace cannot be made (no unshare or ip, no privilege), RunIsolated
// returns 1 with a message when [InCI], and otherwise warns on stderr and
// runs m without isolation.
func RunIsolated(m *testing.M) int {
	if os.Getenv(IsolatedEnv) != "" || Isolated() {
		return m.Run()
	}
	code, err := reexecIsolated()
	if err == nil {
		return code
	}
	if InCI() {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: cannot run the tests in a loopback-only network namespace (CI=%s): %v\n", os.Getenv("CI"), err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: warning: cannot isolate the network (%v); running on the host network, where browsers may use other interfaces\n", err)
	return m.Run()
}

// errNoNamespace wraps every reason why a namespace could not be made, as
// opposed to the tests failing inside one.
var errNoNamespace = errors.New("no network namespace")

// reexecIsolated runs this binary again in a new network namespace and returns
// its exit code. An error means the namespace could not be made; the tests did
// not run.
func reexecIsolated() (int, error) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return 0, fmt.Errorf("%w: %v (Debian package util-linux)", errNoNamespace, err)
	}
	ip, err := lookPathSbin("ip")
	if err != nil {
		return 0, fmt.Errorf("%w: %v (Debian package iproute2)", errNoNamespace, err)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errNoNamespace, err)
	}
	flags := []string{"--net"}
	if os.Geteuid() != 0 {
		flags = append(flags, "--map-root-user")
	}
	// $1 is ip; the rest is the command to exec once lo is up.
	const script = `"$1" link set lo up && shift && exec "$@"`

	// Probe first, so that "cannot isolate" is told apart from "tests failed".
	probe := exec.Command(unshare, slices.Concat(flags, []string{"sh", "-c", script, "sh", ip, "true"})...)
	if out, err := probe.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%w: %s: %v: %s", errNoNamespace, strings.Join(probe.Args, " "), err, strings.TrimSpace(string(out)))
	}

	cmd := exec.Command(unshare, slices.Concat(flags, []string{"sh", "-c", script, "sh", ip, self}, os.Args[1:])...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), IsolatedEnv+"=1")
	// Kill the child if this process dies (go test's own timeout kill, for
	// one). Pdeathsig follows the thread that forked, so stay on it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("%w: %v", errNoNamespace, err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()

	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			fmt.Fprintf(os.Stderr, "e2e: isolated test process killed by %v\n", ws.Signal())
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	default:
		fmt.Fprintf(os.Stderr, "e2e: waiting for the isolated test process: %v\n", err)
		return 1, nil
	}
}

// lookPathSbin is exec.LookPath that also tries the sbin directories, which
// are not on PATH for every user.
func lookPathSbin(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if fi, serr := os.Stat(dir + "/" + name); serr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return dir + "/" + name, nil
		}
	}
	return "", err
}
