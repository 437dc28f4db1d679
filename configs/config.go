package configs

import (
	"log/slog"
	"path/filepath"
	"time"
)

// Config is the server configuration: the `dialroom.yaml` an admin edits. The
// YAML keys are the field names in snake_case (DataDir is data_dir). Get one
// from Default or Load; a Config built or changed in Go should pass Validate
// before use. The server reads a Config and never changes it, so a reload swaps
// the whole value.
type Config struct {
	HTTP HTTP
	// DataDir holds the database, uploaded materials and certificates.
	DataDir string
	// Dialplan is the path of the dialplan YAML; "" means the embedded default
	// (DefaultDialplanYAML).
	Dialplan string
	// Nice is the scheduling priority of the server's threads, as nice(1)
	// numbers it: -20 (first) to 19 (last), 0 unchanged. Calls are mixed
	// every 20 ms; on a machine that also runs other work (a database, a
	// Kamailio, backups) a negative value keeps the mixing on time when the
	// CPUs are busy (docs/benchmarks.md: at 400 legs on two cores shared
	// with the load generator, no tick skipped instead of 26–30 of 500),
	// as Asterisk's -p and FreeSWITCH's -hp do for theirs. Below 0 needs root or CAP_SYS_NICE;
	// without either the server runs at its normal priority and logs why.
	// Applied at start.
	Nice   int
	WebRTC WebRTC
	SIP    SIP
	Lobby  Lobby
	Auth   Auth
	Log    Log
	// Materials limits operators' uploaded documents (configs/materials.go).
	Materials Materials
}

// HTTP is the web server for the browser UI, the JSON API and the WebSocket.
type HTTP struct {
	// Listen is the address to serve on, host:port. An empty host listens on
	// every interface; port 0 picks a free port (tests).
	Listen string
	// PublicURL is the base URL for join links sent to guests, such as
	// "https://meet.example.com". "" derives it from each request's Host.
	PublicURL string
	// AllowedOrigins are extra origins (scheme://host[:port]) allowed to open
	// the WebSocket besides the server's own; for a UI served from elsewhere.
	AllowedOrigins []string
	// TrustedProxies are the addresses or networks (CIDR) of reverse proxies in
	// front of the server; only from them is X-Forwarded-For believed, so the
	// join throttle and the lobby see the guest's real address. Empty: none.
	TrustedProxies []string
	TLS            TLS
}

// TLS says where HTTPS certificates come from: files (CertFile and KeyFile), a
// self-signed certificate (SelfSigned), or Let's Encrypt (ACMEHosts). At most
// one source may be set; none means plain HTTP.
type TLS struct {
	CertFile string // PEM certificate chain
	KeyFile  string // PEM private key
	// SelfSigned generates a certificate at start-up for a trial on a LAN:
	// browsers warn, but allow the microphone once the warning is accepted,
	// which plain HTTP on a non-local address never does.
	SelfSigned bool
	// ACMEHosts are public host names to get certificates for automatically.
	ACMEHosts []string
	// ACMEEmail is given to the certificate authority for expiry notices; optional.
	ACMEEmail string
	// ACMECacheDir keeps the ACME account and certificates; "" means
	// DATA_DIR/acme (see Config.ACMECacheDir).
	ACMECacheDir string
	// RedirectListen is a plain-HTTP address that redirects to HTTPS; "" is off.
	// Load sets it to ":80" when acme_hosts is set and redirect_listen is not in
	// the file, because the ACME http-01 challenge arrives on port 80. Write
	// redirect_listen: "" to keep it off (certificates then rely on the
	// tls-alpn-01 challenge on the HTTPS port).
	RedirectListen string
}

// Enabled reports whether the server speaks HTTPS.
func (t TLS) Enabled() bool {
	return t.CertFile != "" || t.KeyFile != "" || t.SelfSigned || len(t.ACMEHosts) > 0
}

