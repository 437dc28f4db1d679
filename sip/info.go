package sip

import (
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Keys sent as SIP INFO. Phones and carriers set to "SIP INFO DTMF" send
// each key as an INFO within the call, without an Info-Package: the legacy
// use RFC 6086 §1 (and its §2) keeps working beside Info Packages. Two bodies
// are in use: application/dtmf-relay ("Signal=5\r\nDuration=160", the most
// common) and application/dtmf (the key alone). A key reaches the call as
// an RFC 4733 event would: the access-number prompt or the room's keypad
// controls (docs/phone.md).

// infoKeyTypes are the bodies we take, as an Accept header lists them.
const infoKeyTypes = "application/dtmf-relay, application/dtmf"

// onInfo answers an INFO (RFC 6086): 481 outside a call of ours, 469 for
// an Info Package (we support none, §5.2.2), 415 with Accept for a body
// that is not a key, 400 for one whose key is unreadable, else 200 and the
// key goes to the call.
func (s *Server) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseUnsupported(req, tx) {
		return
	}
	deliver, ok := s.keySink(req, tx)
	if !ok {
		return // answered (481, or 500 for an out-of-order CSeq)
	}
	if req.GetHeader("Info-Package") != nil {
		// RFC 6086 §4.2.2: 469, with a Recv-Info naming the packages we
		// take (none: the header without a value).
		s.respond(req, tx, 469, "Bad Info Package", sip.NewHeader("Recv-Info", ""))
		return
	}
	key, code := infoKey(req)
	switch code {
	case 415:
		s.respond(req, tx, 415, "Unsupported Media Type", sip.NewHeader("Accept", infoKeyTypes))
		return
	case 400:
		s.respond(req, tx, 400, "Bad Request")
		return
	}
	s.respond(req, tx, 200, "OK")
	deliver(key)
}

// keySink finds the call an in-dialog INFO belongs to, checks its CSeq with
// the dialog (RFC 3261 §12.2.2) and returns what takes a key for it. false
// when it answered req instead.
func (s *Server) keySink(req *sip.Request, tx sip.ServerTransaction) (func(byte), bool) {
	if c := s.lookupCall(req); c != nil && c.dlg != nil {
		if err := c.dlg.ReadRequest(req, tx); err != nil {
			s.respond(req, tx, 500, "Server Internal Error")
			return nil, false
		}
		return func(k byte) { c.post(keyPressed{k}) }, true
	}
	if c := s.dialoutOf(req); c != nil {
		if err := c.dlg.ReadRequest(req, tx); err != nil {
			s.respond(req, tx, 500, "Server Internal Error")
			return nil, false
		}
		return func(k byte) { c.post(keyPressed{k}) }, true
	}
	if c, fromCallee := s.extensionCallOf(req); c != nil {
		if err := c.readInDialog(req, tx, fromCallee); err != nil {
			s.respond(req, tx, 500, "Server Internal Error")
			return nil, false
		}
		// The other leg gets the key as RFC 4733 events (extension_media.go).
		return func(k byte) { c.relay.sendKey(!fromCallee, k) }, true
	}
	s.respondErr(req, tx, errNoDialog)
	return nil, false
}

// infoKey reads the key of an INFO body: the key and 0, or 415 for a body
// that is not one of infoKeyTypes and 400 for one without a readable key.
func infoKey(req *sip.Request) (byte, int) {
	ct := req.ContentType()
	if ct == nil || len(req.Body()) == 0 {
		return 0, 415
	}
	mediaType, _, _ := strings.Cut(ct.Value(), ";")
	body := strings.TrimSpace(string(req.Body()))
	var signal string
	switch strings.ToLower(strings.TrimSpace(mediaType)) {
	case "application/dtmf":
		signal = body
	case "application/dtmf-relay":
		for line := range strings.Lines(body) {
			name, value, found := strings.Cut(line, "=")
			if found && strings.EqualFold(strings.TrimSpace(name), "Signal") {
				signal = strings.TrimSpace(value)
				break
			}
		}
	default:
		return 0, 415
	}
	if key, ok := infoSignal(signal); ok {
		return key, 0
	}
	return 0, 400
}

// infoSignal maps a Signal value to a key: the key's character, or the
// RFC 4733 event number some gateways send instead (10 for *, 11 for #,
// 12-15 for A-D).
func infoSignal(s string) (byte, bool) {
	if len(s) == 1 && strings.Contains("0123456789*#ABCDabcd", s) {
		return strings.ToUpper(s)[0], true
	}
	switch s {
	case "10":
		return '*', true
	case "11":
		return '#', true
	case "12", "13", "14", "15":
		return "ABCD"[s[1]-'2'], true
	}
	return 0, false
}
