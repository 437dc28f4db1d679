package e2e

import "fmt"

// SIPp scenarios, generated per test: the SIPp side of each call. A caller
// numbered 09012345678 offers PCMU and telephone-event; [rtpport] is the
// media port the test's own RTP socket listens on (pass it with SIPpRun.Keys).

// The guest's identity in every request of its dialog.
const (
	sippFrom    = `From: "Guest" <sip:09012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]`
	sippContact = `Contact: <sip:09012345678@[local_ip]:[local_port]>`
	sippToNew   = `To: <sip:[service]@[remote_ip]:[remote_port]>` // outside the dialog
	sippToLast  = `[last_To:]`                                    // with the callee's tag
	sippRURI    = `sip:[service]@[remote_ip]:[remote_port]`
)

// sippOffer is the guest's SDP: PCMU and telephone-event on [rtpport];
// version is the o= line's session version, direction its a= attribute lines.
func sippOffer(version, attrs string) string {
	return `v=0
      o=guest 1 ` + version + ` IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpport] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      ` + attrs
}

// sippRequest is one request the guest sends, as a SIPp <send> element.
type sippRequest struct {
	line    string // request line, e.g. "ACK [next_url] SIP/2.0"
	branch  string // Via branch keyword: "[branch]" (new transaction) or "[branch-N]" (the INVITE's)
	to      string // sippToNew or sippToLast
	cseq    string // e.g. "1 ACK"
	dialog  bool   // in the dialog: the route set and our Contact (RFC 3261 §12.2.1.1)
	contact bool   // our Contact outside the dialog (the initial INVITE)
	extra   string // extra header lines, each starting with "\n      "
	sdp     string // body; empty means none
	retrans bool   // retransmit until answered (UDP)
	// ctype and body are a body of another type than SDP (sdp empty).
	ctype, body string
}

func (r sippRequest) String() string {
	send := "<send>"
	if r.retrans {
		send = `<send retrans="500">`
	}
	h := "\n      " + r.line +
		"\n      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=" + r.branch +
		"\n      " + sippFrom +
		"\n      " + r.to
	if r.dialog {
		h += "\n      [routes]"
	}
	h += "\n      Call-ID: [call_id]\n      CSeq: " + r.cseq
	if r.dialog || r.contact {
		h += "\n      " + sippContact
	}
	h += "\n      Max-Forwards: 70" + r.extra
	switch {
	case r.sdp != "":
		h += "\n      Content-Type: application/sdp\n      Content-Length: [len]\n\n      " + r.sdp
	case r.body != "":
		h += "\n      Content-Type: " + r.ctype + "\n      Content-Length: [len]\n\n      " + r.body
	default:
		h += "\n      Content-Length: 0"
	}
	return "\n  " + send + "\n    <![CDATA[" + h + "\n    ]]>\n  </send>\n"
}

// SIPpUAC is a SIPp caller: INVITE with a PCMU+telephone-event offer
// whose media port is [rtpport], then body (what happens after the INVITE).
func SIPpUAC(body string) string { return SIPpUACWith("", body) }

// SIPpUACWith is SIPpUAC with extra INVITE header lines.
func SIPpUACWith(extra, body string) string {
	return sippUAC(extra, sippOffer("1", "a=fmtp:101 0-15\n      a=ptime:20\n      a=sendrecv"), body)
}

// SIPpUACWithoutEvents is SIPpUAC offering PCMU alone, no telephone-event:
// a caller whose keys can only come in-band (or as SIP INFO).
func SIPpUACWithoutEvents(body string) string {
	return sippUAC("", `v=0
      o=guest 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpport] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=ptime:20
      a=sendrecv`, body)
}