// WebRTC is the browser media side: which addresses and ports the server offers
// as ICE candidates, and which STUN/TURN servers browsers are told about.
type WebRTC struct {
	// PublicIPs are addresses announced as host candidates in place of the
	// machine's own, for a server behind 1:1 NAT (a cloud VM with an elastic IP).
	PublicIPs []string
	// ICENetworks are the networks (CIDR) or addresses of this machine that
	// browsers are offered as host candidates (ice_networks). Empty: every
	// address of every interface that is up. A server with docker bridges or a
	// management network keeps those addresses to itself this way, and each
	// browser costs a socket, a receive goroutine and a buffer per candidate
	// fewer (docs/benchmarks.md).
	ICENetworks []string
	// UDPPortMin and UDPPortMax limit the ephemeral UDP ports used for media, for
	// a firewall that opens a range; both 0 means any port.
	UDPPortMin uint16
	UDPPortMax uint16
	// UDPPort, when not 0, carries every peer's media on this one UDP port
	// (ICE UDP mux): one firewall rule, no range. It excludes the range.
	UDPPort uint16
	// Loopback offers 127.0.0.1 candidates too (include_loopback).
	Loopback bool
	// ICEServers are handed to browsers as their RTCPeerConnection iceServers.
	ICEServers []ICEServer
	// PhoneCodec is how phone callers' voices reach browsers: PhoneCodecOpus
	// (the default) or PhoneCodecPCMU (phone_codec).
	PhoneCodec string
}

// The codecs phone callers' voices can reach browsers in (webrtc.phone_codec).
// Opus is the default: it takes a third of G.711's bandwidth and its in-band
// FEC rides out a lossy Wi-Fi or mobile path. G.711 μ-law costs the server no
// encoding at all (an Opus encode is ~45 µs per talking phone frame, a quarter
// of the server's CPU in rooms of phones, docs/benchmarks.md); phone audio is
// narrowband either way, so browsers hear the same thing.
const (
	PhoneCodecOpus = "opus"
	PhoneCodecPCMU = "pcmu"
)

// ICEServer is one STUN or TURN server, as in the browser's RTCIceServer.
type ICEServer struct {
	URLs       []string // stun:, stuns:, turn: or turns: URLs; a single text is a list of one
	Username   string   // TURN only
	Credential string   // TURN only
}

// SIP is the telephone side: where SIP listens (trunks from the dialplan and
// phones call in there) and where call audio (RTP) goes.
type SIP struct {
	// UDP and TCP are SIP listen addresses (host:port). Both empty: no SIP.
	UDP []string
	TCP []string
	// TLS are SIP-over-TLS listen addresses (conventionally port 5061);
	// they use the HTTPS certificate (http.tls), which must be configured.
	TLS []string
	// MediaIP is the address put in SDP: where phones and carriers send RTP.
	MediaIP string
	// RTPBind is the local address RTP sockets bind; "" means every address.
	RTPBind string
	// RTPPortMin and RTPPortMax bound the RTP ports, one even port per call.
	RTPPortMin uint16
	RTPPortMax uint16
	// Realm is the digest realm operators' softphones authenticate in. The
	// stored softphone credentials are bound to it: changing it means every
	// operator sets their softphone password again.
	Realm string
	// DigestAlgorithms are offered to softphones in this order ("MD5",
	// "SHA-256"). MD5 alone by default: some softphones refuse a challenge
	// that also names SHA-256 (see sip.DefaultDigestAlgorithms).
	DigestAlgorithms []string
	// ConnectionsPerAddress caps the TCP and TLS connections one address
	// may hold open at once; more are closed on arrival and logged. Raise
	// it for more desk phones than this behind one NAT on TCP or TLS.
	ConnectionsPerAddress int
}

// Lobby is where guests wait for the operator's decision.
type Lobby struct {
	// Timeout is how long a join request waits before it is turned away.
	Timeout time.Duration
}

// Auth holds session and anti-guessing limits.
type Auth struct {
	// SessionLifetime is how long an operator stays logged in.
	SessionLifetime time.Duration
	// JoinFailures join attempts with a number that is not live, per client
	// address within JoinWindow, lock that address out until the window passes.
	JoinFailures int
	JoinWindow   time.Duration
	// LoginFailures failed logins per address within LoginWindow lock that
	// address out of logging in until the window passes.
	LoginFailures int
	LoginWindow   time.Duration
}

// Log says how the server logs (log/slog).
type Log struct {
	Level  string // debug, info, warn or error
	Format string // text or json
}

// SlogLevel returns the slog level for Level; an unknown level is info
// (Validate refuses it).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// ACMECacheDir returns the directory for ACME state: HTTP.TLS.ACMECacheDir, or
// "acme" inside DataDir when that is empty.
func (c *Config) ACMECacheDir() string {
	if c.HTTP.TLS.ACMECacheDir != "" {
		return c.HTTP.TLS.ACMECacheDir
	}
	return filepath.Join(c.DataDir, "acme")
}

