package sip

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Reliable provisional responses (RFC 3262, "100rel"). A caller that lists
// 100rel in Supported or Require gets our 180 and 183 reliably: each
// carries Require: 100rel and an RSeq, is retransmitted until the caller
// acknowledges it with a PRACK, and a 2xx waits for the PRACK of a
// provisional that carried our SDP answer. Carriers whose networks depend
// on early media (announcements before a refusal, a softphone's ring-back)
// use it so that the 183's SDP cannot be lost; some (IMS cores, NGN
// interconnects) require it on every INVITE.
//
// Who calls what: the call's goroutine sends provisionals (send) and
// waits before its 2xx (awaitSDPAck); the PRACK arrives on a sipgo handler
// goroutine (Server.onPrack → ack); retransmissions run on a goroutine per
// outstanding provisional. Everything shared is under mu.

// Option tags (RFC 3261 §19.2) dialroom implements as a UAS: a Require
// naming anything else is refused with 420 (RFC 3261 §8.2.2.3).
const (
	tag100rel = "100rel" // RFC 3262
	tagTimer  = "timer"  // RFC 4028 (session.go)
)

// supportedHeader advertises our option tags (RFC 3261 §20.37) in responses
// to INVITE and OPTIONS.
func supportedHeader() sip.Header {
	return sip.NewHeader("Supported", tag100rel+", "+tagTimer)
}

// errNoPrack: a reliable provisional went unacknowledged for 64·T1
// (RFC 3262 §3: "SHOULD reject the original request with a 5xx").
var errNoPrack = errors.New("sip: no PRACK for a reliable provisional response (RFC 3262 §3)")

// unsupportedTags returns the option tags in req's Require header fields
// (and its compact form) that we do not implement, in order and without
// repeats; none means the request may proceed.
func unsupportedTags(req *sip.Request) []string {
	var out []string
	for _, h := range req.GetHeaders("Require") {
		for tag := range strings.SplitSeq(h.Value(), ",") {
			tag = strings.ToLower(strings.TrimSpace(tag))
			if tag == "" || tag == tag100rel || tag == tagTimer || containsString(out, tag) {
				continue
			}
			out = append(out, tag)
		}
	}
	return out
}

func containsString(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// refuseUnsupported answers a request that requires an extension we lack
// with 420 Bad Extension listing them in Unsupported (RFC 3261 §8.2.2.3,
// §21.4.15) and reports true; false (nothing sent) when there is none.
// ACK and CANCEL are never refused this way (they cannot be answered so).
func (s *Server) refuseUnsupported(req *sip.Request, tx sip.ServerTransaction) bool {
	if req.Method == sip.ACK || req.Method == sip.CANCEL {
		return false
	}
	tags := unsupportedTags(req)
	if len(tags) == 0 {
		return false
	}
	s.log.Info("sip: request requires an extension we do not support", "method", req.Method, "call_id", callID(req), "unsupported", strings.Join(tags, ","))
	s.respond(req, tx, 420, "Bad Extension", sip.NewHeader("Unsupported", strings.Join(tags, ", ")), supportedHeader())
	return true
}

// wantsReliable reports whether the INVITE's sender supports or requires
// reliable provisional responses (RFC 3262 §3, §4).
func wantsReliable(req *sip.Request) bool {
	for _, name := range []string{"Require", "Supported", "k"} {
		for _, h := range req.GetHeaders(name) {
			for tag := range strings.SplitSeq(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(tag), tag100rel) {
					return true
				}
			}
		}
	}
	return false
}

// provisionals sends one INVITE server transaction's 1xx responses: as they
// are when the caller does not support 100rel, reliably when it does.
// At most one reliable provisional is outstanding at a time (RFC 3262 §3);
// while one is, a later one without SDP is dropped (the caller already
// knows the call is progressing) and a later one with SDP waits in next.
//
// Every write happens under mu, and none after finish: the call's goroutine
// calls finish before it sends its final response, so no provisional (first
// sent, retransmitted, or released by a PRACK on sipgo's goroutine) can
// follow it or interleave with it.
type provisionals struct {
	reliable bool
	cseq     uint32 // the INVITE's CSeq number, which RAck repeats
	t1       time.Duration
	// write passes a response to the INVITE's server transaction (its
	// Respond: safe from any goroutine; the dialog's WriteResponse is not,
	// it records the response in the dialog).
	write    func(*sip.Response) error
	contact  sip.Header // our Contact, added to each provisional (RFC 3261 §12.1.1: it opens the early dialog)
	timedOut func()     // called once, on the retransmitting goroutine, after 64·T1 without a PRACK

	mu        sync.Mutex
	rseq      uint32  // the last RSeq used
	pending   *relRes // the unacknowledged reliable provisional, or nil
	next      *relRes // one waiting for pending's PRACK
	sdpUnack  bool    // a sent reliable provisional with SDP awaits its PRACK
	sdpAcked  chan struct{}
	finished  bool // a final response went: no more provisionals
	timedOutB bool
}

