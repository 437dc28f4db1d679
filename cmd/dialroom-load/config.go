package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is one load run: where the server is, how to log in, what load to
// offer and how long to measure it. DefaultConfig holds every default; Validate
// reports every problem at once.
type Config struct {
	// URL is the base URL of a running server (http://127.0.0.1:PORT). It must
	// be a loopback address. Empty with Spawn.
	URL string
	// Spawn starts ServerBin on a free loopback port with a fresh data
	// directory, logs in with the first-start password, and stops it at the end.
	Spawn bool
	// ServerBin is the dialroom binary Spawn starts.
	ServerBin string
	// Build rebuilds ServerBin from ./cmd/dialroom before spawning it (the
	// working directory must be the module root).
	Build bool
	// ServerPID is the process sampled for CPU and memory with URL; 0 skips the
	// server figures. Spawn mode knows the process itself.
	ServerPID int

	Login        string
	Password     string
	PasswordFile string

	// Rooms lists the load steps: conferences open during each step's
	// windows, ascending (1, 5, 10 opens one room, measures, opens four more,
	// measures, …). One server process serves every step, so the difference
	// between steps is what an added participant costs. Each room has Size
	// members: one operator and Size-1 guests.
	Rooms []int
	Size  int
	// Talkers per room send audio level 30 (speech); the rest send 127
	// (silence). -1 picks 1 for rooms of up to 3 members, else 2.
	Talkers int
	// Video makes VideoFraction of each room's members (at least one) also
	// send VP8-sized packets at about 1 Mbit/s.
	Video         bool
	VideoFraction float64

	// Ramp spreads the start of all clients (of the last step) over this long; 0 means 50 ms per
	// client, which keeps DTLS handshakes from piling up on 2 cores.
	Ramp time.Duration
	// SetupTimeout bounds the wait for every client to connect and receive every
	// other member's streams.
	SetupTimeout time.Duration
	// Warmup runs after setup and before measuring, so join-time work (DTLS,
	// renegotiation, GC of setup garbage) stays out of the figures.
	Warmup time.Duration
	// Duration of each measurement window; Windows of them run back to back in
	// every step and the summary quotes medians.
	Duration time.Duration
	Windows  int

	// Phone mode (issue 4, phonerun.go) replaces the SFU load when Phones or
	// SIPpRates is set; it needs Spawn. Phones lists ramp steps in phone legs
	// (multiples of 8: rooms of 8 phones and 2 browsers), ascending; the ramp
	// stops after the first step where the server no longer keeps up.
	Phones []int
	// LegsPerSocket phone legs share one local RTP socket (a media gateway's
	// address); fewer sockets keep the load generator cheap.
	LegsPerSocket int
	// CallRate is how many INVITEs per second the phones place while rooms
	// fill (each admission renegotiates both browsers of the room).
	CallRate int
	// RTPPortMin is the first of the server's RTP ports (2 per leg). The
	// default, 61000, is above Linux's ephemeral range (32768–60999), so the
	// load generator's own sockets (and other programs') never hold ports the
	// server wants: every port it tries then binds at once, and call setup
	// measures the server, not port collisions.
	RTPPortMin int
	// ServerLogLevel is the spawned server's log level in phone mode.
	ServerLogLevel string
	// PhoneCodec is the spawned server's webrtc.phone_codec in phone mode:
	// how phone voice reaches the browsers, "opus" (encoded per talking
	// frame) or "pcmu" (G.711, no encoding).
	PhoneCodec string
	// PhoneWire is the codec the simulated phones speak in phone mode:
	// "pcmu" (G.711, what carriers send) or "g722" (wideband: the spawned
	// server's trunk then lists G722, and every room mixes at 16 kHz).
	PhoneWire string
	// ICEPort is the spawned server's webrtc.udp_port in phone mode: 0
	// gives every browser's ICE its own ports (the default config), a port
	// puts every browser on one UDP socket (pion's UDP mux).
	ICEPort int
	// ServerNice is the spawned server's nice setting in phone mode (its
	// threads' scheduling priority, -20 to 19; 0 leaves it alone). On cores
	// shared with the load generator a negative value makes the kernel run
	// the server first, nearer to the server alone on its machine.
	ServerNice int
	// FirmMemory makes the spawned server's live heap and stacks firm: after
	// each step's windows (and at idle) the tool forces a collection through
	// the server's profiler (DIALROOM_PPROF on a free loopback port) and
	// reads /metrics then. Without it the live heap is the runtime's figure
	// as of its last collection, which may still count a step's set-up
	// garbage (±10 KiB per leg between passes).
	FirmMemory bool
	// HeapProfiles, with FirmMemory, keeps the heap profile each forced
	// collection returns as HeapProfiles/heap-LEGS.pb.gz ("idle" before the
	// first step): `go tool pprof -base` of two shows what the added legs
	// hold. Run the server with GODEBUG=memprofilerate=1 for every byte.
	HeapProfiles string
	// ICENetworks is the spawned server's webrtc.ice_networks in phone
	// mode, comma-separated. The default, "127.0.0.1", offers the simulated
	// browsers only the address they reach, as a server would offer its one
	// public address; "" offers every interface's (the server's default
	// config: 3 addresses on the machine of docs/benchmarks.md, figures
	// before 2026-11-26 16:00 UTC).
	ICENetworks string
	// SIPpRates measures call setup instead: for each rate (calls per
	// second) SIPp places INVITE → 200 → ACK → BYE calls for SIPpDuration
	// against the spawned server, then against a SIPp UAS, for comparison.
	SIPpRates    []int
	SIPpDuration time.Duration
	SIPpBin      string

	// ServerCPUs pins the spawned server (all its threads) to these CPUs and
	// sets its GOMAXPROCS to their number; LoadCPUs pins this tool likewise
	// (cpus.go). Empty: no pinning.
	ServerCPUs []int
	LoadCPUs   []int
	// CPUProfile, if set, is where this tool writes its own CPU profile
	// (runtime/pprof) of the whole run.
	CPUProfile string

	// Markdown also prints the summary as one row of the docs/benchmarks.md table.
	Markdown bool
	// Verbose logs protocol traffic at debug level.
	Verbose bool

	// PointerMembers, when set, selects pointer mode (pointerrun.go): one
	// room of that many members, the operator presenting a document and
	// moving the pointer PointerRate times a second for Duration.
	PointerMembers int
	PointerRate    int
}