// The defaults, in one place. configs/dialroom.yaml repeats them for admins,
// and a test keeps the two equal.
const (
	// DefaultListen is loopback on an unprivileged port: a first `dialroom
	// serve` must not be reachable from the network before an admin has set up
	// an account and decided about TLS.
	DefaultListen = "127.0.0.1:8080"
	// DefaultDataDir is relative to the working directory, so a trial keeps
	// everything next to where it was started.
	DefaultDataDir = "./data"
	// DefaultRedirectListen is used with ACME: the http-01 challenge arrives
	// on port 80.
	DefaultRedirectListen = ":80"
	// DefaultLobbyTimeout is long enough for an operator busy with another
	// guest to notice a request, and short enough that an abandoned phone call
	// does not hold a trunk channel for long.
	DefaultLobbyTimeout = 10 * time.Minute
	// DefaultSessionLifetime is a working day: an operator logs in once a day,
	// and a stolen cookie is useless by the next.
	DefaultSessionLifetime = 12 * time.Hour
	// DefaultJoinFailures and DefaultJoinWindow let a guest mistype a number a
	// few times, while one address can try only 720 numbers a day: against one
	// live number among the 10,000 of an operator's stem (per_operator mode,
	// 4 random digits) that is about a week for an even chance, and the number
	// has expired long before.
	DefaultJoinFailures = 5
	DefaultJoinWindow   = 10 * time.Minute
	// DefaultLoginFailures and DefaultLoginWindow: the same budget for
	// passwords, as docs/api.md promises (429 after 5 failures per address per
	// 10 minutes).
	DefaultLoginFailures = 5
	DefaultLoginWindow   = 10 * time.Minute
	// DefaultLogLevel and DefaultLogFormat: info shows every call and join
	// without per-packet noise; text is readable in a terminal and journald.
	// DefaultSIPListen is the SIP port every carrier and phone expects (RFC
	// 3261 §19.1.2), on loopback until the admin opens it.
	DefaultSIPListen = "127.0.0.1:5060"
	// DefaultSIPRealm is the softphones' digest realm; any fixed name works,
	// since the registrar is the only party that checks it.
	DefaultSIPRealm = "dialroom"
	// DefaultSIPConnectionsPerAddress: see SIP.ConnectionsPerAddress.
	DefaultSIPConnectionsPerAddress = 256

	DefaultLogLevel  = "info"
	DefaultLogFormat = "text"
)

// Default returns the configuration used when there is no config file. Each call
// returns a new Config that the caller may change.
func Default() *Config {
	return &Config{
		HTTP: HTTP{
			Listen: DefaultListen,
		},
		DataDir: DefaultDataDir,
		WebRTC: WebRTC{
			// Loopback is on because a browser on the server's own machine
			// (a first trial, the end-to-end tests) reaches it only through
			// 127.0.0.1; pion leaves loopback candidates out by default. For
			// remote browsers it costs one candidate pair that never succeeds.
			Loopback: true,
			// No ICE servers: browsers are not sent to a third-party STUN
			// server (which would learn every guest's address) unless the
			// admin chooses one. The server's own host candidates, with
			// public_ips behind 1:1 NAT, reach browsers without it.
			PhoneCodec: PhoneCodecOpus,
		},
		SIP: SIP{
			// Loopback, like the web server: a first start is not reachable
			// from the network; a trunk needs the admin to choose an address.
			UDP:     []string{DefaultSIPListen},
			TCP:     []string{DefaultSIPListen},
			MediaIP: "127.0.0.1",
			// 10,000 ports: 5,000 simultaneous calls, far beyond one node.
			RTPPortMin:       20000,
			RTPPortMax:       29999,
			Realm:            DefaultSIPRealm,
			DigestAlgorithms: []string{"MD5"},
			// Room for an office's desk phones behind one NAT, each on its
			// own connection; a scanner's flood stops there.
			ConnectionsPerAddress: DefaultSIPConnectionsPerAddress,
		},
		Lobby: Lobby{Timeout: DefaultLobbyTimeout},
		Auth: Auth{
			SessionLifetime: DefaultSessionLifetime,
			JoinFailures:    DefaultJoinFailures,
			JoinWindow:      DefaultJoinWindow,
			LoginFailures:   DefaultLoginFailures,
			LoginWindow:     DefaultLoginWindow,
		},
		Log:       Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		Materials: defaultMaterials(),
	}
}
