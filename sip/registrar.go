package sip

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// The registrar for operators' softphones (RFC 3261 §10.3). An operator's
// address of record is sip:LOGIN@<our host>; a softphone registers it with
// digest credentials (digestauth.go) and the binding lives in memory with
// its expiry, like a carrier's registrar without a database: after a restart
// softphones are unknown until their next refresh, which they send well
// within the expiry anyway.

// Binding limits. minBindingExpiry is the Min-Expires of a 423 (RFC 3261
// §10.3 step 7): shorter refreshes only cost us work. maxBindingExpiry caps
// what a UA asks for, so a softphone that vanished is forgotten within an
// hour. defaultBindingExpiry applies when the request names none.
const (
	minBindingExpiry     = 60 * time.Second
	maxBindingExpiry     = time.Hour
	defaultBindingExpiry = time.Hour
	// maxBindingsPerUser bounds one operator's bindings (several softphones
	// are fine; thousands are an attack or a bug).
	maxBindingsPerUser = 10
)

// Binding is one registered contact of an operator's softphone.
type Binding struct {
	User      string // the operator's login
	Contact   string // the Contact URI as the softphone gave it
	Source    string // ip:port the REGISTER came from (NAT: where to reach it)
	Transport string // "UDP" or "TCP"
	Expires   time.Time
	UserAgent string

	callID string
	cseq   uint32
}

// bindings are the registrar's state: every user's live bindings. Safe for
// concurrent use.
type bindings struct {
	mu    sync.Mutex
	users map[string][]Binding
}

// live returns user's bindings that have not expired at now, dropping the
// others.
func (b *bindings) liveLocked(user string, now time.Time) []Binding {
	bs := slices.DeleteFunc(b.users[user], func(x Binding) bool { return !x.Expires.After(now) })
	if len(bs) == 0 {
		delete(b.users, user)
		return nil
	}
	b.users[user] = bs
	return bs
}

// Registrations returns the live bindings of every operator's softphones,
// sorted by user and contact.
func (s *Server) Registrations() []Binding {
	s.regs.mu.Lock()
	defer s.regs.mu.Unlock()
	now := s.cfg.Now()
	var out []Binding
	for user := range s.regs.users {
		out = append(out, s.regs.liveLocked(user, now)...)
	}
	slices.SortFunc(out, func(a, b Binding) int {
		if c := strings.Compare(a.User, b.User); c != 0 {
			return c
		}
		return strings.Compare(a.Contact, b.Contact)
	})
	return out
}

// AuthFailures returns how many softphone requests failed digest
// authentication (or were refused as throttled) since the server started.
func (s *Server) AuthFailures() uint64 { return s.auth.failures.Load() }

// onRegister handles a REGISTER (RFC 3261 §10.3): authenticate, check the
// address of record is the authenticated user's, then add, refresh or
// remove bindings and answer with every live one.
func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseUnsupported(req, tx) {
		return
	}
	to, from := req.To(), req.From()
	if to == nil || from == nil || req.CallID() == nil || req.CSeq() == nil {
		s.respondErr(req, tx, fmt.Errorf("%w: From, To, Call-ID or CSeq missing", errMalformed))
		return
	}
	user, ok := s.authenticateRequest(req, tx)
	if !ok {
		return
	}
	// Step 6: the authenticated user may only change their own bindings;
	// a trunk peer (inbound_auth) calls in but does not register with us.
	if to.Address.User != user || s.peerTrunk(s.cfg.Plan(), user) != nil {
		s.log.Warn("sip: REGISTER for another user's address", "source", sourceIP(req), "user", user, "aor", to.Address.User)
		s.respond(req, tx, 403, "Forbidden")
		return
	}
	now := s.cfg.Now()
	updates, wildcard, err := parseContacts(req)
	if err != nil {
		s.respondErr(req, tx, err)
		return
	}
	callID, cseq := req.CallID().Value(), req.CSeq().SeqNo

	s.regs.mu.Lock()
	bs := s.regs.liveLocked(user, now)
	if wildcard {
		// Step 6: "*" with Expires: 0 removes every binding, unless an older
		// request of the same Call-ID arrives late.
		bs = slices.DeleteFunc(bs, func(b Binding) bool { return b.callID != callID || b.cseq < cseq })
	}
	for _, u := range updates {
		if u.expires > 0 && u.expires < minBindingExpiry {
			s.regs.mu.Unlock()
			s.respond(req, tx, 423, "Interval Too Brief", sip.NewHeader("Min-Expires", strconv.Itoa(int(minBindingExpiry/time.Second))))
			return
		}
	}
	for _, u := range updates {
		i := slices.IndexFunc(bs, func(b Binding) bool { return sameContactURI(b.Contact, u.uri) })
		if i >= 0 && bs[i].callID == callID && bs[i].cseq >= cseq {
			continue // step 7: an out-of-order retransmission changes nothing
		}
		if i >= 0 {
			bs = slices.Delete(bs, i, i+1)
		}
		if u.expires == 0 {
			continue
		}
		bs = append(bs, Binding{User: user, Contact: u.uri, Source: req.Source(), Transport: req.Transport(),
			Expires: now.Add(min(u.expires, maxBindingExpiry)), UserAgent: headerValue(req, "User-Agent"), callID: callID, cseq: cseq})
	}
	if len(bs) > maxBindingsPerUser {
		s.regs.mu.Unlock()
		s.respond(req, tx, 403, "Forbidden")
		s.log.Warn("sip: too many bindings", "user", user, "source", sourceIP(req))
		return
	}
	if s.regs.users == nil {
		s.regs.users = map[string][]Binding{}
	}
	if len(bs) == 0 {
		delete(s.regs.users, user)
	} else {
		s.regs.users[user] = bs
	}
	current := slices.Clone(bs)
	s.regs.mu.Unlock()

	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	for _, b := range current {
		// Step 8: the 200 lists every current binding with its expiry.
		secs := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		res.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<%s>;expires=%d", b.Contact, secs)))
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip: respond REGISTER", "err", err)
	}
	s.log.Info("sip: softphone registration", "user", user, "source", req.Source(), "bindings", len(current))
}