// Limits that keep a run bounded on a shared 2-core machine.
const (
	maxRooms        = 100
	maxSteps        = 10
	maxSize         = 50
	maxParticipants = 400
	maxDuration     = 5 * time.Minute
	maxWindows      = 10
	maxTimeout      = 10 * time.Minute
	maxPhoneLegs    = 2000
	maxCallRate     = 200
)

// DefaultConfig returns the defaults the flags show.
func DefaultConfig() Config {
	return Config{
		ServerBin:     "bin/dialroom",
		Build:         true,
		Login:         "admin",
		Rooms:         []int{1},
		Size:          5,
		Talkers:       -1,
		VideoFraction: 0.2,
		SetupTimeout:  60 * time.Second,
		Warmup:        3 * time.Second,
		Duration:      10 * time.Second,
		Windows:       3,

		LegsPerSocket:  50,
		CallRate:       40,
		RTPPortMin:     61000,
		ServerLogLevel: "warn",
		PhoneCodec:     "opus",
		PhoneWire:      "pcmu",
		ICENetworks:    "127.0.0.1",
		SIPpDuration:   10 * time.Second,
		SIPpBin:        "sipp",
		PointerRate:    25,
	}
}

// phoneMode reports whether the run is a phone run (phonerun.go).
func (c *Config) phoneMode() bool { return len(c.Phones) > 0 || len(c.SIPpRates) > 0 }

