package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// drainTime lets the last packets of the run reach their receivers before
// counting: loopback delivery takes microseconds, a busy machine milliseconds.
const drainTime = 300 * time.Millisecond

// keepaliveInterval matches the browsers' ping (the server closes sockets
// idle for 60 s).
const keepaliveInterval = 20 * time.Second

// minWarmupTicks keeps a plan's start in the future of the tick being sent.
const minWarmupTicks = 5

// target is the server a run loads.
type target struct {
	base     *url.URL
	password string
	pid      int // 0: not sampled
	spawned  *spawnedServer
	profiler *url.URL // the spawned server's /debug/pprof/ (--firm-memory); nil: off
}

// sampler takes the readings at window boundaries.
type sampler struct {
	pid  int
	hc   *http.Client
	base *url.URL
	// scrape is cleared after the first failed /metrics read, so a server
	// without the endpoint costs one warning.
	scrape bool
	log    *slog.Logger
}

func (s *sampler) take(ctx context.Context) (sample, error) {
	smp, err := takeSample(s.pid)
	if err != nil || !s.scrape {
		return smp, err
	}
	m, err := scrapeGoMetrics(ctx, s.hc, s.base)
	if err != nil {
		s.log.Warn("no Go runtime figures from the server", "err", err)
		s.scrape = false
		return smp, nil
	}
	smp.goMetrics, smp.hasGo = m, true
	return smp, nil
}

// run performs one load run, step by step, and prints its report to out.
func run(ctx context.Context, cfg Config, out, stderr io.Writer, log *slog.Logger) error {
	if cfg.phoneMode() {
		return runPhones(ctx, cfg, out, stderr, log)
	}
	tg, err := resolveTarget(ctx, cfg, stderr, log)
	if err != nil {
		return err
	}
	if tg.spawned != nil {
		defer tg.spawned.Stop()
	}
	started := time.Now()

	opHTTP := newHTTPClient(true)
	api := &apiClient{base: tg.base, http: opHTTP}
	login := cfg.Login
	if cfg.Spawn {
		login = "admin" // the operator a first start creates
	}
	if err := api.login(ctx, login, tg.password); err != nil {
		return fmt.Errorf("log in as %q: %w", login, err)
	}
	clientAPI, err := newClientAPI()
	if err != nil {
		return err
	}
	plan := &atomic.Pointer[windowPlan]{}
	env := &clientEnv{api: clientAPI, operatorHTTP: opHTTP, guestHTTP: newHTTPClient(false),
		wsURL:  "ws://" + tg.base.Host + "/ws",
		origin: tg.base.String(), plan: plan, windows: len(cfg.Rooms) * cfg.Windows, log: log}
	var rooms []*room
	var clients []*client
	for i := range cfg.maxRooms() {
		n, err := api.issueNumber(ctx)
		if err != nil {
			return err
		}
		r := newRoom(env, i, n, cfg.Size, cfg.talkers(), cfg.videoSenders())
		rooms = append(rooms, r)
		clients = append(clients, r.clients...)
	}

	smp := &sampler{pid: tg.pid, hc: newHTTPClient(false), base: tg.base, scrape: true, log: log}
	idle, err := smp.take(ctx)
	if err != nil {
		return fmt.Errorf("sampling the server: %w", err)
	}
	p := newPacer(clients, plan, cfg.Windows, uint64(started.UnixNano()))
	pctx, stopPacer := context.WithCancel(ctx)
	defer stopPacer()
	go p.run(pctx)
	var closeOnce sync.Once
	closeAll := func() { closeOnce.Do(func() { closeClients(clients) }) }
	defer closeAll()
	go keepalive(pctx, clients)

	var steps []*step
	var aborted error // why a later step could not be measured
	opened := 0
	for si, n := range cfg.Rooms {
		st, err := measureStep(ctx, cfg, si, rooms[opened:n], rooms[:n], p, smp, log)
		if err != nil {
			if si == 0 || ctx.Err() != nil {
				return err
			}
			// The steps before were measured; report them with the reason.
			aborted = fmt.Errorf("step %d (%d×%d) not measured: %w", si+1, n, cfg.Size, err)
			log.Warn("stopping early", "err", aborted)
			stopPacer()
			break
		}
		opened = n
		steps = append(steps, st)
	}
	for range p.marks { // the pacer sends its tail (or was stopped), then closes marks
	}
	time.Sleep(drainTime)

	res := &result{cfg: cfg, started: started, url: tg.base.String(), pid: tg.pid, spawned: tg.spawned != nil,
		idle: idle, cores: idle.machine.cores, aborted: aborted}
	for _, st := range steps {
		res.steps = append(res.steps, collectStep(cfg, rooms[:st.rooms], st))
	}
	res.collectIssues(clients)
	closeAll()
	if tg.spawned != nil {
		res.serverWarn, res.serverErr, res.serverLog = tg.spawned.logLevels()
	}
	res.print(out)
	if cfg.Markdown {
		res.printMarkdown(out)
	}
	return nil
}

// windowSlack bounds how much longer than planned a window may take (the
// pacer falls behind on a saturated machine and windows are counted in
// ticks) before the step is given up: the run must end by itself.
const windowSlack = 3

