package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strconv"
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
	if len(c.UDP) == 0 && len(c.TCP) == 0 && len(c.TLS) == 0 {
		m.Logger.Info("SIP disabled: no sip.udp, sip.tcp or sip.tls listeners configured")
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
		UDP: c.UDP, TCP: c.TCP, TLS: c.TLS, TLSConfig: m.tlsConf, MediaIP: mediaIP, RTPBind: bind, Ports: ports,
		TLSClientCertificate: acmeClientCertificate(m.tlsConf, cfg.HTTP.TLS.ACMEHosts),
		Plan:                 func() *dialplan.Plan { return m.Plan() },
		Engine:               m.Engine, Clock: m.Engine.Clock(),
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
		Record:           m.queueRecord,
		Realm:            c.Realm,
		DigestAlgorithms: c.DigestAlgorithms,
		ConnsPerAddress:  c.ConnectionsPerAddress,
		Credentials: func(ctx context.Context, login string) (dialroom.SIPCredentials, error) {
			op, err := m.DB.OperatorByLogin(ctx, login)
			if err != nil {
				return dialroom.SIPCredentials{}, err
			}
			return op.SIP, nil
		},
		// Dialplan extension routes ring operators' softphones.
		Operator:            m.DB.OperatorByLogin,
		OperatorByExtension: m.DB.OperatorByExtension,
		// Softphone passwords are guessed like console passwords: the same
		// limits per address.
		AuthLimiter: dialroom.NewLimiter(cfg.Auth.LoginFailures, cfg.Auth.LoginWindow, nil),
		Logger:      m.Logger.With("side", "sip"),
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
	bindings, authFails  *prometheus.Desc
	refusedConns         *prometheus.Desc
	dialInvites, dialing *prometheus.Desc
	extActive, extEnded  *prometheus.Desc
	outActive, outEnded  *prometheus.Desc
}

func newTrunkCollector(srv *sip.Server) trunkCollector {
	return trunkCollector{srv: srv,
		up: prometheus.NewDesc("dialroom_trunk_registered",
			"1 while the trunk is registered with its carrier, else 0; state says why.", []string{"trunk", "state"}, nil),
		status: prometheus.NewDesc("dialroom_trunk_last_status",
			"The SIP status of the trunk's last registration answer (0: none yet).", []string{"trunk"}, nil),
		failures: prometheus.NewDesc("dialroom_trunk_failures",
			"Registration failures of the trunk since it last registered.", []string{"trunk"}, nil),
		bindings: prometheus.NewDesc("dialroom_softphone_bindings",
			"Live registrations of operators' softphones.", nil, nil),
		authFails: prometheus.NewDesc("dialroom_sip_auth_failures_total",
			"Softphone requests that failed digest authentication or were refused as throttled.", nil, nil),
		refusedConns: prometheus.NewDesc("dialroom_sip_refused_connections_total",
			"TCP and TLS connections closed on arrival because their address held sip.connections_per_address already.", nil, nil),
		dialInvites: prometheus.NewDesc("dialroom_dialout_invites_total",
			"Calls placed through trunks, from the console and from operators' softphones (initial INVITEs).", nil, nil),
		dialing: prometheus.NewDesc("dialroom_dialout_calls",
			"Calls placed from the console that are in progress (ringing or answered).", nil, nil),
		extActive: prometheus.NewDesc("dialroom_extension_calls",
			"Calls to operators' extensions ringing or connected now.", nil, nil),
		extEnded: prometheus.NewDesc("dialroom_extension_calls_total",
			"Calls to operators' extensions that ended, by outcome (answered, rejected, busy, no_answer, abandoned, failed).", []string{"outcome"}, nil),
		outActive: prometheus.NewDesc("dialroom_outside_calls",
			"Calls from operators' softphones to outside numbers ringing or connected now.", nil, nil),
		outEnded: prometheus.NewDesc("dialroom_outside_calls_total",
			"Calls from operators' softphones to outside numbers that ended, by outcome (answered, rejected, busy, no_answer, abandoned, failed).", []string{"outcome"}, nil),
	}
}

func (c trunkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.status
	ch <- c.failures
	ch <- c.bindings
	ch <- c.authFails
	ch <- c.refusedConns
	ch <- c.dialInvites
	ch <- c.dialing
	ch <- c.extActive
	ch <- c.extEnded
	ch <- c.outActive
	ch <- c.outEnded
}