// Validate reports every problem with c, joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case c.Spawn && c.URL != "":
		bad("--spawn and --url exclude each other: spawn starts its own server")
	case !c.Spawn && c.URL == "":
		bad("give --url http://127.0.0.1:PORT of a running server, or --spawn")
	}
	if c.URL != "" {
		if _, err := loopbackBaseURL(c.URL); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Spawn && c.ServerPID != 0 {
		bad("--server-pid is for --url; spawn mode measures the server it started")
	}
	if c.ServerPID < 0 {
		bad("--server-pid must be a process id")
	}
	if c.Spawn && c.ServerBin == "" {
		bad("--server-bin must name the dialroom binary to spawn")
	}
	if !c.Spawn {
		if c.Login == "" {
			bad("--login must not be empty")
		}
		if (c.Password == "") == (c.PasswordFile == "") {
			bad("give exactly one of --password and --password-file")
		}
	}
	if len(c.Rooms) == 0 || len(c.Rooms) > maxSteps {
		bad("--rooms must list 1..%d steps", maxSteps)
	}
	for i, n := range c.Rooms {
		if n < 1 || n > maxRooms {
			bad("--rooms: %d is not in 1..%d", n, maxRooms)
		}
		if i > 0 && n <= c.Rooms[i-1] {
			bad("--rooms: steps must ascend (%d after %d)", n, c.Rooms[i-1])
		}
	}
	if c.Size < 2 || c.Size > maxSize {
		bad("--size must be 2..%d (an operator and at least one guest)", maxSize)
	}
	if p := c.maxRooms() * c.Size; p > maxParticipants {
		bad("--rooms × --size is %d participants; at most %d", p, maxParticipants)
	}
	if c.Talkers < -1 || c.Talkers > c.Size {
		bad("--talkers must be -1 (auto) or 0..--size")
	}
	if c.Video && (c.VideoFraction <= 0 || c.VideoFraction > 1) {
		bad("--video-fraction must be in (0, 1]")
	}
	if c.Ramp < 0 || c.Ramp > maxTimeout {
		bad("--ramp must be 0..%v", maxTimeout)
	}
	if c.SetupTimeout < time.Second || c.SetupTimeout > maxTimeout {
		bad("--setup-timeout must be 1s..%v", maxTimeout)
	}
	if c.Warmup < 0 || c.Warmup > time.Minute {
		bad("--warmup must be 0..1m")
	}
	if c.Duration < time.Second || c.Duration > maxDuration {
		bad("--duration must be 1s..%v", maxDuration)
	}
	if c.Windows < 1 || c.Windows > maxWindows {
		bad("--windows must be 1..%d", maxWindows)
	}
	if d := time.Duration(len(c.Rooms)) * (c.Warmup + time.Duration(c.Windows)*c.Duration); d > maxTimeout {
		bad("steps × (warm-up + windows × duration) is %v; at most %v", d, maxTimeout)
	}
	if len(c.ServerCPUs) > 0 && !c.Spawn {
		bad("--server-cpus needs --spawn: only a server this tool starts is pinned")
	}
	if c.phoneMode() {
		errs = append(errs, c.validatePhones()...)
	}
	if c.PointerMembers != 0 && (c.PointerMembers < 2 || c.PointerMembers > maxSize || c.phoneMode()) {
		bad("--pointer-members must be 2..%d, without phone mode", maxSize)
	}
	if c.PointerRate < 1 || c.PointerRate > 100 {
		bad("--pointer-rate must be 1..100 moves a second")
	}
	return errors.Join(errs...)
}

