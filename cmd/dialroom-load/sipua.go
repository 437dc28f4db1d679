package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sipUA is the signalling side of every simulated phone: a carrier trunk
// calling dialroom over UDP from one socket, the way a carrier's SBC sends
// many calls from one address. It is a user agent client only as far as the
// load needs (RFC 3261): INVITE with an SDP offer, ACK for the final
// response, BYE, and a 200 for a BYE from the server. One reader goroutine
// matches responses to calls by Call-ID; each transaction's sender
// retransmits on its own schedule (§17.1.1.2: T1 doubling, stopped by any
// response for INVITE).
type sipUA struct {
	conn   *net.UDPConn
	local  netip.AddrPort
	server netip.AddrPort
	pt     string // the offer's audio payload type: PCMU (0) or G.722 (9)
	rtpmap string // its rtpmap value

	mu    sync.Mutex
	calls map[string]*sipCall // by Call-ID

	done chan struct{}
}

// sipT1 is RFC 3261's round-trip estimate; retransmissions start there.
const sipT1 = 500 * time.Millisecond

// sipTimeout bounds a transaction (64·T1 in the RFC; the load gives up sooner).
const sipTimeout = 16 * time.Second

// sipCall is one call's dialog as the UA knows it. Fields other than the
// channels are written by the reader before it closes the matching channel.
type sipCall struct {
	callID, fromTag, from, number string
	rtpPort                       int

	toTag   string         // from the 200
	contact string         // the server's Contact: where in-dialog requests go
	media   netip.AddrPort // the server's RTP address from the answer
	status  int            // final status of the INVITE

	provisional chan struct{} // closed on the first 1xx
	final       chan struct{} // closed on the final response to INVITE
	provOnce    sync.Once
	finalOnce   sync.Once
	byeOK       chan struct{} // closed on the 200 to our BYE
	byeOnce     sync.Once
	hungUp      chan struct{} // closed when the server sent BYE
	hangOnce    sync.Once
	inviteVia   string // branch of the INVITE (a non-2xx ACK reuses it)
	answeredAck []byte // the ACK sent for the 200, resent when the 200 is
}

