package sip

import (
	"context"
	"fmt"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/dialplan"
	"github.com/emiago/sipgo/sip"
)

// onSoftphoneInvite handles an INVITE that came from no trunk: an operator's
// softphone calling an issued number (docs/phone.md). It must authenticate
// (digestauth.go); a challenge or a refusal leaves no call state. The
// number's own operator enters the room as its operator, without the lobby;
// another operator calling someone else's number waits in that lobby like
// any phone guest. Softphones dial issued numbers, and other operators'
// extensions where a dialplan extension route matches the call (with the
// operator's extension as from_extension; extension.go).
func (s *Server) onSoftphoneInvite(req *sip.Request, tx sip.ServerTransaction, plan *dialplan.Plan, started time.Time) {
	user, ok := s.authenticateRequest(req, tx)
	if !ok {
		return
	}
	if trunk := s.peerTrunk(plan, user); trunk != nil {
		// A trunk with inbound_auth calling from an address of its own
		// choosing: a carrier's call in every other respect.
		s.onTrunkInvite(req, tx, plan, trunk, started)
		return
	}
	s.respond(req, tx, 100, "Trying")
	rec := dialroom.CallRecord{Kind: dialroom.MemberKindPhone, Role: dialroom.RoleGuest, Party: softphoneParty(user), Started: started}
	log := s.log.With("call_id", callID(req), "softphone", user)

	refuse := func(err error) {
		code, reason := statusOf(err)
		log.Info("sip: softphone call refused", "status", code, "err", err)
		s.respond(req, tx, code, reason, statusHeaders(err)...)
		rec.Outcome, rec.Reason = "rejected", fmt.Sprintf("%d %s", code, reason)
		s.recordCall(rec)
	}
	dialled := dialledNumber(req, nil)
	digits, err := dialroom.NormalizeNumber(dialled)
	if err != nil || !plan.Numbering.Allows(digits) {
		// Not an issued number: another operator's extension if the
		// dialplan routes it so (from_extension), else an outside number
		// if the dial-out policy lets this operator call it (outside.go).
		ext := s.softphoneExtension(user)
		if d := plan.Route(dialplan.Call{To: dialled, Extension: ext}); d.Action == dialplan.ActionExtension {
			rec.Number = d.Number
			if d.Rule != nil {
				rec.Rule = d.Rule.Name
			}
			s.ringExtension(req, tx, d, ext, user, "", codecChoice{g722: true}, rec, log.With("decision", d.String()))
			return
		}
		outside, hasPrefix := plan.SoftphoneOutside(dialled)
		if !hasPrefix {
			// This PBX wants the line prefix before an outside number.
			log.Info("sip: softphone call refused: no outside-line prefix", "prefix", plan.OutsidePrefix)
			s.respond(req, tx, 403, "Forbidden", warningHeader(fmt.Sprintf("dial %s before an outside number", plan.OutsidePrefix)))
			rec.Outcome, rec.Reason = "rejected", "403 Forbidden: no outside-line prefix"
			s.recordCall(rec)
			return
		}
		d := plan.Dialout(user, outside)
		if !d.Allowed && plan.OutsidePrefix != "" {
			// Perhaps the line prefix was forgotten: the number's own first
			// digit was taken for it.
			d.Reason += fmt.Sprintf(" (outside numbers: dial %s, then the number)", plan.OutsidePrefix)
		}
		if d.Allowed {
			s.callOutside(req, tx, plan, d, user, rec, log)
			return
		}
		if d.Matched != "" {
			// A phone number the policy denies this operator: 403 with the
			// policy's reason, which a softphone shows (RFC 3261 §21.4.4).
			// Logs and records name the rule, not the reason's text: it
			// carries the whole number.
			rule := "(none)"
			if d.Rule != nil {
				rule = d.Rule.Name
			}
			log.Info("sip: softphone call refused by the dial-out policy", "to", dialroom.MaskPhone(d.Matched), "rule", rule, "category", d.Category)
			s.respond(req, tx, 403, "Forbidden", warningHeader(d.Reason))
			rec.Party, rec.Outcome, rec.Reason = dialroom.MaskPhone(d.Matched), "rejected", "403 Forbidden: the dial-out policy denies it (rule "+rule+")"
			s.recordCall(rec)
			return
		}
		refuse(dialroom.Errorf(dialroom.ENOTFOUND, "The number is not in service."))
		return
	}
	rec.Number = digits
	num, opName, o, err := s.prepare(dialplan.Decision{Action: dialplan.ActionConference, Number: digits}, req, softphoneCodecs())
	if num != nil {
		rec.Operator = num.Operator
	}
	var timer sessionTimer
	if err == nil {
		timer, err = parseSessionTimer(req, time.Duration(s.minSE.Load()))
	}
	if err != nil {
		refuse(err)
		return
	}
	asOperator := num.Operator == user
	if asOperator {
		rec.Role = dialroom.RoleOperator
	}
	c := s.acceptCall(req, tx, o, log, rec)
	if c == nil {
		return
	}
	c.number, c.opName, c.record, c.timer, c.asOperator = num, opName, rec, timer, asOperator
	c.ident = dialroom.Identity{Role: rec.Role, Kind: dialroom.MemberKindPhone, Address: softphoneParty(user), HD: c.leg.Wideband()}
	if asOperator {
		c.ident.Name = opName
	}
	log.Info("sip: softphone call", "number", digits, "as_operator", asOperator)
	c.run()
}

// softphoneParty is how a softphone appears in members and records: the
// operator's login, which every operator already sees (not a phone number,
// so nothing to mask).
func softphoneParty(user string) string { return "softphone " + user }

// credentialsOf is the registrar's credential lookup: an operator's
// softphone credentials, else those of an enabled trunk with inbound_auth
// whose username this is (its password is in the dialplan, so its HA1 is
// derived here). An operator's login wins over a trunk's username.
func (s *Server) credentialsOf(ctx context.Context, user string) (dialroom.SIPCredentials, error) {
	creds, err := s.cfg.Credentials(ctx, user)
	if err == nil && creds.Set() {
		return creds, nil
	}
	if t := s.peerTrunk(s.cfg.Plan(), user); t != nil {
		return NewSIPCredentials(user, s.cfg.Realm, t.Password.Reveal()), nil
	}
	return creds, err
}

// peerTrunk returns the trunk an authenticated user stands for when it is
// no operator with softphone credentials: an enabled trunk with
// inbound_auth and a password. Nil otherwise.
func (s *Server) peerTrunk(plan *dialplan.Plan, user string) *dialplan.Trunk {
	if plan == nil {
		return nil
	}
	t := plan.TrunkByUser(user)
	if t == nil || !t.Password.IsSet() {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.ctx, lookupTimeout)
	defer cancel()
	if creds, err := s.cfg.Credentials(ctx, user); err == nil && creds.Set() {
		return nil // an operator's login: the operator's credentials decide
	}
	return t
}