// relRes is one reliable provisional response.
type relRes struct {
	res    *sip.Response
	rseq   uint32
	hasSDP bool
	acked  chan struct{} // closed by stop (its PRACK, or the final response): no more retransmissions
	closed bool          // acked is closed; guarded by provisionals.mu
}

// stop ends r's retransmissions; provisionals.mu is held.
func (r *relRes) stop() {
	if !r.closed {
		r.closed = true
		close(r.acked)
	}
}

// newProvisionals prepares the provisionals of the INVITE req, written
// through write with our contact (nil: none added). timedOut may be nil.
func newProvisionals(req *sip.Request, write func(*sip.Response) error, contact sip.Header, timedOut func()) *provisionals {
	p := &provisionals{reliable: wantsReliable(req), t1: sip.T1, write: write, contact: contact, timedOut: timedOut, sdpAcked: make(chan struct{})}
	if cs := req.CSeq(); cs != nil {
		p.cseq = cs.SeqNo
	}
	// RFC 3262 §3: the first RSeq is chosen uniformly between 1 and
	// 2^31−1, so that a new transaction's cannot be mistaken for an old
	// one's. rseq holds the one before it.
	var b [4]byte
	_, _ = rand.Read(b[:])
	p.rseq = binary.BigEndian.Uint32(b[:]) % (1<<31 - 1)
	return p
}

// send passes the provisional response res on: at once when unreliable;
// reliably (Require: 100rel, RSeq, retransmitted) when the caller supports
// it. It returns the write's error for a response sent now, nil for one
// queued or dropped.
func (p *provisionals) send(res *sip.Response) error {
	if res.Contact() == nil && p.contact != nil {
		res.AppendHeader(sip.HeaderClone(p.contact))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return nil
	}
	if !p.reliable || res.StatusCode == 100 {
		return p.write(res)
	}
	hasSDP := len(res.Body()) > 0
	r := &relRes{res: res, hasSDP: hasSDP, acked: make(chan struct{})}
	res.AppendHeader(sip.NewHeader("Require", tag100rel))
	if p.pending != nil {
		if hasSDP {
			p.next = r // replaces a waiting one: the latest state is what counts
		}
		return nil
	}
	return p.startLocked(r)
}

// startLocked numbers r (RFC 3262 §3: each reliable provisional's RSeq is
// one more than the last one sent), makes it the outstanding provisional,
// writes it and starts its retransmissions. mu is held.
func (p *provisionals) startLocked(r *relRes) error {
	p.rseq++
	r.rseq = p.rseq
	r.res.AppendHeader(sip.NewHeader("RSeq", strconv.FormatUint(uint64(r.rseq), 10)))
	p.pending = r
	if r.hasSDP {
		p.sdpUnack = true
	}
	err := p.write(r.res)
	go p.retransmit(r)
	return err
}

// retransmit resends r at T1, 2·T1, 4·T1, … until its PRACK or a final
// response, and gives up after 64·T1 in all (RFC 3262 §3).
func (p *provisionals) retransmit(r *relRes) {
	interval, waited := p.t1, time.Duration(0)
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-r.acked:
			return
		case <-t.C:
		}
		waited += interval
		if waited >= 64*p.t1 {
			p.mu.Lock()
			fire := !p.finished && !p.timedOutB && p.pending == r
			if fire {
				// A PRACK from now on matches nothing (481): the INVITE is
				// being refused.
				p.pending, p.next, p.timedOutB = nil, nil, true
			}
			p.mu.Unlock()
			if fire && p.timedOut != nil {
				p.timedOut()
			}
			return
		}
		p.mu.Lock()
		if !r.closed {
			_ = p.write(r.res)
		}
		p.mu.Unlock()
		interval *= 2
		t.Reset(interval)
	}
}