func (c trunkCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.bindings, prometheus.GaugeValue, float64(len(c.srv.Registrations())))
	ch <- prometheus.MustNewConstMetric(c.authFails, prometheus.CounterValue, float64(c.srv.AuthFailures()))
	ch <- prometheus.MustNewConstMetric(c.refusedConns, prometheus.CounterValue, float64(c.srv.RefusedConns()))
	ch <- prometheus.MustNewConstMetric(c.dialInvites, prometheus.CounterValue, float64(c.srv.OutboundInvites()))
	ch <- prometheus.MustNewConstMetric(c.dialing, prometheus.GaugeValue, float64(c.srv.DialingCalls()))
	active, ended := c.srv.ExtensionCalls()
	ch <- prometheus.MustNewConstMetric(c.extActive, prometheus.GaugeValue, float64(active))
	for outcome, n := range ended {
		ch <- prometheus.MustNewConstMetric(c.extEnded, prometheus.CounterValue, float64(n), outcome)
	}
	active, ended = c.srv.OutsideCalls()
	ch <- prometheus.MustNewConstMetric(c.outActive, prometheus.GaugeValue, float64(active))
	for outcome, n := range ended {
		ch <- prometheus.MustNewConstMetric(c.outEnded, prometheus.CounterValue, float64(n), outcome)
	}
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

// dial places an operator's call to a phone through the SIP side (dial-out
// from the console). m.SIP is set in Run before the HTTP server serves.
func (m *Main) dial(ctx context.Context, req webclient.DialRequest) (webclient.DialCall, error) {
	if m.SIP == nil {
		return nil, dialroom.Errorf(dialroom.EDENIED, "This server has no telephone side (no SIP listener configured).")
	}
	call, err := m.SIP.Dial(ctx, sip.DialRequest{
		Operator: req.Operator, OperatorName: req.OperatorName, Room: req.Room, To: req.To,
		OnStatus: func(st sip.DialStatus) {
			if req.OnStatus != nil {
				req.OnStatus(webclient.DialStatus{ID: st.ID, Number: st.Number, State: string(st.State),
					Final: st.State.Final(), Status: st.Status, Reason: st.Reason})
			}
		},
	})
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return call, nil
}

// softphone gives the console what it shows operators about their
// softphones; nil when the config has no SIP listeners. It reads m.SIP at
// call time: the console is built before the SIP side starts.
func (m *Main) softphone(cfg *configs.Config) webclient.Softphone {
	c := cfg.SIP
	if len(c.UDP) == 0 && len(c.TCP) == 0 && len(c.TLS) == 0 {
		return nil
	}
	return softphoneSide{m: m, realm: c.Realm, mediaIP: c.MediaIP}
}

// softphoneSide adapts the SIP server to webclient.Softphone.
type softphoneSide struct {
	m       *Main
	realm   string
	mediaIP string // shown instead of a listener's unspecified address
}

func (s softphoneSide) Realm() string { return s.realm }

func (s softphoneSide) Credentials(login, password string) dialroom.SIPCredentials {
	return sip.NewSIPCredentials(login, s.realm, password)
}

func (s softphoneSide) Bindings(login string) []webclient.SoftphoneBinding {
	if s.m.SIP == nil {
		return nil
	}
	var out []webclient.SoftphoneBinding
	for _, b := range s.m.SIP.Registrations() {
		if b.User == login {
			out = append(out, webclient.SoftphoneBinding{Contact: b.Contact, Source: b.Source, Transport: b.Transport, UserAgent: b.UserAgent, Expires: b.Expires})
		}
	}
	return out
}

func (s softphoneSide) Servers() []string {
	if s.m.SIP == nil {
		return nil
	}
	var out []string
	add := func(transport string, addrs []netip.AddrPort) {
		for _, a := range addrs {
			host := a.Addr().String()
			if a.Addr().IsUnspecified() {
				host = s.mediaIP
			}
			out = append(out, fmt.Sprintf("sip:%s;transport=%s", net.JoinHostPort(host, strconv.Itoa(int(a.Port()))), transport))
		}
	}
	add("udp", s.m.SIP.UDPAddrs())
	add("tcp", s.m.SIP.TCPAddrs())
	add("tls", s.m.SIP.TLSAddrs())
	return out
}

// acmeClientCertificate returns, for a server whose certificate comes from
// ACME (made on demand, per name asked), the certificate for its first ACME
// host as the one to present to carriers that ask for a client certificate
// (mutual TLS on TLS trunks, sip/trunk_tls.go). Nil otherwise: the SIP side
// then presents the configured certificate itself. Whether a carrier takes
// it is up to the carrier: public CAs are dropping the client-authentication
// usage from their certificates.
func acmeClientCertificate(conf *tls.Config, acmeHosts []string) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	if conf == nil || conf.GetCertificate == nil || len(acmeHosts) == 0 {
		return nil
	}
	return func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return conf.GetCertificate(&tls.ClientHelloInfo{ServerName: acmeHosts[0], SignatureSchemes: cri.SignatureSchemes})
	}
}
