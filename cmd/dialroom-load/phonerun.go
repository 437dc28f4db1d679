package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

// Phone mode: issue 4's capacity measurement. The tool spawns a server with
// SIP on a free loopback port (a config and dialplan of its own: 127.0.0.1 is
// a trunk, every issued number routes to its conference), and per room of 10
// opens the operator's browser and one guest browser (pion clients, as in the
// SFU runs) and calls the room's number from eight phones: real SIP over UDP
// (INVITE/200/ACK, BYE at the end) with G.711 RTP every 20 ms. The operator's
// client admits each phone from the lobby over the WebSocket. Steps of
// --phones add rooms on the same server; each step is measured like an SFU
// step. The ramp goes on past a step that misses the goal (p99 lateness,
// skipped ticks, phone loss) and stops after one where the server no longer
// keeps up (phoneStep.sustainable).

// phoneGoalLateP99 is issue 4's bound on the media clock's p99 lateness.
const phoneGoalLateP99 = 5 * time.Millisecond

// phoneSample is one reading at a window boundary.
type phoneSample struct {
	proc     sample
	metrics  serverMetrics
	received int64 // RTP packets the phones received
	lost     int64 // missing by sequence number
	legs     int
	lagged   int64       // load clock ticks it had to skip
	firm     *memReading // after a forced collection (--firm-memory; idle only)
}

// phoneEnv is the state of one phone-mode run.
type phoneEnv struct {
	cfg     Config
	log     *slog.Logger
	tg      target
	api     *apiClient
	env     *clientEnv
	ua      *sipUA
	clock   *phoneClock
	lat     *latencyLog
	sockets []*rtpSocket
	rooms   []*phoneRoom
	hc      *http.Client

	setupTimes []time.Duration // INVITE → 200 of every call
	setupFails int
}

// runPhones is run in phone mode.
func runPhones(ctx context.Context, cfg Config, out, stderr io.Writer, log *slog.Logger) error {
	sipPort, err := freeUDPPort()
	if err != nil {
		return err
	}
	tg, err := spawnPhoneServer(ctx, cfg, sipPort, stderr, log)
	if err != nil {
		return err
	}
	defer tg.spawned.Stop()
	started := time.Now()

	pl, err := newLoadPayloads(cfg.PhoneWire)
	if err != nil {
		return err
	}
	opHTTP := newHTTPClient(true)
	api := &apiClient{base: tg.base, http: opHTTP}
	if err := api.login(ctx, "admin", tg.password); err != nil {
		return fmt.Errorf("log in: %w", err)
	}
	if len(cfg.SIPpRates) > 0 {
		return runSetupRates(ctx, cfg, api, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sipPort)),
			tg, out, log)
	}
	clientAPI, err := newClientAPI()
	if err != nil {
		return err
	}
	ua, err := newSIPUA(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sipPort)), cfg.PhoneWire)
	if err != nil {
		return err
	}
	defer ua.Close()
	pe := &phoneEnv{cfg: cfg, log: log, tg: tg, api: api, ua: ua, lat: &latencyLog{},
		clock: &phoneClock{payloads: pl}, hc: newHTTPClient(false)}
	pe.env = &clientEnv{api: clientAPI, operatorHTTP: opHTTP, guestHTTP: newHTTPClient(false),
		wsURL: "ws://" + tg.base.Host + "/ws", origin: tg.base.String(), plan: &atomic.Pointer[windowPlan]{},
		log: log, opus: pl.opus,
		onAudio: func(c *client, member string, pkt *rtp.Packet, at time.Time) {
			if pr := c.room.phone; pr != nil {
				pr.onAudio(c, member, pkt, at)
			}
		}}
	defer pe.closeSockets()

	idle, err := pe.take(ctx)
	if err != nil {
		return fmt.Errorf("sampling the server: %w", err)
	}
	if idle.firm, err = pe.firmMemory(ctx, "idle"); err != nil {
		return err
	}
	stop := make(chan struct{})
	var clockDone sync.WaitGroup
	clockDone.Go(func() { pe.clock.run(stop) })
	defer func() {
		close(stop)
		clockDone.Wait()
	}()
	defer pe.hangUpAll()
	go keepalivePhones(ctx, pe)

	res := &phoneResult{cfg: cfg, started: started, idle: idle}
	for si, legs := range cfg.Phones {
		st, err := pe.step(ctx, si, legs)
		if err != nil {
			if si == 0 || ctx.Err() != nil {
				return err
			}
			res.aborted = fmt.Errorf("step %d (%d legs) not measured: %w", si+1, legs, err)
			log.Warn("stopping early", "err", res.aborted)
			break
		}
		res.steps = append(res.steps, st)
		if !st.passed() && !st.sustainable() {
			log.Info("server not keeping up; ramp stops", "legs", legs)
			break
		}
	}
	res.cpus = readCPUReport(tg.pid, len(cfg.ServerCPUs) > 0, len(cfg.LoadCPUs) > 0)
	res.setupTimes, res.setupFails = pe.setupTimes, pe.setupFails
	res.serverWarn, res.serverErr, res.serverLog = tg.spawned.logLevels()
	res.print(out)
	if cfg.Markdown {
		res.printMarkdown(out)
	}
	return nil
}

