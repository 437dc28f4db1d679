package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"

	"github.com/dialroom/dialroom/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// errLateAnswer: a softphone answered after another had won, or after
// ringing stopped; its dialog is ACKed and ended at once.
var errLateAnswer = errors.New("answered after the call was taken or given up")

// fork is one INVITE to one binding of the extension's operator. Forking
// is parallel, as a proxy's (RFC 3261 §16.6, §16.7), but done by a B2BUA:
// each fork is a dialog of its own, with a Call-ID of its own, so the
// softphones never see the caller's dialog.
//
// A fork's goroutine (runFork) owns its dialog until it posts forkAnswered
// or forkEnded; once it has won (extensionCall.winner), the call's goroutine
// owns the dialog.
type fork struct {
	b   Binding
	gen uint32                     // the round of forks it belongs to (extensionCall.forkGen): a transfer starts a new one
	dlg *sipgo.DialogClientSession // set by the fork's goroutine before the fork can win
	// cert is the client certificate for the fork's TLS connections: its
	// trunk's tls_cert for a fork to a trunk (outside calls), else nil
	// (the server's). Set before the fork starts.
	cert *tls.Certificate

	ctx    context.Context // cancelled to CANCEL the fork (RFC 3261 §9.1)
	cancel context.CancelCauseFunc
	// responded: a response came, so a CANCEL can go at once (RFC 3261
	// §9.1); see cancelForks.
	responded atomic.Bool
}

// startForks sends an INVITE to every binding, each from its own
// goroutine, counted in the server's WaitGroup (Close waits for them; the
// call is alive, so its count keeps the group open). Our offer is the same
// for all: the caller's codec first, so a softphone that takes it needs no
// transcoding (G.722 included: a wideband caller and softphone then hear
// each other up to 7 kHz, packets passed through), then the G.711 laws, and
// telephone-event. G.722 is offered only to match a wideband caller: for a
// narrowband one the relay would transcode for nothing better than G.711.
func (c *extensionCall) startForks(bindings []Binding) {
	c.sdpMu.Lock()
	body, err := c.outSDP.offer(c.forkFormats(), dialoutDTMF)
	c.sdpMu.Unlock()
	type start struct {
		f   *fork
		dua *sipgo.DialogUA
		req *sip.Request
	}
	var starts []start
	for _, b := range bindings {
		f := &fork{b: b, gen: c.forkGen.Load()}
		if d := c.viaTrunk; d != nil {
			f.cert = d.Trunk.TLSCert
		}
		f.ctx, f.cancel = context.WithCancelCause(context.Background())
		c.forks = append(c.forks, f)
		if err != nil {
			starts = append(starts, start{f: f})
			continue
		}
		dua, req, ferr := c.forkInvite(b, body)
		if ferr != nil {
			c.log.Info("sip: binding cannot be called", "contact", b.Contact, "err", ferr)
		}
		starts = append(starts, start{f, dua, req})
	}
	// c.forks is complete before any fork runs: a winner reads it
	// (cancelForks) from its own goroutine.
	for _, st := range starts {
		if st.req == nil {
			c.post(forkEnded{f: st.f, err: fmt.Errorf("%w: no INVITE for this binding", errExtensionFailed)})
			continue
		}
		c.srv.wg.Add(1)
		go c.runFork(st.f, st.dua, st.req)
	}
	c.log.Info("sip: ringing extension", "bindings", len(bindings))
}

// forkInvite builds the INVITE to one binding (RFC 3261 §8.1.1): to the
// registered Contact, sent where the REGISTER came from (a softphone behind
// NAT is reachable there, not at its Contact), From the caller's number as
// the caller presented it (or "anonymous"), To the operator's address of
// record, with our offer.
func (c *extensionCall) forkInvite(b Binding, body []byte) (*sipgo.DialogUA, *sip.Request, error) {
	s := c.srv
	if d := c.viaTrunk; d != nil {
		dua := s.trunkDialogUA(d.Trunk)
		if dua == nil {
			return nil, nil, fmt.Errorf("no %s listener for trunk %q", d.Trunk.Transport, d.Trunk.Name)
		}
		return dua, s.trunkInvite(d.Trunk, d.Number, c.callerID, body), nil
	}
	var ruri sip.Uri
	if err := sip.ParseUri(b.Contact, &ruri); err != nil {
		return nil, nil, fmt.Errorf("contact %q: %w", b.Contact, err)
	}
	transport := strings.ToUpper(b.Transport)
	dua := s.dialog[transport]
	if dua == nil {
		return nil, nil, fmt.Errorf("no %s listener", transport)
	}
	req := sip.NewRequest(sip.INVITE, ruri)
	host := s.cfg.MediaIP.String()
	setInviteHeaders(req, sip.Uri{Scheme: "sip", User: c.from, Host: host},
		sip.Uri{Scheme: "sip", User: c.op.Login, Host: host}, body)
	req.SetTransport(transport)
	if b.Source != "" {
		req.SetDestination(b.Source)
	}
	if transport == "UDP" && len(s.udp) > 0 {
		// From the listener the softphone registered with, so its NAT
		// (and its idea of who we are) sees the address it knows.
		ap := netipAddrPort(s.udp[0].LocalAddr())
		req.Laddr = sip.Addr{IP: net.IP(ap.Addr().AsSlice()), Port: int(ap.Port())}
	}
	return dua, req, nil
}

