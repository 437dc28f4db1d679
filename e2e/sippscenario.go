package e2e

import "fmt"

// SIPp scenarios, generated per test: the SIPp side of each call. A caller
// numbered 09012345678 offers PCMU and telephone-event; [rtpport] is the
// media port the test's own RTP socket listens on (pass it with SIPpRun.Keys).

// SIPpUAC is a SIPp caller: INVITE with a PCMU+telephone-event offer
// whose media port is [rtpport], then body (what happens after the INVITE).
func SIPpUAC(body string) string { return SIPpUACWith("", body) }

// SIPpUACWith is SIPpUAC with extra INVITE header lines.
func SIPpUACWith(extra, body string) string {
	return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="dialroom uac">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Guest" <sip:09012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:09012345678@[local_ip]:[local_port]>
      Max-Forwards: 70` + extra + `
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=guest 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpport] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
` + body + `
</scenario>
`
}

// SIPpAnsweredThen: answered, ACK, then rest.
func SIPpAnsweredThen(rest string) string {
	return `
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Guest" <sip:09012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:09012345678@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
` + rest
}

// SIPpByeAfter hangs up from the caller's side after ms milliseconds.
func SIPpByeAfter(ms int) string { return SIPpByeAfterCSeq(ms, 2) }

// SIPpByeAfterCSeq is SIPpByeAfter with the BYE's CSeq number.
func SIPpByeAfterCSeq(ms, cseq int) string {
	return fmt.Sprintf(`
  <pause milliseconds="%d"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Guest" <sip:09012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: %d BYE
      Contact: <sip:09012345678@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
`, ms, cseq)
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
  <recv response="%d"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-4]
      From: "Guest" <sip:09012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
`, status)
}

// SIPpCancelAfterRinging sends CANCEL on 180 and expects 200 and 487.
const SIPpCancelAfterRinging = `
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <send>
    <![CDATA[
      CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-3]
      From: "Guest" <sip:09012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
  <recv response="487"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-6]
      From: "Guest" <sip:09012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
`

// SIPpReinvite puts the call on hold (direction sendonly) or resumes it
// (sendrecv) with a re-INVITE (RFC 3264 §8.4), cseq its CSeq number, and
// pauses ms milliseconds afterwards.
func SIPpReinvite(direction string, cseq, ms int) string {
	return fmt.Sprintf(`
  <send retrans="500">
    <![CDATA[
      INVITE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Guest" <sip:09012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: %[2]d INVITE
      Contact: <sip:09012345678@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=guest 1 %[2]d IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [rtpport] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=%[1]s
    ]]>
  </send>
  <recv response="200"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Guest" <sip:09012345678@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: %[2]d ACK
      Contact: <sip:09012345678@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="%[3]d"/>
`, direction, cseq, ms)
}