func sippUAC(extra, offer, body string) string {
	invite := sippRequest{line: "INVITE " + sippRURI + " SIP/2.0", branch: "[branch]", to: sippToNew,
		cseq: "1 INVITE", contact: true, extra: extra, retrans: true, sdp: offer}
	return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="dialroom uac">` + invite.String() + body + `
</scenario>
`
}

// SIPpInfoKeys sends keys as SIP INFO requests in the dialog, one per key
// (application/dtmf-relay, as phones set to "SIP INFO DTMF" send them),
// each answered 200, gapMS apart; the first has CSeq firstCSeq.
func SIPpInfoKeys(keys string, firstCSeq, gapMS int) string {
	var out string
	for i := range len(keys) {
		out += SIPpInfo(firstCSeq+i, "application/dtmf-relay", fmt.Sprintf("Signal=%c\n      Duration=160", keys[i]), "", 200) +
			fmt.Sprintf("  <pause milliseconds=\"%d\"/>\n", gapMS)
	}
	return out
}

// SIPpInfo sends one INFO in the dialog with body of type ctype and extra
// header lines (each "\n      Name: value"), and expects status.
func SIPpInfo(cseq int, ctype, body, extra string, status int) string {
	info := sippRequest{line: "INFO [next_url] SIP/2.0", branch: "[branch]", to: sippToLast,
		cseq: fmt.Sprintf("%d INFO", cseq), dialog: true, retrans: true, ctype: ctype, body: body, extra: extra}
	return info.String() + fmt.Sprintf("  <recv response=\"%d\"/>\n", status)
}

// sippAck acknowledges a 2xx in the dialog (a new transaction, RFC 3261 §13.2.2.4).
func sippAck(cseq int) string {
	return sippRequest{line: "ACK [next_url] SIP/2.0", branch: "[branch]", to: sippToLast,
		cseq: fmt.Sprintf("%d ACK", cseq), dialog: true}.String()
}

// sippAckFailure acknowledges a non-2xx final answer in the INVITE's own
// transaction (RFC 3261 §17.1.1.3), whose branch is the n-th keyword back.
func sippAckFailure(branch string) string {
	return sippRequest{line: "ACK " + sippRURI + " SIP/2.0", branch: branch, to: sippToLast, cseq: "1 ACK"}.String()
}

// SIPpAnsweredThen: answered, ACK, then rest.
func SIPpAnsweredThen(rest string) string {
	return `
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>` + sippAck(1) + rest
}

// SIPpByeAfter hangs up from the caller's side after ms milliseconds.
func SIPpByeAfter(ms int) string { return SIPpByeAfterCSeq(ms, 2) }

// SIPpByeAfterCSeq is SIPpByeAfter with the BYE's CSeq number.
func SIPpByeAfterCSeq(ms, cseq int) string {
	bye := sippRequest{line: "BYE [next_url] SIP/2.0", branch: "[branch]", to: sippToLast,
		cseq: fmt.Sprintf("%d BYE", cseq), dialog: true, retrans: true}
	return fmt.Sprintf(`
  <pause milliseconds="%d"/>`, ms) + bye.String() + `  <recv response="200"/>
`
}

// SIPpByeFromServer waits for our BYE and answers it.
const SIPpByeFromServer = `
  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
`

// SIPpRejectedWith expects a final status and ACKs it (RFC 3261 §17.1.1.3).
func SIPpRejectedWith(status int) string {
	return fmt.Sprintf(`
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="%d"/>`, status) + sippAckFailure("[branch-4]")
}

// SIPpCancelAfterRinging sends CANCEL on 180 and expects 200 and 487.
func SIPpCancelAfterRinging() string {
	cancel := sippRequest{line: "CANCEL " + sippRURI + " SIP/2.0", branch: "[branch-3]", to: sippToNew, cseq: "1 CANCEL"}
	return `
  <recv response="100" optional="true"/>
  <recv response="180"/>` + cancel.String() + `  <recv response="200"/>
  <recv response="487"/>` + sippAckFailure("[branch-6]")
}

// SIPpReinvite puts the call on hold (direction sendonly) or resumes it
// (sendrecv) with a re-INVITE (RFC 3264 §8.4), cseq its CSeq number, and
// pauses ms milliseconds afterwards.
func SIPpReinvite(direction string, cseq, ms int) string {
	invite := sippRequest{line: "INVITE [next_url] SIP/2.0", branch: "[branch]", to: sippToLast,
		cseq: fmt.Sprintf("%d INVITE", cseq), dialog: true, retrans: true,
		sdp: sippOffer(fmt.Sprint(cseq), "a="+direction)}
	return invite.String() + `  <recv response="200"/>` + sippAck(cseq) + fmt.Sprintf(`  <pause milliseconds="%d"/>
`, ms)
}

// SIPpReliableRefusal expects the announcement before a refusal as a
// reliable 183 (RFC 3262: Require: 100rel and an RSeq), acknowledges it
// with a PRACK (RAck: the RSeq, the INVITE's CSeq; Supported repeats the
// option tag found in the 183's Require), expects the PRACK's
// 200, then the final status, and ACKs it. Use with SIPpUACWith and a
// Supported or Require: 100rel line. A retransmitted 183 makes SIPp resend
// its PRACK (its own retransmission detection).
func SIPpReliableRefusal(status int) string {
	prack := sippRequest{line: "PRACK [next_url] SIP/2.0", branch: "[branch]", to: sippToLast,
		cseq: "2 PRACK", dialog: true, retrans: true, extra: "\n      RAck: [$rseq] 1 INVITE\n      Supported: [$required]"}
	return `
  <recv response="100" optional="true"/>
  <recv response="183" rrs="true">
    <action>
      <ereg regexp="[0-9]+" search_in="hdr" header="RSeq:" check_it="true" assign_to="rseq"/>
      <ereg regexp="100rel" search_in="hdr" header="Require:" check_it="true" assign_to="required"/>
    </action>
  </recv>` + prack.String() + fmt.Sprintf(`  <recv response="200"/>
  <recv response="%d"/>`, status) + sippAckFailure("[branch-6]")
}