// ack applies a PRACK's RAck value ("RSeq CSeq-number method", RFC 3262
// §7.2). It reports whether it acknowledged the outstanding provisional
// (then a waiting one goes out); false means the PRACK matches nothing
// (481, RFC 3262 §3). A retransmitted PRACK never gets here: its own
// transaction absorbs it.
func (p *provisionals) ack(rack string) bool {
	rseq, cseq, method, ok := parseRAck(rack)
	if !ok || cseq != p.cseq || method != sip.INVITE {
		return false
	}
	p.mu.Lock()
	r := p.pending
	if r == nil || r.rseq != rseq {
		p.mu.Unlock()
		return false
	}
	r.stop()
	p.pending = nil
	if r.hasSDP && p.sdpUnack {
		p.sdpUnack = false
		close(p.sdpAcked)
	}
	next := p.next
	p.next = nil
	if next != nil && !p.finished {
		_ = p.startLocked(next)
	}
	p.mu.Unlock()
	return true
}

// awaitSDPAck returns once no reliable provisional with SDP is
// unacknowledged, so that a 2xx may go (RFC 3262 §3): nil then,
// errCancelled when done closes first (the caller cancelled), errNoPrack
// after 64·T1.
func (p *provisionals) awaitSDPAck(done <-chan struct{}) error {
	p.mu.Lock()
	unack, ch := p.sdpUnack, p.sdpAcked
	p.next = nil // a provisional not yet sent is overtaken by the 2xx
	p.mu.Unlock()
	if !unack {
		return nil
	}
	t := time.NewTimer(64 * p.t1)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-done:
		return errCancelled
	case <-t.C:
		return errNoPrack
	}
}

// finish stops all retransmissions: the final response is going out. An
// outstanding provisional stays acknowledgeable: a caller may PRACK a 180
// that crossed our 200 (and gets 200, not 481).
func (p *provisionals) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished = true
	if p.pending != nil {
		p.pending.stop()
	}
	p.next = nil
}

// parseRAck reads "response-num CSeq-num Method" (RFC 3262 §7.2).
func parseRAck(v string) (rseq, cseq uint32, method sip.RequestMethod, ok bool) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return 0, 0, "", false
	}
	r, err1 := strconv.ParseUint(f[0], 10, 32)
	c, err2 := strconv.ParseUint(f[1], 10, 32)
	if err1 != nil || err2 != nil {
		return 0, 0, "", false
	}
	return uint32(r), uint32(c), sip.RequestMethod(strings.ToUpper(f[2])), true
}

// Reliable provisionals by the dialog they belong to, for PRACKs
// (Server.onPrack). Guarded by Server.mu.
type prackIndex map[string]*provisionals

// trackProvisionals files p under the dialog ID of its INVITE's responses
// (our To tag is set by then) until forget is called.
func (s *Server) trackProvisionals(dialogID string, p *provisionals) (forget func()) {
	if !p.reliable || dialogID == "" {
		return func() {}
	}
	s.mu.Lock()
	if s.pracks == nil {
		s.pracks = prackIndex{}
	}
	s.pracks[dialogID] = p
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		if s.pracks[dialogID] == p {
			delete(s.pracks, dialogID)
		}
		s.mu.Unlock()
	}
}

// onPrack acknowledges a reliable provisional response (RFC 3262 §3):
// 200 when the RAck matches the outstanding one, 481 when it matches nothing, 400 without an RAck. A PRACK that carries
// SDP would be an offer or an answer in it (RFC 3262 §5); we only send
// answers in provisionals and take no offer there, so it gets 488 and the
// provisional still counts as acknowledged.
func (s *Server) onPrack(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseUnsupported(req, tx) {
		return
	}
	h := req.GetHeader("RAck")
	if h == nil {
		s.respondErr(req, tx, fmt.Errorf("%w: PRACK without RAck", errMalformed))
		return
	}
	id, err := sip.DialogIDFromRequestUAS(req)
	var p *provisionals
	if err == nil {
		s.mu.Lock()
		p = s.pracks[id]
		s.mu.Unlock()
	}
	if p == nil || !p.ack(h.Value()) {
		s.respondErr(req, tx, errNoDialog)
		return
	}
	if len(req.Body()) > 0 {
		s.respond(req, tx, 488, "Not Acceptable Here", sip.NewHeader("Warning", `399 dialroom "no offers in PRACK"`))
		return
	}
	s.respond(req, tx, 200, "OK")
}