// freeUDPPort asks the kernel for a free UDP port on 127.0.0.1.
func freeUDPPort() (int, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// phoneDialplan makes 127.0.0.1 a trunk (known by address, not registering)
// and routes every issued number to its conference.
const phoneDialplan = `trunks:
  - name: load
    registrar: sip:127.0.0.1:9
    register_interval: 0
    sources: ["127.0.0.1"]
    dids: ["_0X0XXXXXXXX"]
routes:
  - name: direct-dial
    to: "_0X0XXXXXXXX"
    action: conference
`

// spawnPhoneServer starts the server with SIP on sipPort (UDP only), RTP
// ports for every leg and the dialplan above.
func spawnPhoneServer(ctx context.Context, cfg Config, sipPort int, stderr io.Writer, log *slog.Logger) (target, error) {
	if cfg.Build {
		log.Info("building", "bin", cfg.ServerBin)
		if err := buildServer(ctx, cfg.ServerBin, stderr); err != nil {
			return target{}, err
		}
	}
	setup := func(dir string) ([]string, error) {
		plan := filepath.Join(dir, "dialplan.yaml")
		planText := phoneDialplan
		if cfg.PhoneWire == "g722" {
			planText = strings.Replace(planText, "    dids:", "    codecs: [G722, PCMU]\n    dids:", 1)
		}
		if err := os.WriteFile(plan, []byte(planText), 0o644); err != nil {
			return nil, err
		}
		conf := fmt.Sprintf(`dialplan: %q
%ssip:
  udp: ["127.0.0.1:%d"]
  tcp: []
  media_ip: "127.0.0.1"
  rtp_bind: "127.0.0.1"
  rtp_port_min: %d
  rtp_port_max: %d
webrtc:
  phone_codec: %s
  udp_port: %d
%slog:
  level: %s
`, plan, niceLine(cfg.ServerNice), sipPort, cfg.RTPPortMin, cfg.RTPPortMin+2*maxPhoneLegs+100, cfg.PhoneCodec, cfg.ICEPort, iceNetworksLine(cfg.ICENetworks), cfg.ServerLogLevel)
		path := filepath.Join(dir, "dialroom.yaml")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			return nil, err
		}
		return []string{"--config", path}, nil
	}
	var env []string
	var profiler *url.URL
	if cfg.FirmMemory {
		port, err := freeLoopbackPort()
		if err != nil {
			return target{}, err
		}
		profiler = &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port), Path: "/debug/pprof/"}
		env = append(env, "DIALROOM_PPROF="+profiler.Host)
	}
	s, err := spawnServer(ctx, cfg.ServerBin, cfg.ServerCPUs, env, log, setup)
	if err != nil {
		return target{}, err
	}
	log.Info("spawned server", "pid", s.PID(), "url", s.url.String(), "sip", sipPort, "dir", s.dir)
	return target{base: s.url, password: s.password, pid: s.PID(), spawned: s, profiler: profiler}, nil
}

// take reads everything at a window boundary.
func (pe *phoneEnv) take(ctx context.Context) (phoneSample, error) {
	var s phoneSample
	var err error
	if s.proc, err = takeSample(pe.tg.pid); err != nil {
		return s, err
	}
	if s.metrics, err = scrapeServerMetrics(ctx, pe.hc, pe.tg.base); err != nil {
		return s, err
	}
	if legs := pe.clock.legs.Load(); legs != nil {
		for _, l := range *legs {
			if l.live.Load() {
				s.legs++
			}
			s.received += l.received.Load()
			s.lost += l.lost.Load()
		}
	}
	s.lagged = pe.clock.lagged.Load()
	return s, nil
}

