package main

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
	"github.com/dialroom/dialroom/sip"
	"github.com/dialroom/dialroom/webclient"
)

// startSIP starts the SIP side when the config has SIP listeners: calls from
// the dialplan's trunks reach the same rooms as browsers.
func (m *Main) startSIP(cfg *configs.Config) error {
	c := cfg.SIP
	if len(c.UDP) == 0 && len(c.TCP) == 0 {
		m.Logger.Info("SIP disabled: no sip.udp or sip.tcp listeners configured")
		return nil
	}
	mediaIP, err := netip.ParseAddr(c.MediaIP)
	if err != nil {
		return fmt.Errorf("sip.media_ip %q: %w", c.MediaIP, err)
	}
	ports, err := media.NewPortAllocator(int(c.RTPPortMin), int(c.RTPPortMax))
	if err != nil {
		return fmt.Errorf("sip RTP ports %d-%d: %w", c.RTPPortMin, c.RTPPortMax, err)
	}
	var bind netip.Addr
	if c.RTPBind != "" {
		if bind, err = netip.ParseAddr(c.RTPBind); err != nil {
			return fmt.Errorf("sip.rtp_bind %q: %w", c.RTPBind, err)
		}
	}
	m.SIP, err = sip.New(sip.Config{
		UDP: c.UDP, TCP: c.TCP, MediaIP: mediaIP, RTPBind: bind, Ports: ports,
		Plan:   func() *dialplan.Plan { return m.Plan() },
		Engine: m.Engine, Clock: m.Engine.Clock(),
		LiveNumber: func(ctx context.Context, digits string, now time.Time) (*dialroom.Number, error) {
			return m.DB.LiveNumber(ctx, digits, now)
		},
		OperatorName: func(ctx context.Context, login string) (string, error) {
			op, err := m.DB.OperatorByLogin(ctx, login)
			if err != nil {
				return "", err
			}
			return op.Name(), nil
		},
		Record: m.queueRecord,
		Logger: m.Logger.With("side", "sip"),
	})
	if err != nil {
		return err
	}
	m.metrics.Registry().MustRegister(newTrunkCollector(m.SIP))
	return nil
}

// trunkStatus reports the trunks' registration state to the console. m.SIP is
// set in Run before the HTTP server serves, and never changes afterwards.
func (m *Main) trunkStatus() []webclient.TrunkStatus {
	if m.SIP == nil {
		return nil
	}
	var out []webclient.TrunkStatus
	for _, t := range m.SIP.Trunks() {
		out = append(out, webclient.TrunkStatus{Name: t.Name, State: t.State, LastStatus: t.LastStatus,
			LastReason: t.LastReason, RegisteredUntil: t.RegisteredUntil})
	}
	return out
}

// trunkCollector exports each trunk's registration state on /metrics, read
// from the SIP server at scrape time.
type trunkCollector struct {
	srv                  *sip.Server
	up, status, failures *prometheus.Desc
}

func newTrunkCollector(srv *sip.Server) trunkCollector {
	return trunkCollector{srv: srv,
		up: prometheus.NewDesc("dialroom_trunk_registered",
			"1 while the trunk is registered with its carrier, else 0; state says why.", []string{"trunk", "state"}, nil),
		status: prometheus.NewDesc("dialroom_trunk_last_status",
			"The SIP status of the trunk's last registration answer (0: none yet).", []string{"trunk"}, nil),
		failures: prometheus.NewDesc("dialroom_trunk_failures",
			"Registration failures of the trunk since it last registered.", []string{"trunk"}, nil),
	}
}

func (c trunkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.status
	ch <- c.failures
}

func (c trunkCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.srv.Trunks() {
		up := 0.0
		if t.State == sip.TrunkRegistered {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, t.Name, t.State)
		ch <- prometheus.MustNewConstMetric(c.status, prometheus.GaugeValue, float64(t.LastStatus), t.Name)
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.GaugeValue, float64(t.Failures), t.Name)
	}
}
