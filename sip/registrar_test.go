package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"hash"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom/e2e"
	"github.com/emiago/sipgo/sip"
)

// rawUA is a SIP user agent on 127.0.0.2 (no trunk's source) that writes
// requests by hand, so tests control every header and see every byte of the
// answers.
type rawUA struct {
	t    *testing.T
	conn *net.UDPConn
	srv  *net.UDPAddr
	cseq int
}

func newRawUA(t *testing.T, h *harness) *rawUA { return newRawUAAt(t, h, "127.0.0.2") }

// newRawUAAt is newRawUA from another address (127.0.0.1 is the harness's
// trunk).
func newRawUAAt(t *testing.T, h *harness, ip string) *rawUA {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawUA{t: t, conn: conn, srv: net.UDPAddrFromAddrPort(h.srv.UDPAddrs()[0])}
}

func (u *rawUA) port() int { return u.conn.LocalAddr().(*net.UDPAddr).Port }

// register sends a REGISTER for user's address of record with the given
// Contact/Expires lines and Authorization (may be "") and returns the final
// response.
func (u *rawUA) register(user, callID, extra, authorization string) *sip.Response {
	u.t.Helper()
	u.cseq++
	target := u.srv.String()
	msg := fmt.Sprintf("REGISTER sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP 127.0.0.2:%d;branch=z9hG4bK-%s-%d\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:%s@%s>;tag=t%d\r\n"+
		"To: <sip:%s@%s>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: %d REGISTER\r\n"+
		"%s", target, u.port(), callID, u.cseq, user, target, u.port(), user, target, callID, u.cseq, extra)
	if authorization != "" {
		msg += "Authorization: " + authorization + "\r\n"
	}
	msg += "Content-Length: 0\r\n\r\n"
	return u.roundTrip(msg)
}