// step opens rooms until legs phone legs are in, waits for them to be
// admitted, and measures.
func (pe *phoneEnv) step(ctx context.Context, si, legs int) (*phoneStep, error) {
	cfg := pe.cfg
	want := legs / phonesPerRoom
	first := len(pe.rooms)
	pe.log.Info("opening rooms", "step", si+1, "rooms", want, "legs", legs)
	for i := first; i < want; i++ {
		n, err := pe.api.issueNumber(ctx)
		if err != nil {
			return nil, err
		}
		pr := &phoneRoom{index: i, number: n, lat: pe.lat, offset: uint32(i*37) % talkEvery}
		pr.web = newRoom(pe.env, i, n, browsersPerRoom, 0, 0)
		pr.web.phone = pr
		if err := pe.roomSocket(pr); err != nil {
			return nil, err
		}
		pe.rooms = append(pe.rooms, pr)
		if err := pr.web.open(ctx, 50*time.Millisecond); err != nil {
			return nil, err
		}
		var browsers []*client
		browsers = append(browsers, pr.web.clients...)
		pe.clock.add(nil, browsers)
	}
	webs := make([]*room, 0, want)
	for _, pr := range pe.rooms {
		webs = append(webs, pr.web)
	}
	if nr, miss := waitReady(ctx, webs[first:], cfg.SetupTimeout, pe.log); nr > 0 {
		return nil, fmt.Errorf("%d browsers not connected (%d streams missing)", nr, miss)
	}
	if err := pe.callRooms(ctx, pe.rooms[first:]); err != nil {
		return nil, err
	}
	if err := pe.waitAdmitted(ctx, want); err != nil {
		return nil, err
	}
	// Admission is not the end of setup: every admitted phone's track is
	// then offered to its room's browsers (a renegotiation each), and that
	// work must not fall into the measured windows.
	if err := pe.waitNegotiated(ctx); err != nil {
		return nil, err
	}
	pe.log.Info("measuring", "step", si+1, "legs", legs, "warmup", cfg.Warmup, "windows", cfg.Windows, "each", cfg.Duration)
	select {
	case <-time.After(cfg.Warmup):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	st := &phoneStep{legs: legs, rooms: want}
	for i := range cfg.Windows + 1 {
		if i > 0 {
			select {
			case <-time.After(cfg.Duration):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		s, err := pe.take(ctx)
		if err != nil {
			return nil, fmt.Errorf("sampling: %w", err)
		}
		st.samples = append(st.samples, s)
	}
	st.collect(pe.lat, pe.cfg.ServerCPUs)
	firm, err := pe.firmMemory(ctx, strconv.Itoa(legs))
	if err != nil {
		return nil, err
	}
	st.firm = firm
	return st, nil
}

// firmMemory forces a collection in the server through its profiler (a heap
// profile with gc=1) and then reads its live heap, stacks and goroutines from
// /metrics: what the server holds at that moment. nil without --firm-memory.
// It runs after a step's windows: a forced collection inside one would
// stretch the clock it measures. The profile is kept as heap-NAME.pb.gz
// with --heap-profiles.
func (pe *phoneEnv) firmMemory(ctx context.Context, name string) (*memReading, error) {
	if pe.tg.profiler == nil {
		return nil, nil
	}
	u := pe.tg.profiler.JoinPath("heap")
	u.RawQuery = "gc=1"
	// Twice: what sync.Pools hold survives one collection (the pools'
	// victim cache) and is freed by the next.
	var profile []byte
	for range 2 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := pe.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("forcing a collection in the server: %w", err)
		}
		profile, err = io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("forcing a collection in the server: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("forcing a collection in the server: %s: %s", u, resp.Status)
		}
	}
	if dir := pe.cfg.HeapProfiles; dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "heap-"+name+".pb.gz"), profile, 0o644); err != nil {
			return nil, err
		}
	}
	m, err := scrapeServerMetrics(ctx, pe.hc, pe.tg.base)
	if err != nil {
		return nil, err
	}
	v := m.values
	r := &memReading{liveMiB: v["go_gc_heap_live_bytes"] / (1 << 20), stackMiB: v["go_memstats_stack_inuse_bytes"] / (1 << 20),
		goroutines: v["go_goroutines"]}
	pe.log.Info("server memory after a forced collection", "at", name, "live_MiB", r.liveMiB, "stacks_MiB", r.stackMiB, "goroutines", r.goroutines, "alloc_MiB", v["go_memstats_heap_alloc_bytes"]/(1<<20), "inuse_MiB", v["go_memstats_heap_inuse_bytes"]/(1<<20))
	return r, nil
}

// roomSocket gives a room's legs their RTP socket: a new socket every
// LegsPerSocket legs.
func (pe *phoneEnv) roomSocket(pr *phoneRoom) error {
	for i := range phonesPerRoom {
		total := len(pe.rooms)*phonesPerRoom + i
		if total%pe.cfg.LegsPerSocket == 0 {
			s, err := newRTPSocket()
			if err != nil {
				return err
			}
			pe.sockets = append(pe.sockets, s)
		}
		pr.legs = append(pr.legs, pe.sockets[len(pe.sockets)-1].newLeg(pr, i))
	}
	return nil
}

