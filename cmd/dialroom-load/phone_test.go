package main

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// One or two phones of a room talk at any tick, every phone gets turns, and
// each spurt has exactly one onset.
func TestTalkTurn(t *testing.T) {
	for _, offset := range []uint32{0, 37, 74} {
		onsets := map[int]int{}
		for tick := uint32(0); tick < 20*talkEvery; tick++ {
			talking := 0
			for i := range phonesPerRoom {
				on, onset := talkTurn(tick, offset, i, phonesPerRoom)
				if on {
					talking++
				}
				if onset {
					onsets[i]++
				}
			}
			// The very first turn of a room has no predecessor still talking.
			if talking < 1 || talking > 2 {
				t.Fatalf("offset %d tick %d: %d talkers, want 1 or 2", offset, tick, talking)
			}
		}
		for i := range phonesPerRoom {
			if onsets[i] < 2 {
				t.Errorf("offset %d: phone %d started %d spurts in 20 turns", offset, i, onsets[i])
			}
		}
	}
}

func TestParseSIPResponse(t *testing.T) {
	msg := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx;rport=5070\r\n" +
		"From: <sip:09000000001@127.0.0.1>;tag=abc\r\nt: <sip:06012345678@127.0.0.1>;tag=srv1\r\n" +
		"i: call-1@load\r\nCSeq: 1 INVITE\r\nContact: <sip:dialroom@127.0.0.1:5060>\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: 99\r\n\r\n" +
		"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n"
	m, ok := parseSIP([]byte(msg))
	if !ok || m.status != 200 {
		t.Fatalf("parse: ok %v status %d", ok, m.status)
	}
	if got := m.header("call-id"); got != "call-1@load" {
		t.Errorf("Call-ID (compact i:) = %q", got)
	}
	if got := tagOf(m.header("to")); got != "srv1" {
		t.Errorf("To tag = %q", got)
	}
	if n, method := m.cseq(); n != 1 || method != "INVITE" {
		t.Errorf("CSeq = %d %s", n, method)
	}
	if got := uriOf(m.header("contact")); got != "sip:dialroom@127.0.0.1:5060" {
		t.Errorf("Contact URI = %q", got)
	}
	if got, want := sdpMedia(m.body), netip.MustParseAddrPort("127.0.0.1:40002"); got != want {
		t.Errorf("media = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "hello", "SIP/2.0 abc OK\r\n\r\n", "m=audio\r\n"} {
		if m, ok := parseSIP([]byte(bad)); ok && m.status == 0 && m.method == "" {
			t.Errorf("parseSIP(%q) accepted an empty message", bad)
		}
	}
	if sdpMedia("m=audio \r\nc=IN IP4 192.0.2.1\r\n").IsValid() {
		t.Error("sdpMedia accepted a non-loopback or portless answer")
	}
}

func TestServerMetricsWindow(t *testing.T) {
	const before = `# HELP x
dialroom_media_clock_late_seconds_bucket{le="0.001"} 90
dialroom_media_clock_late_seconds_bucket{le="0.005"} 99
dialroom_media_clock_late_seconds_bucket{le="0.01"} 100
dialroom_media_clock_late_seconds_bucket{le="+Inf"} 100
dialroom_media_clock_skipped_ticks_total 2
`
	const after = `dialroom_media_clock_late_seconds_bucket{le="0.001"} 140
dialroom_media_clock_late_seconds_bucket{le="0.005"} 197
dialroom_media_clock_late_seconds_bucket{le="0.01"} 199
dialroom_media_clock_late_seconds_bucket{le="0.02"} 200
dialroom_media_clock_late_seconds_bucket{le="+Inf"} 200
dialroom_media_clock_skipped_ticks_total 2
`
	a, err := parseServerMetrics(strings.NewReader(before))
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseServerMetrics(strings.NewReader(after))
	if err != nil {
		t.Fatal(err)
	}
	w := b.late.sub(a.late)
	if w.count() != 100 {
		t.Fatalf("window count %v, want 100", w.count())
	}
	if got := w.quantile(0.5); got != time.Millisecond {
		t.Errorf("p50 %v, want 1ms (50 of 100 below 1 ms)", got)
	}
	if got := w.quantile(0.99); got != 10*time.Millisecond {
		t.Errorf("p99 %v, want 10ms", got)
	}
	if got := w.above(5 * time.Millisecond); got != 2 {
		t.Errorf("above 5 ms: %v, want 2", got)
	}
	if b.values["dialroom_media_clock_skipped_ticks_total"] != 2 {
		t.Error("skipped counter not read")
	}
	if _, err := parseServerMetrics(strings.NewReader("go_goroutines 5\n")); err == nil {
		t.Error("metrics without the clock histogram accepted")
	}
}

func TestQuantile(t *testing.T) {
	s := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if quantile(s, 0.5) != 5 || quantile(s, 0.99) != 10 || quantile(nil, 0.5) != 0 {
		t.Errorf("quantile: %v %v", quantile(s, 0.5), quantile(s, 0.99))
	}
}

// The phone clock writes each socket's packets in one batch; every leg's
// packets still carry consecutive sequence numbers and timestamps, the
// marker on a spurt's first packet only, the tone while talking, and the
// room's onset is marked when the spurt starts. The reader counts what the
// "server" sends back, gaps as loss.
func TestPhoneBatchSendAndCount(t *testing.T) {
	sock, err := newRTPSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	talk, quiet := make([]byte, phoneFrame), make([]byte, phoneFrame)
	for i := range talk {
		talk[i], quiet[i] = 0x11, 0xff
	}
	pc := &phoneClock{payloads: &loadPayloads{talk: [][]byte{talk}, quiet: [][]byte{quiet}}}
	room := &phoneRoom{lat: &latencyLog{}}
	var servers []*net.UDPConn
	var legs []*phoneLeg
	for i := range 3 {
		srv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		servers = append(servers, srv)
		l := sock.newLeg(room, i)
		sock.attach(l, srv.LocalAddr().(*net.UDPAddr).AddrPort())
		l.live.Store(true)
		legs = append(legs, l)
	}
	pc.add(legs, nil)
	const ticks = talkEvery + 5 // leg 0 talks from tick 0, leg 1 from talkEvery
	for k := range uint32(ticks) {
		pc.sendTick(k)
	}
	if pc.failed.Load() != 0 {
		t.Fatalf("%d sends failed", pc.failed.Load())
	}
	if room.onsetSeq != 2 {
		t.Errorf("%d onsets marked, want 2 (legs 0 and 1)", room.onsetSeq)
	}
	buf := make([]byte, 1500)
	for i, srv := range servers {
		_ = srv.SetReadDeadline(time.Now().Add(2 * time.Second))
		var prevSeq uint16
		var prevTS uint32
		markers := 0
		for k := range ticks {
			n, err := srv.Read(buf)
			if err != nil {
				t.Fatalf("leg %d packet %d: %v", i, k, err)
			}
			if n != rtpHeaderLen+phoneFrame || buf[0] != 0x80 {
				t.Fatalf("leg %d packet %d: %d bytes, first byte %#x", i, k, n, buf[0])
			}
			seq, ts := binary.BigEndian.Uint16(buf[2:]), binary.BigEndian.Uint32(buf[4:])
			if k > 0 && (seq != prevSeq+1 || ts != prevTS+phoneFrame) {
				t.Fatalf("leg %d packet %d: seq %d ts %d after %d %d", i, k, seq, ts, prevSeq, prevTS)
			}
			prevSeq, prevTS = seq, ts
			talking, _ := talkTurn(uint32(k), 0, i, phonesPerRoom)
			if want := map[bool]byte{true: 0x11, false: 0xff}[talking]; buf[rtpHeaderLen] != want {
				t.Fatalf("leg %d tick %d: payload %#x, talking %v", i, k, buf[rtpHeaderLen], talking)
			}
			if buf[1]&0x80 != 0 {
				markers++
			}
		}
		if want := map[int]int{0: 1, 1: 1, 2: 0}[i]; markers != want {
			t.Errorf("leg %d: %d marker packets, want %d", i, markers, want)
		}
	}

	// The server side sends to the shared socket: leg 0 gets seq 10, 11, 13
	// (one lost), leg 1 gets 5, 6; a stranger's packet counts as foreign.
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sock.port))
	send := func(c *net.UDPConn, seq uint16) {
		p := make([]byte, rtpHeaderLen+10)
		p[0] = 0x80
		binary.BigEndian.PutUint16(p[2:], seq)
		if _, err := c.WriteToUDPAddrPort(p, to); err != nil {
			t.Fatal(err)
		}
	}
	for _, seq := range []uint16{10, 11, 13} {
		send(servers[0], seq)
	}
	send(servers[1], 5)
	send(servers[1], 6)
	stranger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	send(stranger, 1)
	deadline := time.Now().Add(2 * time.Second)
	for (legs[0].received.Load() < 3 || legs[1].received.Load() < 2 || sock.foreign.Load() < 1) &&
		time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if r, l := legs[0].received.Load(), legs[0].lost.Load(); r != 3 || l != 1 {
		t.Errorf("leg 0: received %d lost %d, want 3 and 1", r, l)
	}
	if r, l := legs[1].received.Load(), legs[1].lost.Load(); r != 2 || l != 0 {
		t.Errorf("leg 1: received %d lost %d, want 2 and 0", r, l)
	}
	if f := sock.foreign.Load(); f != 1 {
		t.Errorf("foreign %d, want 1", f)
	}
}

