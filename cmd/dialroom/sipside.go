package main

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/configs"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/dialroom/dialroom/media"
	"github.com/dialroom/dialroom/sip"
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
	m.Logger.Info("SIP listening", "udp", m.SIP.UDPAddrs(), "tcp", m.SIP.TCPAddrs(), "media_ip", mediaIP)
	return nil
}
