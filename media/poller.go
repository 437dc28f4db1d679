package media

import (
	"time"
)

// DefaultTimeoutSweep is how often a Poller checks its endpoints for RTP
// timeouts. A timeout fires up to this much after it is due: nothing against
// the 30 s DefaultRTPTimeout, and one sweep of every endpoint four times a
// second costs less than a single packet's receive.
const DefaultTimeoutSweep = 250 * time.Millisecond

// PollerConfig configures a Poller.
type PollerConfig struct {
	// Clock drives the poller: each tick first reads what every endpoint
	// received since the last one (Clock.SubscribeFirst). Required.
	Clock *Clock
	// Sweep: see DefaultTimeoutSweep. Zero takes the default.
	Sweep time.Duration
}