func (u *rawUA) roundTrip(msg string) *sip.Response {
	u.t.Helper()
	if _, err := u.conn.WriteToUDP([]byte(msg), u.srv); err != nil {
		u.t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for {
		_ = u.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			u.t.Fatalf("no answer: %v", err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			u.t.Fatalf("unparsable answer %q: %v", buf[:n], err)
		}
		if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 {
			return res
		}
	}
}

// digestAnswer computes the Authorization for res's challenge with algorithm.
func digestAnswer(t *testing.T, res *sip.Response, algorithm, user, password, method, uri string) string {
	t.Helper()
	var ch map[string]string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		p := parseDigest(h.Value())
		if strings.EqualFold(p["algorithm"], algorithm) {
			ch = p
		}
	}
	if ch == nil {
		t.Fatalf("no %s challenge in %v", algorithm, res)
	}
	newHash := map[string]func() hash.Hash{"MD5": md5.New, "SHA-256": sha256.New}[algorithm]
	resp := digestResponse(newHash, user, ch["realm"], password, method, uri, ch["nonce"], "00000001", "c0ffee")
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, qop=auth, nc=00000001, cnonce="c0ffee"`,
		user, ch["realm"], ch["nonce"], uri, resp, algorithm)
}

// TestRegistrarDigest: a softphone registers with digest auth in both
// algorithms, gets its binding back with the expiry, refreshes, removes it;
// a binding shorter than a minute is refused with 423 and Min-Expires.
func TestRegistrarDigest(t *testing.T) {
	h := newHarness(t, harnessOptions{portBase: 32000})
	u := newRawUA(t, h)
	uri := "sip:" + u.srv.String()
	contact := fmt.Sprintf("Contact: <sip:alice@127.0.0.2:%d>\r\nExpires: 300\r\n", u.port())

	res := u.register("alice", "reg-1", contact, "")
	if res.StatusCode != 401 {
		t.Fatalf("unauthenticated REGISTER: %d %s, want 401", res.StatusCode, res.Reason)
	}
	var algs []string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		algs = append(algs, parseDigest(h.Value())["algorithm"])
	}
	if strings.Join(algs, ",") != "SHA-256,MD5" {
		t.Errorf("challenges offer %v, want SHA-256 then MD5 as configured", algs)
	}
	for _, alg := range []string{"SHA-256", "MD5"} {
		res = u.register("alice", "reg-1", contact, digestAnswer(t, res, alg, "alice", alicePassword, "REGISTER", uri))
		if res.StatusCode != 200 {
			t.Fatalf("%s: REGISTER with the right password: %d %s", alg, res.StatusCode, res.Reason)
		}
		c := res.GetHeader("Contact")
		if c == nil || !strings.Contains(c.Value(), fmt.Sprintf("127.0.0.2:%d", u.port())) || !regexp.MustCompile(`expires=(29\d|300)`).MatchString(c.Value()) {
			t.Errorf("%s: 200 lists the binding as %v, want it with expires=300", alg, c)
		}
		res = u.register("alice", "reg-1", contact, "") // a fresh challenge for the next round
	}
	regs := h.srv.Registrations()
	if len(regs) != 1 || regs[0].User != "alice" || regs[0].Transport != "UDP" {
		t.Fatalf("Registrations() = %+v, want alice's one binding", regs)
	}

	short := fmt.Sprintf("Contact: <sip:alice@127.0.0.2:%d>;expires=10\r\n", u.port())
	res = u.register("alice", "reg-1", short, digestAnswer(t, res, "MD5", "alice", alicePassword, "REGISTER", uri))
	if res.StatusCode != 423 || res.GetHeader("Min-Expires") == nil || res.GetHeader("Min-Expires").Value() != "60" {
		t.Errorf("a 10 s binding: %d %s Min-Expires %v, want 423 with Min-Expires 60", res.StatusCode, res.Reason, res.GetHeader("Min-Expires"))
	}

	res = u.register("alice", "reg-1", contact, "")
	remove := "Contact: *\r\nExpires: 0\r\n"
	res = u.register("alice", "reg-1", remove, digestAnswer(t, res, "MD5", "alice", alicePassword, "REGISTER", uri))
	if res.StatusCode != 200 || res.GetHeader("Contact") != nil {
		t.Errorf("Contact: * with Expires: 0: %d %v, want 200 without bindings", res.StatusCode, res.GetHeader("Contact"))
	}
	if regs := h.srv.Registrations(); len(regs) != 0 {
		t.Errorf("after removal Registrations() = %+v", regs)
	}

	// Alice's credentials do not register Bob's address.
	res = u.register("alice", "reg-2", contact, "")
	forged := digestAnswer(t, res, "MD5", "alice", alicePassword, "REGISTER", uri)
	res = u.register("bob", "reg-2", contact, forged)
	if res.StatusCode != 403 {
		t.Errorf("alice registering bob's address: %d, want 403", res.StatusCode)
	}
}

// TestRegistrarFailuresIndistinguishable: an unknown user, a known user
// with a wrong password and an operator without softphone credentials get
// the same answer; a forged nonce too. After five failures the address is
// refused even with the right password, and each failure is logged in the
// form docs/phone.md gives for fail2ban.
func TestRegistrarFailuresIndistinguishable(t *testing.T) {
	logs := &syncBuffer{}
	h := newHarness(t, harnessOptions{portBase: 32020, logs: logs})
	u := newRawUA(t, h)
	uri := "sip:" + u.srv.String()
	contact := fmt.Sprintf("Contact: <sip:x@127.0.0.2:%d>\r\n", u.port())

	shape := func(res *sip.Response) string {
		var names []string
		for _, hd := range res.Headers() {
			names = append(names, hd.Name())
		}
		return fmt.Sprintf("%d %s %v", res.StatusCode, res.Reason, names)
	}
	var shapes []string
	for _, c := range []struct{ user, password string }{
		{"alice", "wrong"}, {"nobody", "wrong"}, {"carol", "anything"},
	} {
		res := u.register(c.user, "f-"+c.user, contact, "")
		res = u.register(c.user, "f-"+c.user, contact, digestAnswer(t, res, "MD5", c.user, c.password, "REGISTER", uri))
		if res.StatusCode != 403 {
			t.Errorf("%s with a wrong password: %d %s, want 403", c.user, res.StatusCode, res.Reason)
		}
		shapes = append(shapes, shape(res))
	}
	if shapes[0] != shapes[1] || shapes[1] != shapes[2] {
		t.Errorf("failures can be told apart:\n%s", strings.Join(shapes, "\n"))
	}
	forged := `Digest username="alice", realm="dialroom", nonce="00000000000000000000000000000000000000000000000", uri="` + uri + `", response="00", algorithm=MD5`
	if res := u.register("alice", "f-forged", contact, forged); res.StatusCode != 403 {
		t.Errorf("a forged nonce: %d, want 403", res.StatusCode)
	}
	// Five failures so far from 127.0.0.2 (three above, two here).
	res := u.register("alice", "f-5", contact, "")
	_ = u.register("alice", "f-5", contact, digestAnswer(t, res, "MD5", "alice", "wrong again", "REGISTER", uri))
	res = u.register("alice", "f-6", contact, "")
	if res.StatusCode != 403 {
		t.Fatalf("a throttled address asking anew: %d, want 403 without a challenge", res.StatusCode)
	}
	if got := logs.String(); !regexp.MustCompile(`level=WARN msg="sip: authentication failed" component=sip source=127\.0\.0\.2 user=nobody method=REGISTER`).MatchString(got) {
		t.Errorf("no fail2ban-matchable line in the log:\n%s", got)
	}
	if len(h.srv.Registrations()) != 0 {
		t.Error("a failed REGISTER left a binding")
	}
}

// syncBuffer is a buffer safe for the server's goroutines to write.
type syncBuffer = e2e.SyncBuffer
