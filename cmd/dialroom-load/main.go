// Command dialroom-load measures what a dialroom server spends per browser
// participant it forwards media for (SFU), and how that grows with room size.
//
// It simulates browsers with pion peers speaking the real signalling protocol
// (docs/protocol.md) over real WebSockets: per room one operator client sends
// host and admits every join_request, Size-1 guest clients send join. Each
// client answers the server's offers with an Opus track added (and VP8 with
// --video), trickles ICE candidates, sends 20 ms Opus-sized packets with the
// RFC 6464 audio level set (one or two members per room "talk"), and counts
// what it receives from every other member. Payloads are random bytes behind a
// codec byte: the SFU never decodes them.
//
// --rooms takes ascending steps (1,5,10): rooms are added between steps on the
// same server, so the growth from one step to the next is the cost of the
// added participants, free of start-up effects.
//
// It samples the server's CPU time and RSS from /proc (and the Go heap and
// goroutines from its /metrics) at the edges of back-to-back measurement
// windows, its own CPU too (it runs on the same machine), and prints medians
// per step, per-room loss, and optionally rows for docs/benchmarks.md.
//
// Usage:
//
//	dialroom-load --spawn [--rooms R[,R2,…]] [--size N] [--duration D] [--windows K] [--video]
//	dialroom-load --url http://127.0.0.1:8080 --password-file FILE [--server-pid PID] …
//
// --spawn builds bin/dialroom, starts it on a free loopback port with a fresh
// data directory, logs in with the first-start password and stops it at the
// end. It only ever connects to loopback addresses.
//
// Phone mode (issue 4, phonerun.go) measures phone legs instead:
//
//	dialroom-load --spawn --phones 80,160,320 [--duration D] [--windows K]
//	dialroom-load --spawn --sipp-rates 200,400,800 [--sipp-duration D]
//
// --phones fills rooms of 10 (8 phones calling over real SIP/RTP, admitted by
// the operator's client, and 2 browsers) in ramp steps and reports server CPU
// and memory per leg, the media clock's lateness, phone frame loss and the
// phone → browser latency; --sipp-rates measures call setup with SIPp against
// the server and against a SIPp UAS. Both spawn the server with a SIP config
// and dialplan of their own.
//
// --server-cpus LIST pins the spawned server (every thread, from its start)
// to CPUs such as 1 and sets its GOMAXPROCS to their number; --load-cpus
// LIST pins this tool likewise (cpus.go). With disjoint lists the phone
// ramp's capacity is per server core, without the load generator competing;
// the report says which CPUs each had. --cpuprofile FILE profiles this tool.
//
// Pointer mode (pointerrun.go) measures the shared pointer's relay:
//
//	dialroom-load --spawn --pointer-members 10 [--pointer-rate 25] [--duration 20s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// runMain parses the command line and runs; it returns the exit code.
func runMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "dialroom-load:", err)
		return 2
	}
	level := slog.LevelInfo
	if cfg.Verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(cfg.ServerCPUs) > 0 {
		if err := checkCPUsAllowed("--server-cpus", cfg.ServerCPUs); err != nil {
			fmt.Fprintln(stderr, "dialroom-load:", err)
			return 2
		}
	}
	if len(cfg.LoadCPUs) > 0 {
		if err := pinSelf(cfg.LoadCPUs); err != nil {
			fmt.Fprintln(stderr, "dialroom-load:", err)
			return 1
		}
		log.Info("load generator pinned", "cpus", formatCPUList(cfg.LoadCPUs), "gomaxprocs", len(cfg.LoadCPUs))
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintln(stderr, "dialroom-load:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "dialroom-load: cpu profile:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	runner := run
	if cfg.PointerMembers > 0 {
		runner = runPointer
	}
	if err := runner(ctx, cfg, stdout, stderr, log); err != nil {
		fmt.Fprintln(stderr, "dialroom-load:", err)
		return 1
	}
	return 0
}

// parseFlags turns the command line into a validated Config.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("dialroom-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.URL, "url", cfg.URL, "base URL of a running server; loopback only (http://127.0.0.1:PORT)")
	fs.BoolVar(&cfg.Spawn, "spawn", cfg.Spawn, "start bin/dialroom on a free loopback port with a fresh data dir, and stop it at the end")
	fs.StringVar(&cfg.ServerBin, "server-bin", cfg.ServerBin, "the dialroom binary --spawn starts")
	fs.BoolVar(&cfg.Build, "build", cfg.Build, "with --spawn: go build ./cmd/dialroom into --server-bin first (run from the module root)")
	fs.IntVar(&cfg.ServerPID, "server-pid", cfg.ServerPID, "with --url: the server process to sample for CPU and memory")
	fs.StringVar(&cfg.Login, "login", cfg.Login, "operator login (--url)")
	fs.StringVar(&cfg.Password, "password", cfg.Password, "operator password (--url; visible in ps, prefer --password-file)")
	fs.StringVar(&cfg.PasswordFile, "password-file", cfg.PasswordFile, "file holding the operator password (--url)")
	fs.Func("rooms", "conferences; a list such as 1,5,10 measures steps of growing load on one server (default 1)",
		func(v string) (err error) { cfg.Rooms, err = parseRooms(v); return err })
	fs.IntVar(&cfg.Size, "size", cfg.Size, "members per conference: one operator and size-1 guests")
	fs.IntVar(&cfg.Talkers, "talkers", cfg.Talkers, "members per room sending speech levels; -1: 1 up to 3 members, else 2")
	fs.BoolVar(&cfg.Video, "video", cfg.Video, "some members also send VP8-sized video at ~1 Mbit/s")
	fs.Float64Var(&cfg.VideoFraction, "video-fraction", cfg.VideoFraction, "with --video: share of each room's members sending video (at least one)")
	fs.DurationVar(&cfg.Ramp, "ramp", cfg.Ramp, "spread client starts over this long; 0: 50ms per client")
	fs.DurationVar(&cfg.SetupTimeout, "setup-timeout", cfg.SetupTimeout, "how long to wait for every client to receive every stream")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "steady load before measuring")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of each measurement window")
	fs.IntVar(&cfg.Windows, "windows", cfg.Windows, "measurement windows, back to back; the summary quotes medians")
	fs.Func("phones", "phone mode: ramp steps in phone legs, multiples of 8 (rooms of 8 phones + 2 browsers), e.g. 80,160,320",
		func(v string) (err error) { cfg.Phones, err = parseCounts(v, "leg count"); return err })
	fs.IntVar(&cfg.LegsPerSocket, "legs-per-socket", cfg.LegsPerSocket, "phone mode: legs sharing one local RTP socket")
	fs.IntVar(&cfg.CallRate, "call-rate", cfg.CallRate, "phone mode: INVITEs per second while rooms fill")
	fs.IntVar(&cfg.RTPPortMin, "rtp-port-min", cfg.RTPPortMin, "phone mode: first RTP port of the spawned server")
	fs.StringVar(&cfg.ServerLogLevel, "server-log", cfg.ServerLogLevel, "phone mode: the spawned server's log level")
	fs.StringVar(&cfg.PhoneWire, "phone-wire", cfg.PhoneWire, "phone mode: what the simulated phones speak, pcmu (G.711) or g722 (wideband; the server's trunk then allows G722)")
	fs.StringVar(&cfg.ICENetworks, "ice-networks", cfg.ICENetworks, "phone mode: the spawned server's webrtc.ice_networks, comma-separated (\"\": every interface's addresses)")
	fs.IntVar(&cfg.ICEPort, "ice-port", cfg.ICEPort, "phone mode: the spawned server's webrtc.udp_port: 0 gives each browser its own ICE ports, a port puts all on one socket")
	fs.BoolVar(&cfg.FirmMemory, "firm-memory", cfg.FirmMemory, "phone mode with --spawn: force a collection in the server (through its profiler) after each step and report the live heap and stacks then, not as of the last collection")
	fs.StringVar(&cfg.HeapProfiles, "heap-profiles", cfg.HeapProfiles, "with --firm-memory: keep each step's heap profile as DIR/heap-LEGS.pb.gz (compare two with go tool pprof -base)")
	fs.IntVar(&cfg.ServerNice, "server-nice", cfg.ServerNice, "phone mode: the spawned server's nice setting (-20 to 19; negative: the kernel runs it before the load generator on shared cores)")
	fs.StringVar(&cfg.PhoneCodec, "phone-codec", cfg.PhoneCodec, "phone mode: the spawned server's webrtc.phone_codec (opus or pcmu): how phone voice reaches browsers")
	fs.Func("sipp-rates", "call setup mode: SIPp call rates (calls/s) to try against the server and against a SIPp UAS, e.g. 100,200,400",
		func(v string) (err error) { cfg.SIPpRates, err = parseCounts(v, "call rate"); return err })
	fs.DurationVar(&cfg.SIPpDuration, "sipp-duration", cfg.SIPpDuration, "call setup mode: how long each rate runs")
	fs.StringVar(&cfg.SIPpBin, "sipp", cfg.SIPpBin, "call setup mode: the SIPp binary")
	fs.IntVar(&cfg.PointerMembers, "pointer-members", cfg.PointerMembers, "pointer mode: one room of this many WebSocket-only members, the operator moving the shared pointer for --duration")
	fs.IntVar(&cfg.PointerRate, "pointer-rate", cfg.PointerRate, "pointer mode: material_pointer moves a second")
	fs.Func("server-cpus", "with --spawn: pin the server (every thread) to these CPUs, e.g. 1 or 2-3, and set its GOMAXPROCS to their number",
		func(v string) (err error) { cfg.ServerCPUs, err = parseCPUList(v); return err })
	fs.Func("load-cpus", "pin this load generator to these CPUs, e.g. 0, and set its GOMAXPROCS to their number",
		func(v string) (err error) { cfg.LoadCPUs, err = parseCPUList(v); return err })
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", cfg.CPUProfile, "write this load generator's own CPU profile (go tool pprof) to FILE")
	fs.BoolVar(&cfg.Markdown, "markdown", cfg.Markdown, "also print a docs/benchmarks.md table row")
	fs.BoolVar(&cfg.Verbose, "v", cfg.Verbose, "log protocol traffic")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: dialroom-load (--spawn | --url http://127.0.0.1:PORT --password-file FILE) [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return cfg, cfg.Validate()
}