// The first step is the memory base: its per-leg cells say so instead of
// NaN, and growth from idle to it is reported on its own line.
func TestPhoneReportMemoryBase(t *testing.T) {
	r := &phoneResult{cfg: DefaultConfig(), steps: []*phoneStep{memStep(80, 100, 60, 30, 5, 900), memStep(160, 127.5, 80, 37.5, 6.25, 1700)}}
	r.idle.proc.serverRSS = 60 << 20
	r.idle.metrics.values = map[string]float64{"go_memstats_heap_inuse_bytes": 20 << 20, "go_goroutines": 100,
		"go_gc_heap_live_bytes": 10 << 20, "go_memstats_stack_inuse_bytes": 1 << 20}
	s := reportText(r)
	if strings.Contains(s, "NaN") {
		t.Errorf("NaN in the report:\n%s", s)
	}
	wantInReport(t, s, "base", "no base marker")
	// 80 → 160 legs: RSS +27.5 MiB = 352 KiB per leg, heap +20 MiB = 256,
	// live heap +7.5 MiB = 96, stacks +1.25 MiB = 16.
	wantInReport(t, s, "| 352 | 256 | 96 + 16 |", "per-leg growth of the second step not 352/256/96+16 KiB")
	// Idle → 80 legs: RSS +40 MiB = 512 KiB, heap +40 MiB = 512, live heap
	// +20 MiB = 256, stacks +4 MiB = 51, 10 goroutines.
	wantInReport(t, s, "RSS 512 KiB, heap 512 KiB, live heap 256 KiB, stacks 51 KiB, 10.0 goroutines per leg", "idle growth line missing")
}

