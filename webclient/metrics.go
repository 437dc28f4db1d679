package webclient

import (
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/dialroom/dialroom/bridge"
	"github.com/dialroom/dialroom/media"
)

// Metrics are dialroom's Prometheus metrics. It also implements bridge.Metrics,
// so one value serves the engine and the web side. Create it once per process
// (or per test server) with its own registry: there are no global collectors.
type Metrics struct {
	reg          *prometheus.Registry
	members      prometheus.Counter
	lobbyWait    *prometheus.HistogramVec
	joinFailures *prometheus.CounterVec
	logins       *prometheus.CounterVec
	peers        prometheus.Gauge
	sockets      prometheus.Gauge
	phoneVoice   prometheus.Histogram
	rtt          prometheus.Histogram
}

// NewMetrics registers dialroom's collectors, plus the Go runtime and process
// collectors, on reg.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		reg: reg,
		members: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "dialroom_members_joined_total", Help: "Members who entered a conference."}),
		lobbyWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dialroom_lobby_wait_seconds", Help: "How long join requests waited, by outcome.",
			Buckets: []float64{1, 5, 10, 30, 60, 120, 300, 600}}, []string{"outcome"}),
		joinFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialroom_join_failures_total", Help: "Join requests refused before the lobby, by reason."}, []string{"reason"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dialroom_logins_total", Help: "Operator login attempts, by result."}, []string{"result"}),
		peers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dialroom_webrtc_peers", Help: "Open WebRTC peer connections."}),
		sockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "dialroom_websockets", Help: "Open signalling WebSockets."}),
		// Fine buckets around issue 4's goal (p99 < 25 ms): the tick phase
		// alone is 0–20 ms, a jitter buffer frame 20 ms more.
		phoneVoice: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dialroom_phone_to_browser_seconds",
			Help:    "Delay the server adds to a caller's voice: from its RTP packet's arrival to the frame's write towards the browsers.",
			Buckets: []float64{.005, .01, .015, .02, .025, .03, .04, .05, .075, .1, .15, .2, .3, .5}}),
		rtt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "dialroom_webrtc_rtt_seconds",
			Help:    "Round-trip times to browsers, from their RTCP reception reports about our streams (RFC 3550 §6.4.1).",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .15, .2, .3, .5, 1, 2}}),
	}
	reg.MustRegister(m.members, m.lobbyWait, m.joinFailures, m.logins, m.peers, m.sockets, m.phoneVoice, m.rtt,
		// The live heap (as of the last collection: what the program holds,
		// without the collector's headroom) besides the memstats: memory per
		// call is judged by it (docs/benchmarks.md).
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// browserRTT records a round-trip time to a browser (webclient's RTCP
// reports). It is called on pion's SRTCP readers.
func (m *Metrics) browserRTT(d time.Duration) { m.rtt.Observe(d.Seconds()) }

// Registry returns the registry the metrics are on, for adding more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Gatherer returns what /metrics serves.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// WatchEngine exports the engine's live sizes as gauges.
func (m *Metrics) WatchEngine(e *bridge.Engine) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dialroom_rooms", Help: "Open conferences."},
			func() float64 { return float64(e.Stats().Rooms) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dialroom_members", Help: "Members in conferences."},
			func() float64 { return float64(e.Stats().Members) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dialroom_lobby_waiting", Help: "Guests waiting in lobbies."},
			func() float64 { return float64(e.Stats().Waiting) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dialroom_media_clock_late_p99_seconds",
			Help: "99th percentile of how late the shared 20 ms media clock's ticks start (phone mixing)."},
			func() float64 { return e.ClockStats().LateP99.Seconds() }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dialroom_media_clock_skipped_ticks_total",
			Help: "Media clock ticks skipped because the machine fell behind."},
			func() float64 { return float64(e.ClockStats().Skipped) }),
		newClockCollector(e.Clock()),
	)
}

// clockCollector exports the media clock's lateness and busy histograms, so a
// scraper can take percentiles over any window (the p99 gauge above covers
// the whole life of the process).
type clockCollector struct {
	clock      *media.Clock
	late, busy *prometheus.Desc
}

func newClockCollector(c *media.Clock) clockCollector {
	return clockCollector{clock: c,
		late: prometheus.NewDesc("dialroom_media_clock_late_seconds",
			"How late the shared 20 ms media clock's ticks started (phone mixing).", nil, nil),
		busy: prometheus.NewDesc("dialroom_media_clock_busy_seconds",
			"How long each media clock tick's work took, all rooms together.", nil, nil)}
}

// Describe implements prometheus.Collector.
func (c clockCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.late
	ch <- c.busy
}

// Collect implements prometheus.Collector.
func (c clockCollector) Collect(ch chan<- prometheus.Metric) {
	for _, x := range []struct {
		desc *prometheus.Desc
		h    media.Histogram
	}{{c.late, c.clock.LateHistogram()}, {c.busy, c.clock.BusyHistogram()}} {
		buckets := make(map[float64]uint64, len(x.h.Upper))
		var cum uint64
		for i, up := range x.h.Upper {
			cum += x.h.Counts[i]
			buckets[up.Seconds()] = cum
		}
		ch <- prometheus.MustNewConstHistogram(x.desc, x.h.Count, x.h.Sum.Seconds(), buckets)
	}
}

// MemberJoined implements bridge.Metrics.
func (m *Metrics) MemberJoined() { m.members.Inc() }

// MemberLeft implements bridge.Metrics.
func (m *Metrics) MemberLeft() {}

// LobbyEntered implements bridge.Metrics.
func (m *Metrics) LobbyEntered() {}

// LobbyLeft implements bridge.Metrics.
func (m *Metrics) LobbyLeft(outcome string, waited time.Duration) {
	m.lobbyWait.WithLabelValues(outcome).Observe(waited.Seconds())
}

// PhoneVoiceSent implements bridge.Metrics.
func (m *Metrics) PhoneVoiceSent(added time.Duration) { m.phoneVoice.Observe(added.Seconds()) }

func (m *Metrics) joinFailed(reason string) { m.joinFailures.WithLabelValues(reason).Inc() }
func (m *Metrics) login(result string)      { m.logins.WithLabelValues(result).Inc() }
