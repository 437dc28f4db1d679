package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// spawnedServer is a dialroom server this tool started for one run: its own
// loopback port, a fresh data directory (so the first-start password is
// printed and no earlier state skews memory), and its process for sampling.
// Stop ends it; the tool never leaves one behind.
type spawnedServer struct {
	cmd      *exec.Cmd
	url      *url.URL
	password string
	dir      string
	logPath  string
	exited   chan struct{} // closed when the process has been waited for
	waitErr  error
	log      *slog.Logger
}

// How long spawning may take: the build is the slow part on a cold cache.
const (
	buildTimeout = 5 * time.Minute
	startTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
)

// buildServer runs go build for ./cmd/dialroom into bin. The working directory
// must be the module root.
func buildServer(ctx context.Context, bin string, stderr io.Writer) error {
	if _, err := os.Stat("cmd/dialroom"); err != nil {
		return fmt.Errorf("--build needs the module root as working directory (cmd/dialroom not found); or pass --build=false")
	}
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/dialroom")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/dialroom: %w", err)
	}
	return nil
}

// freeLoopbackPort asks the kernel for a free port on 127.0.0.1. The port is
// released before the server binds it; another process grabbing it in between
// makes the start fail loudly, never silently.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// spawnServer starts bin serve on a free loopback port with a new data
// directory and waits for the first-start password and a healthy API. setup,
// if not nil, runs first with the server's directory (removed at Stop): it
// may write files there (a config, a dialplan) and returns more arguments
// for serve. cpus, if any, pin the server from its start (startPinned).
// env, if any, is added to the server's environment.
func spawnServer(ctx context.Context, bin string, cpus []int, env []string, log *slog.Logger,
	setup func(dir string) ([]string, error)) (*spawnedServer, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dialroom-load-")
	if err != nil {
		return nil, err
	}
	s := &spawnedServer{dir: dir, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{}), log: log,
		url: &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	args := []string{"serve", "--http", s.url.Host, "--data", filepath.Join(dir, "data")}
	if setup != nil {
		more, err := setup(dir)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		args = append(args, more...)
	}
	s.cmd = exec.Command(abs, args...)
	if len(env) > 0 {
		s.cmd.Env = append(os.Environ(), env...)
	}
	s.cmd.Stderr = logFile
	// If this tool dies without cleaning up, the kernel stops the server too.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := startPinned(s.cmd, cpus); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", abs, err)
	}
	if len(cpus) > 0 {
		got, _ := threadsAffinity(s.cmd.Process.Pid)
		log.Info("server pinned", "pid", s.cmd.Process.Pid, "cpus", formatCPUList(got), "gomaxprocs", len(cpus))
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	passwords := make(chan string, 1)
	go scanPassword(stdout, passwords)
	select {
	case s.password = <-passwords:
	case <-s.exited:
		err = fmt.Errorf("server exited at start: %v; log: %s", s.waitErr, s.tail())
	case <-time.After(startTimeout):
		err = fmt.Errorf("server printed no first-start password within %v; log: %s", startTimeout, s.tail())
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil && s.password == "" {
		err = fmt.Errorf("server output ended without a first-start password; log: %s", s.tail())
	}
	if err == nil {
		hctx, cancel := context.WithTimeout(ctx, startTimeout)
		err = (&apiClient{base: s.url, http: newHTTPClient(false)}).health(hctx)
		cancel()
	}
	if err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// scanPassword finds "Password:  …" in the server's first-start banner
// (cmd/dialroom bootstrapOperator), sends it, and then drains stdout so the
// server never blocks on a full pipe. It sends "" if the output ends first.
func scanPassword(stdout io.Reader, out chan<- string) {
	sc := bufio.NewScanner(stdout)
	sent := false
	for sc.Scan() {
		if sent {
			continue
		}
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Password:"); ok {
			if f := strings.Fields(rest); len(f) == 1 {
				out <- f[0]
				sent = true
			}
		}
	}
	if !sent {
		out <- ""
	}
	_, _ = io.Copy(io.Discard, stdout)
}

// PID returns the server's process id.
func (s *spawnedServer) PID() int { return s.cmd.Process.Pid }

// Stop asks the server to shut down (SIGTERM: members are told, the database
// is closed), kills it if it has not exited after stopTimeout, and removes its
// data directory. Safe to call more than once.
func (s *spawnedServer) Stop() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			s.log.Warn("server did not exit within the stop timeout after SIGTERM; killing it",
				"pid", s.PID(), "timeout", stopTimeout)
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	var exitErr *exec.ExitError
	if s.waitErr != nil && !errors.As(s.waitErr, &exitErr) {
		s.log.Warn("server wait", "err", s.waitErr)
	}
	if s.dir != "" {
		if err := os.RemoveAll(s.dir); err != nil {
			s.log.Warn("cannot remove server data", "dir", s.dir, "err", err)
		}
		s.dir = ""
	}
}

// tail returns the end of the server's log, for error messages.
func (s *spawnedServer) tail() string {
	data, _ := os.ReadFile(s.logPath)
	const keep = 2000
	if len(data) > keep {
		data = data[len(data)-keep:]
	}
	return strings.TrimSpace(string(data))
}

// logLevels counts the server's WARN and ERROR log lines (text or JSON format).
func (s *spawnedServer) logLevels() (warn, errs int, examples []string) {
	data, _ := os.ReadFile(s.logPath)
	for line := range strings.Lines(string(data)) {
		switch {
		case strings.Contains(line, "level=WARN"), strings.Contains(line, `"level":"WARN"`):
			warn++
		case strings.Contains(line, "level=ERROR"), strings.Contains(line, `"level":"ERROR"`):
			errs++
		default:
			continue
		}
		if len(examples) < 3 {
			examples = append(examples, strings.TrimSpace(line))
		}
	}
	return warn, errs, examples
}