// newSIPUA opens the signalling socket on loopback and starts its reader.
func newSIPUA(server netip.AddrPort, wire string) (*sipUA, error) {
	if !server.Addr().IsLoopback() {
		return nil, fmt.Errorf("SIP server %s: %w", server, errNotLoopback)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(4 << 20)
	u := &sipUA{conn: conn, local: conn.LocalAddr().(*net.UDPAddr).AddrPort(), server: server,
		pt: "0", rtpmap: "0 PCMU/8000", calls: map[string]*sipCall{}, done: make(chan struct{})}
	if wire == "g722" {
		u.pt, u.rtpmap = "9", "9 G722/8000"
	}
	go u.read()
	return u, nil
}

// Close stops the reader.
func (u *sipUA) Close() {
	_ = u.conn.Close()
	<-u.done
}

// newSIPCall prepares a call from caller to number with RTP at rtpPort.
func (u *sipUA) newSIPCall(caller, number string, rtpPort int) *sipCall {
	return &sipCall{callID: randomToken() + "@load", fromTag: randomToken(), from: caller, number: number,
		rtpPort: rtpPort, provisional: make(chan struct{}), final: make(chan struct{}),
		byeOK: make(chan struct{}), hungUp: make(chan struct{})}
}

// invite sends the INVITE and waits for its final response; on 200 it sends
// the ACK and returns nil with c.media set.
func (u *sipUA) invite(ctx context.Context, c *sipCall) error {
	u.mu.Lock()
	u.calls[c.callID] = c
	u.mu.Unlock()
	c.inviteVia = "z9hG4bK" + randomToken()
	sdp := fmt.Sprintf("v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %s 101\r\na=rtpmap:%s\r\na=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n", c.rtpPort, c.rtpPort, u.pt, u.rtpmap)
	msg := u.request("INVITE", "sip:"+c.number+"@"+u.server.String(), c, c.inviteVia, 1, "",
		"Contact: <sip:"+c.from+"@"+u.local.String()+">\r\nContent-Type: application/sdp\r\n", sdp)
	if err := u.retransmit(ctx, msg, c.provisional, c.final); err != nil {
		return fmt.Errorf("INVITE: %w", err)
	}
	if c.status != 200 {
		return fmt.Errorf("INVITE answered %d", c.status)
	}
	if !c.media.IsValid() {
		return errors.New("200 without a usable SDP answer")
	}
	return nil
}

// bye ends an answered call and waits for the 200 (or gives up after a few
// retransmissions: the call is over either way).
func (u *sipUA) bye(ctx context.Context, c *sipCall) error {
	select {
	case <-c.hungUp:
		return nil // the server ended it
	default:
	}
	msg := u.request("BYE", c.contact, c, "z9hG4bK"+randomToken(), 2, c.toTag, "", "")
	err := u.retransmit(ctx, msg, nil, c.byeOK)
	u.mu.Lock()
	delete(u.calls, c.callID)
	u.mu.Unlock()
	return err
}

// forget drops a call that never got answered.
func (u *sipUA) forget(c *sipCall) {
	u.mu.Lock()
	delete(u.calls, c.callID)
	u.mu.Unlock()
}

// retransmit sends msg until done closes: every T1 doubling up to 4 s, until
// stop (if not nil) closes, then only waits; it fails after sipTimeout.
func (u *sipUA) retransmit(ctx context.Context, msg []byte, stop, done <-chan struct{}) error {
	deadline := time.NewTimer(sipTimeout)
	defer deadline.Stop()
	interval := sipT1
	t := time.NewTimer(interval)
	defer t.Stop()
	if _, err := u.conn.WriteToUDPAddrPort(msg, u.server); err != nil {
		return err
	}
	for {
		select {
		case <-done:
			return nil
		case <-stop:
			stop = nil
			t.Stop()
		case <-t.C:
			_, _ = u.conn.WriteToUDPAddrPort(msg, u.server)
			interval = min(2*interval, 4*time.Second)
			t.Reset(interval)
		case <-deadline.C:
			return fmt.Errorf("no answer within %v", sipTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// request formats a request of the call's dialog.
func (u *sipUA) request(method, uri string, c *sipCall, branch string, cseq int, toTag, extra, body string) []byte {
	to := "<sip:" + c.number + "@" + u.server.Addr().String() + ">"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:%s@127.0.0.1>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"+
		"User-Agent: dialroom-load\r\n%sContent-Length: %d\r\n\r\n%s",
		method, uri, u.local, branch, c.from, c.fromTag, to, c.callID, cseq, method, extra, len(body), body)
	return []byte(b.String())
}

// read is the reader goroutine: responses to our requests, and BYE (or
// anything else) from the server.
func (u *sipUA) read() {
	defer close(u.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := u.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		m, ok := parseSIP(buf[:n])
		if !ok {
			continue
		}
		if m.status > 0 {
			u.onResponse(m)
		} else {
			u.onRequest(m, from)
		}
	}
}

func (u *sipUA) lookup(callID string) *sipCall {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[callID]
}

func (u *sipUA) onResponse(m sipMessage) {
	c := u.lookup(m.header("call-id"))
	if c == nil {
		return
	}
	seq, method := m.cseq()
	switch {
	case method == "BYE" && m.status >= 200:
		c.byeOnce.Do(func() { close(c.byeOK) })
	case method == "INVITE" && m.status < 200:
		c.provOnce.Do(func() { close(c.provisional) })
	case method == "INVITE" && m.status < 300:
		first := false
		c.finalOnce.Do(func() {
			first = true
			c.status = m.status
			c.toTag = tagOf(m.header("to"))
			c.contact = uriOf(m.header("contact"))
			if c.contact == "" {
				c.contact = "sip:" + c.number + "@" + u.server.String()
			}
			c.media = sdpMedia(m.body)
			// RFC 3261 §13.2.2.4: the ACK of a 2xx is its own transaction.
			c.answeredAck = u.request("ACK", c.contact, c, "z9hG4bK"+randomToken(), seq, c.toTag, "", "")
		})
		if !first && c.answeredAck == nil {
			return
		}
		_, _ = u.conn.WriteToUDPAddrPort(c.answeredAck, u.server)
		if first {
			close(c.final)
		}
	case method == "INVITE":
		// §17.1.1.3: a non-2xx final response is ACKed in its transaction.
		_, _ = u.conn.WriteToUDPAddrPort(u.request("ACK", "sip:"+c.number+"@"+u.server.String(), c, c.inviteVia,
			seq, tagOf(m.header("to")), "", ""), u.server)
		c.finalOnce.Do(func() {
			c.status = m.status
			close(c.final)
		})
	}
}

// onRequest answers a request from the server: 200 to BYE (the call is
// over), 200 to OPTIONS, 405 to anything else; ACKs are absorbed.
func (u *sipUA) onRequest(m sipMessage, from netip.AddrPort) {
	if m.method == "ACK" {
		return
	}
	status := "405 Method Not Allowed"
	switch m.method {
	case "BYE":
		status = "200 OK"
		if c := u.lookup(m.header("call-id")); c != nil {
			c.hangOnce.Do(func() { close(c.hungUp) })
		}
	case "OPTIONS":
		status = "200 OK"
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 " + status + "\r\n")
	for _, h := range []string{"via", "from", "to", "call-id", "cseq"} {
		for _, v := range m.headers[h] {
			b.WriteString(canonicalHeader(h) + ": " + v + "\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	_, _ = u.conn.WriteToUDPAddrPort([]byte(b.String()), from)
}

// sipMessage is a parsed SIP message: a request (method set) or a response
// (status set), headers by lower-case full name.
type sipMessage struct {
	method  string
	status  int
	headers map[string][]string
	body    string
}

// compactHeaders maps RFC 3261 §7.3.3 compact forms to full names.
func compactHeader(name string) string {
	switch name {
	case "i":
		return "call-id"
	case "f":
		return "from"
	case "t":
		return "to"
	case "m":
		return "contact"
	case "v":
		return "via"
	case "l":
		return "content-length"
	case "c":
		return "content-type"
	}
	return name
}

func canonicalHeader(name string) string {
	switch name {
	case "call-id":
		return "Call-ID"
	case "cseq":
		return "CSeq"
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// parseSIP parses a datagram; ok is false for anything that is not SIP.
func parseSIP(b []byte) (sipMessage, bool) {
	head, body, _ := strings.Cut(string(b), "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	m := sipMessage{headers: map[string][]string{}, body: body}
	first := strings.Fields(lines[0])
	if len(first) < 2 {
		return m, false
	}
	if first[0] == "SIP/2.0" {
		st, err := strconv.Atoi(first[1])
		if err != nil || st < 100 || st > 699 {
			return m, false
		}
		m.status = st
	} else {
		m.method = first[0]
	}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		name = compactHeader(strings.ToLower(strings.TrimSpace(name)))
		m.headers[name] = append(m.headers[name], strings.TrimSpace(value))
	}
	return m, true
}

func (m sipMessage) header(name string) string {
	if v := m.headers[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// cseq returns the CSeq number and method.
func (m sipMessage) cseq() (int, string) {
	f := strings.Fields(m.header("cseq"))
	if len(f) != 2 {
		return 0, ""
	}
	n, _ := strconv.Atoi(f[0])
	return n, f[1]
}

// tagOf returns the tag parameter of a From or To value.
func tagOf(v string) string {
	for _, p := range strings.Split(v, ";")[1:] {
		if t, ok := strings.CutPrefix(strings.TrimSpace(p), "tag="); ok {
			return t
		}
	}
	return ""
}

// uriOf returns the URI inside <…> of a Contact value, or the value up to
// its parameters.
func uriOf(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return v[i+1 : i+j]
		}
	}
	v, _, _ = strings.Cut(v, ";")
	return strings.TrimSpace(v)
}

// sdpMedia returns the audio address of an SDP answer (c= and m=audio).
func sdpMedia(sdp string) netip.AddrPort {
	var addr netip.Addr
	var port int
	for l := range strings.Lines(sdp) {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, "c=IN IP4 "); ok && !addr.IsValid() {
			addr, _ = netip.ParseAddr(strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(l, "m=audio "); ok {
			port, _ = strconv.Atoi(strings.Fields(v)[0])
		}
	}
	if !addr.IsValid() || !addr.IsLoopback() || port <= 0 || port > 65535 {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(addr, uint16(port))
}

// randomToken returns 16 random hex digits for tags, branches and Call-IDs.
func randomToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