// validatePhones checks the phone-mode fields.
func (c *Config) validatePhones() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !c.Spawn {
		bad("phone mode needs --spawn: the server must run with the tool's SIP config and dialplan")
	}
	if len(c.Phones) > 0 && len(c.SIPpRates) > 0 {
		bad("--phones and --sipp-rates are separate runs")
	}
	if len(c.Phones) > maxSteps {
		bad("--phones must list at most %d steps", maxSteps)
	}
	for i, n := range c.Phones {
		if n < phonesPerRoom || n > maxPhoneLegs || n%phonesPerRoom != 0 {
			bad("--phones: %d is not a multiple of %d in %d..%d", n, phonesPerRoom, phonesPerRoom, maxPhoneLegs)
		}
		if i > 0 && n <= c.Phones[i-1] {
			bad("--phones: steps must ascend (%d after %d)", n, c.Phones[i-1])
		}
	}
	if c.LegsPerSocket < 1 || c.LegsPerSocket > 1000 {
		bad("--legs-per-socket must be 1..1000")
	}
	if c.CallRate < 1 || c.CallRate > maxCallRate {
		bad("--call-rate must be 1..%d", maxCallRate)
	}
	if c.RTPPortMin < 1024 || c.RTPPortMin+2*maxPhoneLegs+100 > 65535 {
		bad("--rtp-port-min must leave %d ports below 65536", 2*maxPhoneLegs+100)
	}
	switch c.ServerLogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("--server-log must be debug, info, warn or error")
	}
	if c.ServerNice < -20 || c.ServerNice > 19 {
		bad("--server-nice must be -20..19")
	}
	if c.HeapProfiles != "" && !c.FirmMemory {
		bad("--heap-profiles needs --firm-memory")
	}
	if c.FirmMemory && !c.Spawn {
		bad("--firm-memory needs --spawn (it turns on the spawned server's profiler)")
	}
	if c.PhoneCodec != "opus" && c.PhoneCodec != "pcmu" {
		bad("--phone-codec must be opus or pcmu")
	}
	if c.PhoneWire != "pcmu" && c.PhoneWire != "g722" {
		bad("--phone-wire must be pcmu or g722")
	}
	if c.ICEPort < 0 || c.ICEPort > 65535 {
		bad("--ice-port must be a UDP port (0: one per browser)")
	}
	for _, r := range c.SIPpRates {
		if r < 1 || r > 20000 {
			bad("--sipp-rates: %d is not in 1..20000", r)
		}
	}
	if c.SIPpDuration < time.Second || c.SIPpDuration > time.Minute {
		bad("--sipp-duration must be 1s..1m")
	}
	if d := time.Duration(len(c.Phones)) * (c.Warmup + time.Duration(c.Windows)*c.Duration); d > maxTimeout {
		bad("phone steps × (warm-up + windows × duration) is %v; at most %v", d, maxTimeout)
	}
	return errs
}

// maxRooms returns the rooms of the last step.
func (c *Config) maxRooms() int {
	if len(c.Rooms) == 0 {
		return 0
	}
	return c.Rooms[len(c.Rooms)-1]
}

// parseRooms reads a --rooms value: room counts separated by commas.
func parseRooms(s string) ([]int, error) { return parseCounts(s, "room count") }

// parseCounts reads counts separated by commas; what names them in errors.
func parseCounts(s, what string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a %s", f, what)
		}
		out = append(out, n)
	}
	return out, nil
}

// talkers returns how many members of each room talk.
func (c *Config) talkers() int {
	if c.Talkers >= 0 {
		return c.Talkers
	}
	if c.Size <= 3 {
		return 1
	}
	return 2
}

// videoSenders returns how many members of each room send video.
func (c *Config) videoSenders() int {
	if !c.Video {
		return 0
	}
	n := int(c.VideoFraction*float64(c.Size) + 0.5)
	return min(max(n, 1), c.Size)
}

// rampStep returns the pause between two client starts.
func (c *Config) rampStep() time.Duration {
	if c.Ramp == 0 {
		return 50 * time.Millisecond
	}
	return c.Ramp / time.Duration(c.maxRooms()*c.Size)
}