// With the server pinned, the capacity is stated per server core, and a
// smaller step that missed is named next to a larger one that passed.
func TestPhonePerCoreLine(t *testing.T) {
	r := &phoneResult{cfg: DefaultConfig(), cpus: cpuReport{server: []int{1}, load: []int{0}, serverProcs: 1, pinned: true}}
	if got := r.perCoreLine(120, 0); got != "" {
		t.Errorf("not pinned: %q, want nothing", got)
	}
	r.cfg.ServerCPUs = []int{1}
	got := r.perCoreLine(200, 160)
	for _, want := range []string{"CPU 1 (GOMAXPROCS 1)", "load generator on CPU 0", "200 legs per server core",
		"but 160 missed"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	r.cpus.server, r.cfg.ServerCPUs = []int{0, 1}, []int{0, 1}
	if got := r.perCoreLine(200, 240); !strings.Contains(got, "on 2 server cores") || strings.Contains(got, "missed") {
		t.Errorf("two cores: %q", got)
	}
}

// With --firm-memory the step's live heap, stacks and goroutines are the ones
// read after the forced collection, not the windows' (which count garbage the
// last collection had not yet seen).
func TestPhoneReportFirmMemory(t *testing.T) {
	mk := func(legs int, liveMiB float64, firm *memReading) *phoneStep {
		st := memStep(legs, 100, 50, liveMiB, 1, 1000)
		st.firm = firm
		return st
	}
	cfg := DefaultConfig()
	cfg.FirmMemory = true
	// Windows: 30 → 50 MiB live (128 KiB per leg); forced: 20 → 30 MiB (64 KiB).
	r := &phoneResult{cfg: cfg, steps: []*phoneStep{
		mk(80, 30, &memReading{liveMiB: 20, stackMiB: 2, goroutines: 400}),
		mk(240, 50, &memReading{liveMiB: 30, stackMiB: 4.5, goroutines: 1200})}}
	r.idle.proc.serverRSS = 60 << 20
	r.idle.metrics.values = map[string]float64{"go_gc_heap_live_bytes": 99 << 20}
	r.idle.firm = &memReading{liveMiB: 10, stackMiB: 1, goroutines: 0}
	s := reportText(r)
	// 80 → 240 legs: live +10 MiB = 64 KiB per leg, stacks +2.5 MiB = 16.
	wantInReport(t, s, "| 64 + 16 |", "per-leg live heap + stacks not the forced collection's 64 + 16 KiB")
	// Idle → 80 legs from the idle firm reading: live +10 MiB = 128 KiB, 5 goroutines.
	wantInReport(t, s, "live heap 128 KiB, stacks 13 KiB, 5.0 goroutines per leg", "idle growth not from the firm readings")
	wantInReport(t, s, "--firm-memory", "the report does not say its memory is firm")
}

// firmMemory asks the profiler for a heap profile with gc=1 (the forced
// collection), keeps it when asked, and then reads /metrics.
func TestFirmMemory(t *testing.T) {
	var order []string
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		order = append(order, "heap gc="+r.URL.Query().Get("gc"))
		io.WriteString(w, "profile bytes")
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		order = append(order, "metrics")
		io.WriteString(w, "go_gc_heap_live_bytes 2.097152e+07\ngo_memstats_stack_inuse_bytes 1.048576e+06\ngo_goroutines 42\n"+
			`dialroom_media_clock_late_seconds_bucket{le="0.001"} 0`+"\n")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.HeapProfiles = dir
	pe := &phoneEnv{cfg: cfg, hc: srv.Client(), log: slog.New(slog.DiscardHandler), tg: target{base: base, profiler: base.JoinPath("/debug/pprof/")}}
	got, err := pe.firmMemory(context.Background(), "240")
	if err != nil {
		t.Fatal(err)
	}
	if got.liveMiB != 20 || got.stackMiB != 1 || got.goroutines != 42 {
		t.Errorf("reading %+v, want 20 MiB live, 1 MiB stacks, 42 goroutines", *got)
	}
	if strings.Join(order, ", ") != "heap gc=1, heap gc=1, metrics" {
		t.Errorf("requests %v, want the forced collection before /metrics", order)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "heap-240.pb.gz")); err != nil || string(b) != "profile bytes" {
		t.Errorf("kept profile %q, %v", b, err)
	}
	pe.tg.profiler = nil
	if got, err := pe.firmMemory(context.Background(), "idle"); got != nil || err != nil {
		t.Errorf("without a profiler: %v, %v; want nil, nil", got, err)
	}
}

// reportText is the run's report as printed, text and markdown.
func reportText(r *phoneResult) string {
	var out strings.Builder
	r.print(&out)
	r.printMarkdown(&out)
	return out.String()
}

// memStep is a measured step of one 1-s window with these memory readings
// (MiB) and goroutines, for the report tests.
func memStep(legs int, rssMiB, heapMiB, liveMiB, stackMiB, goroutines float64) *phoneStep {
	st := &phoneStep{legs: legs, rooms: legs / phonesPerRoom}
	st.windows = []phoneWindow{{wall: time.Second, legs: legs, rss: int64(rssMiB * (1 << 20)),
		heap: heapMiB * (1 << 20), live: liveMiB * (1 << 20), stack: stackMiB * (1 << 20),
		goroutines: goroutines, serverCoresBusy: math.NaN()}}
	return st
}

// wantInReport fails the test, saying problem and showing the report, when
// report does not contain want.
func wantInReport(t *testing.T, report, want, problem string) {
	t.Helper()
	if !strings.Contains(report, want) {
		t.Errorf("%s:\n%s", problem, report)
	}
}