// measureStep opens the rooms added by step si, waits for their media, and
// measures the step's windows. open are the rooms to start, all every room
// of the step.
func measureStep(ctx context.Context, cfg Config, si int, open, all []*room, p *pacer, smp *sampler,
	log *slog.Logger) (*step, error) {
	st := &step{rooms: len(all), participants: len(all) * cfg.Size}
	log.Info("starting clients", "step", si+1, "rooms", len(all), "size", cfg.Size, "ramp_step", cfg.rampStep())
	for _, r := range open {
		if err := r.open(ctx, cfg.rampStep()); err != nil {
			return nil, err
		}
	}
	st.notReady, st.missing = waitReady(ctx, all, cfg.SetupTimeout, log)
	if st.notReady > 0 {
		log.Warn("measuring anyway; missing streams count as lost",
			"clients_not_ready", st.notReady, "missing_streams", st.missing)
	}
	warmupTicks := uint32(max(cfg.Warmup/tickInterval, minWarmupTicks))
	pl := &windowPlan{Start: p.next.Load() + warmupTicks, Ticks: uint32(cfg.Duration / tickInterval),
		Count: cfg.Windows, First: si * cfg.Windows, Final: si == len(cfg.Rooms)-1}
	st.plan = pl
	p.plan.Store(pl)
	log.Info("measuring", "step", si+1, "participants", st.participants, "warmup", cfg.Warmup,
		"windows", cfg.Windows, "each", cfg.Duration)
	for i := range cfg.Windows + 1 {
		limit := windowSlack*cfg.Duration + 10*time.Second
		if i == 0 {
			limit = windowSlack*time.Duration(warmupTicks)*tickInterval + 10*time.Second
		}
		select {
		case _, ok := <-p.marks:
			if !ok {
				return nil, errors.New("the pacer stopped before the last window ended")
			}
		case <-time.After(limit):
			return nil, fmt.Errorf("a window took over %v: the machine is saturated", limit)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		s, err := smp.take(ctx)
		if err != nil {
			return nil, fmt.Errorf("sampling: %w", err)
		}
		st.samples = append(st.samples, s)
	}
	return st, nil
}

// resolveTarget spawns the server or checks the one given.
func resolveTarget(ctx context.Context, cfg Config, stderr io.Writer, log *slog.Logger) (target, error) {
	if cfg.Spawn {
		if cfg.Build {
			log.Info("building", "bin", cfg.ServerBin)
			if err := buildServer(ctx, cfg.ServerBin, stderr); err != nil {
				return target{}, err
			}
		}
		s, err := spawnServer(ctx, cfg.ServerBin, cfg.ServerCPUs, nil, log, nil)
		if err != nil {
			return target{}, err
		}
		log.Info("spawned server", "pid", s.PID(), "url", s.url.String(), "dir", s.dir)
		return target{base: s.url, password: s.password, pid: s.PID(), spawned: s}, nil
	}
	base, err := loopbackBaseURL(cfg.URL)
	if err != nil {
		return target{}, err
	}
	password := cfg.Password
	if cfg.PasswordFile != "" {
		data, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return target{}, err
		}
		password = strings.TrimRight(string(data), "\r\n")
	}
	if cfg.ServerPID > 0 {
		name, err := processName(cfg.ServerPID)
		if err != nil {
			return target{}, fmt.Errorf("--server-pid %d: %w", cfg.ServerPID, err)
		}
		if name != "dialroom" {
			log.Warn("--server-pid is not a process named dialroom", "pid", cfg.ServerPID, "name", name)
		}
	}
	return target{base: base, password: password, pid: cfg.ServerPID}, nil
}

// waitReady waits until every client is in, connected and receiving every
// other member's streams, or until timeout. It returns what was still missing.
func waitReady(ctx context.Context, rooms []*room, timeout time.Duration, log *slog.Logger) (clients, streams int) {
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	for {
		clients, streams = 0, 0
		for _, r := range rooms {
			c, s := r.notReady()
			clients += c
			streams += s
		}
		if clients == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return clients, streams
		}
		if time.Since(lastLog) > 5*time.Second {
			log.Info("waiting for media", "clients_not_ready", clients, "missing_streams", streams)
			lastLog = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// keepalive pings every started client's socket until ctx ends: one loop,
// not a timer per client.
func keepalive(ctx context.Context, clients []*client) {
	everyKeepalive(ctx, func() { pingClients(clients) })
}

// pingClients pings every started client that has not ended.
func pingClients(clients []*client) {
	for _, c := range clients {
		if c.started() && c.ended() == nil {
			_ = c.write(outMsg{Type: "ping"})
		}
	}
}

// everyKeepalive calls ping every keepaliveInterval until ctx ends, on the
// caller's goroutine: the keep-alive loop of every mode.
func everyKeepalive(ctx context.Context, ping func()) {
	t := time.NewTicker(keepaliveInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ping()
	}
}

// closeClients leaves every conference concurrently: one pion Close takes a
// few milliseconds, and a hundred in a row would look like a slow server.
func closeClients(clients []*client) {
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(c.close)
	}
	wg.Wait()
}