// authenticateRequest runs digest authentication for a request from a
// softphone and answers it when it fails: 401 with a challenge, 403 for
// wrong or throttled credentials (alike). ok is true with the user when the
// request may proceed.
func (s *Server) authenticateRequest(req *sip.Request, tx sip.ServerTransaction) (user string, ok bool) {
	ctx, cancel := context.WithTimeout(s.ctx, lookupTimeout)
	defer cancel()
	user, res := s.auth.authenticate(ctx, req)
	switch res {
	case authOK:
		return user, true
	case authChallenge, authStale:
		s.respond(req, tx, 401, "Unauthorized", s.auth.challenge(res == authStale)...)
	default:
		s.respond(req, tx, 403, "Forbidden")
	}
	return "", false
}

// contactUpdate is one Contact of a REGISTER with the expiry it asks for.
type contactUpdate struct {
	uri     string
	expires time.Duration
}

// parseContacts reads a REGISTER's Contact headers (RFC 3261 §10.3 step 6):
// each with its expires parameter, else the Expires header, else the
// default. wildcard is "Contact: *", which requires Expires: 0 and no other
// Contact. No Contact at all is a query: nothing changes.
func parseContacts(req *sip.Request) (updates []contactUpdate, wildcard bool, err error) {
	def := defaultBindingExpiry
	if v := headerValue(req, "Expires"); v != "" {
		d, ok := parseSeconds(v)
		if !ok {
			return nil, false, fmt.Errorf("%w: Expires %q", errMalformed, v)
		}
		def = d
	}
	for _, h := range req.GetHeaders("Contact") {
		for _, raw := range splitContacts(h.Value()) {
			if strings.TrimSpace(raw) == "*" {
				wildcard = true
				continue
			}
			var c sip.ContactHeader
			if _, err := sip.ParseAddressValue(raw, &c.Address, &c.Params); err != nil {
				return nil, false, fmt.Errorf("%w: Contact %q", errMalformed, raw)
			}
			exp := def
			if v, ok := c.Params.Get("expires"); ok {
				if exp, ok = parseSeconds(v); !ok {
					return nil, false, fmt.Errorf("%w: Contact expires %q", errMalformed, v)
				}
			}
			updates = append(updates, contactUpdate{uri: c.Address.String(), expires: exp})
		}
	}
	if wildcard && (len(updates) > 0 || def != 0) {
		return nil, false, fmt.Errorf("%w: Contact * needs Expires: 0 and no other Contact", errMalformed)
	}
	return updates, wildcard, nil
}

// splitContacts splits a Contact header value at the commas between
// contacts, not those inside <> or quotes.
func splitContacts(v string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '<':
			depth++
		case c == '>':
			depth--
		case c == ',' && depth == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// sameContactURI compares two Contact URIs as RFC 3261 §19.1.4 would for a
// binding: the same scheme, user, host and port; parameter order aside.
func sameContactURI(a, b string) bool {
	var ua, ub sip.Uri
	if sip.ParseUri(a, &ua) != nil || sip.ParseUri(b, &ub) != nil {
		return a == b
	}
	return strings.EqualFold(ua.Scheme, ub.Scheme) && ua.User == ub.User && strings.EqualFold(ua.Host, ub.Host) && ua.Port == ub.Port
}

func headerValue(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}