// callRooms calls every phone of rooms, CallRate calls per second at most,
// and starts each leg's RTP once answered.
func (pe *phoneEnv) callRooms(ctx context.Context, rooms []*phoneRoom) error {
	var legs []*phoneLeg
	for _, pr := range rooms {
		legs = append(legs, pr.legs...)
	}
	pe.clock.add(legs, nil)
	every := time.Second / time.Duration(pe.cfg.CallRate)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, l := range legs {
		select {
		case <-time.After(every):
		case <-ctx.Done():
			return ctx.Err()
		}
		wg.Go(func() {
			// Callers have distinct numbers: the console shows 090-****-NNNN.
			caller := fmt.Sprintf("0900000%04d", l.room.index*phonesPerRoom+l.index)
			c := pe.ua.newSIPCall(caller, l.room.number.Number, l.sock.port)
			t0 := time.Now()
			err := pe.ua.invite(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				pe.ua.forget(c)
				pe.setupFails++
				errs = append(errs, fmt.Errorf("%s → %s: %w", caller, l.room.number.Number, err))
				return
			}
			pe.setupTimes = append(pe.setupTimes, time.Since(t0))
			l.call = c
			l.sock.attach(l, c.media)
			l.live.Store(true)
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d calls failed: %w", len(errs), len(legs), errors.Join(errs[:min(len(errs), 3)]...))
	}
	return nil
}

// waitAdmitted waits until the server has every room's 10 members in and
// nobody in a lobby.
func (pe *phoneEnv) waitAdmitted(ctx context.Context, rooms int) error {
	deadline := time.Now().Add(pe.cfg.SetupTimeout)
	for {
		m, err := scrapeServerMetrics(ctx, pe.hc, pe.tg.base)
		if err != nil {
			return err
		}
		members, waiting := m.values["dialroom_members"], m.values["dialroom_lobby_waiting"]
		if int(members) >= rooms*(phonesPerRoom+browsersPerRoom) && waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %v members (want %d), %v waiting in lobbies", pe.cfg.SetupTimeout,
				members, rooms*(phonesPerRoom+browsersPerRoom), waiting)
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitNegotiated waits until every browser of every room has answered an
// offer carrying all the room's other members' streams (the phones' and
// the other browser's).
func (pe *phoneEnv) waitNegotiated(ctx context.Context) error {
	want := phonesPerRoom + browsersPerRoom - 1
	deadline := time.Now().Add(pe.cfg.SetupTimeout)
	for {
		behind := 0
		for _, pr := range pe.rooms {
			for _, c := range pr.web.clients {
				if c.negotiatedStreams() < want {
					behind++
				}
			}
		}
		if behind == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %d browsers have not negotiated all %d streams of their room", pe.cfg.SetupTimeout, behind, want)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// hangUpAll sends BYE for every answered call and closes the browsers.
func (pe *phoneEnv) hangUpAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, pr := range pe.rooms {
		for _, l := range pr.legs {
			if l.call == nil {
				continue
			}
			l.live.Store(false)
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				_ = pe.ua.bye(ctx, l.call)
				l.sock.detach(l)
			})
		}
	}
	wg.Wait()
	var clients []*client
	for _, pr := range pe.rooms {
		clients = append(clients, pr.web.clients...)
	}
	closeClients(clients)
}

func (pe *phoneEnv) closeSockets() {
	for _, s := range pe.sockets {
		s.Close()
	}
}

// keepalivePhones pings the browsers' sockets (the server closes idle ones).
func keepalivePhones(ctx context.Context, pe *phoneEnv) {
	everyKeepalive(ctx, func() {
		if bs := pe.clock.browsers.Load(); bs != nil {
			pingClients(*bs)
		}
	})
}

// iceNetworksLine renders the comma-separated --ice-networks as the
// webrtc.ice_networks line of the server's config, or nothing when it is
// empty (so servers built before the key existed can be compared).
// niceLine returns the config's nice line; none for 0, so that a server
// built before the setting existed (an A/B against an older binary) still
// reads the config.
func niceLine(nice int) string {
	if nice == 0 {
		return ""
	}
	return fmt.Sprintf("nice: %d\n", nice)
}

func iceNetworksLine(commaSeparated string) string {
	var items []string
	for _, s := range strings.Split(commaSeparated, ",") {
		if s = strings.TrimSpace(s); s != "" {
			items = append(items, strconv.Quote(s))
		}
	}
	if len(items) == 0 {
		return ""
	}
	return "  ice_networks: [" + strings.Join(items, ", ") + "]\n"
}