// runFork is a fork's goroutine: send the INVITE, report ringing, and on a
// 2xx ACK it (RFC 3261 §13.2.2.4: the UAC core ACKs every 2xx, wanted or
// not) and try to win. Exactly one fork wins, and none once ringing has
// stopped (extensionCall.winner); a fork that answers too late is ended
// with BYE right after its ACK. A 2xx that crosses our CANCEL is ACKed and
// ended alike (RFC 3261 §9.1). It always posts forkAnswered or forkEnded
// last.
func (c *extensionCall) runFork(f *fork, dua *sipgo.DialogUA, req *sip.Request) {
	defer c.srv.wg.Done()
	ctx, _ := withClientCertNote(f.ctx, f.cert) // the trunk's client certificate, if it has one
	dlg, err := dua.WriteInvite(ctx, req)
	if err != nil {
		c.post(forkEnded{f: f, err: err})
		return
	}
	f.dlg = dlg
	var user, password string
	if d := c.viaTrunk; d != nil {
		// The carrier's digest challenge (RFC 3261 §22.2), as for the
		// console's dial-out.
		user, password = d.Trunk.Username, d.Trunk.Password.Reveal()
		c.srv.dialouts.invites.Add(1)
	}
	err = dlg.WaitAnswer(f.ctx, sipgo.AnswerOptions{Username: user, Password: password, OnResponse: func(res *sip.Response) error {
		f.responded.Store(true)
		switch {
		case res.StatusCode == 183 && len(res.Body()) > 0:
			// Early media (RFC 3960): the call goroutine decides
			// whether the caller hears it (startEarly).
			c.post(forkEarly{f, res.Body()})
		case res.StatusCode == 180 || res.StatusCode == 183:
			c.post(forkRinging{f})
		}
		return nil
	}})
	if err == nil {
		if ackErr := dlg.Ack(f.ackContext()); ackErr != nil {
			c.post(forkEnded{f: f, err: fmt.Errorf("ACK: %w", ackErr)})
			return
		}
		if f.gen == c.forkGen.Load() && c.winner.CompareAndSwap(nil, f) {
			// RFC 3261 §13.2.2.4 and §16.7 step 10: the first 2xx wins;
			// the other forks are cancelled.
			c.fileCallee(f)
			c.cancelForks(f, false)
			c.post(forkAnswered{f})
			return
		}
		c.byeDialog(dlg, f.cert)
		c.post(forkEnded{f: f, status: 200, err: errLateAnswer})
		return
	}
	if res := dlg.InviteResponse; res != nil && res.IsSuccess() {
		if dlg.Ack(f.ackContext()) == nil {
			c.byeDialog(dlg, f.cert)
		}
		c.post(forkEnded{f: f, status: res.StatusCode, err: errLateAnswer})
		return
	}
	status := 0
	var rejected *sipgo.ErrDialogResponse
	if errors.As(err, &rejected) {
		status = rejected.Res.StatusCode
	}
	c.post(forkEnded{f: f, status: status, err: err})
}

// cancelForks cancels every fork but except (nil: all). RFC 3261 §9.1:
// a fork that has had no provisional response yet must not be CANCELled
// until it has one, so sipgo waits for one (or for Timer B, 64·T1, when
// the softphone has vanished) before it sends the CANCEL; that wait is the
// fork's goroutine's, not the call's. With force (the server is closing)
// a fork without a response is abandoned at once instead, so Close does
// not wait for vanished softphones. Safe from any goroutine.
func (c *extensionCall) cancelForks(except *fork, force bool) {
	for _, f := range c.forks {
		if f == except {
			continue
		}
		if force && !f.responded.Load() {
			f.cancel(sipgo.WaitAnswerForceCancelErr)
		} else {
			f.cancel(errGiveUp)
		}
	}
}

// ackContext is the context of a fork's ACK (RFC 3261 §13.2.2.4): should
// the INVITE's connection be gone, the new one presents the fork's client
// certificate (fork.cert), as the INVITE's did.
func (f *fork) ackContext() context.Context {
	ctx, _ := withClientCertNote(context.Background(), f.cert)
	return ctx
}

// byeDialog ends a fork's dialog (RFC 3261 §15.1.1), bounded by
// byeTimeout; cert is the fork's client certificate (fork.cert).
func (c *extensionCall) byeDialog(dlg *sipgo.DialogClientSession, cert *tls.Certificate) {
	byeWithin(dlg, cert, c.log, "extension")
}

// byeCallee ends the answering fork's leg.
func (c *extensionCall) byeCallee(w *fork) { c.byeDialog(w.dlg, w.cert) }

// forkFormats is our offer's codecs for the softphones, in preference order.
func (c *extensionCall) forkFormats() []offerFormat {
	if c.inOffer.late {
		return g711Formats(lateOfferCodecs()...) // no codec of the caller's to prefer yet
	}
	if c.inOffer.Wide.name == wideG722 && (c.viaTrunk == nil || trunkCodecChoice(c.viaTrunk.Trunk).g722) {
		return append([]offerFormat{{wide: wideFormat{name: wideG722, pt: media.G722PayloadType}}},
			g711Formats(media.PCMU, media.PCMA)...)
	}
	other := media.PCMA
	if c.inOffer.Codec == media.PCMA {
		other = media.PCMU
	}
	return g711Formats(c.inOffer.Codec, other)
}
