package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Digest authentication of REGISTER is sipgo's (DoDigestAuth, on
// github.com/icholy/digest). These tests hold it to RFC 7616 (SHA-256) and
// RFC 2617 (MD5) with qop=auth: a registrar on loopback challenges with each
// algorithm and checks the answer with digestResponse below, which is itself
// checked against the RFC's worked example.

// digestResponse is the request-digest of RFC 7616 §3.4.1 with qop=auth:
// H(H(A1):nonce:nc:cnonce:qop:H(A2)), A1 = user:realm:password,
// A2 = method:uri.
func digestResponse(newHash func() hash.Hash, user, realm, password, method, uri, nonce, nc, cnonce string) string {
	h := func(s string) string {
		x := newHash()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha1 := h(user + ":" + realm + ":" + password)
	ha2 := h(method + ":" + uri)
	return h(strings.Join([]string{ha1, nonce, nc, cnonce, "auth", ha2}, ":"))
}

// TestDigestResponseRFC7616 checks digestResponse against RFC 7616 §3.9.1.
func TestDigestResponseRFC7616(t *testing.T) {
	const (
		user, realm, password = "Mufasa", "http-auth@example.org", "Circle of Life"
		nonce                 = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
		cnonce                = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	)
	for _, tt := range []struct {
		name string
		h    func() hash.Hash
		want string
	}{
		{"MD5", md5.New, "8ca523f5e9506fed4657c9700eebdbec"},
		{"SHA-256", sha256.New, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		if got := digestResponse(tt.h, user, realm, password, "GET", "/dir/index.html", nonce, "00000001", cnonce); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

var digestParam = regexp.MustCompile(`([A-Za-z-]+)=(?:"([^"]*)"|([^,\s]*))`)

// parseDigest reads the parameters of an Authorization header value.
func parseDigest(v string) map[string]string {
	out := map[string]string{}
	for _, m := range digestParam.FindAllStringSubmatch(strings.TrimPrefix(v, "Digest "), -1) {
		out[strings.ToLower(m[1])] = m[2] + m[3]
	}
	return out
}

// digestRegistrar is a registrar on 127.0.0.1 that challenges every
// REGISTER with one algorithm and qop=auth, and accepts only a correct
// answer.
type digestRegistrar struct {
	addr      string
	algorithm string
	newHash   func() hash.Hash
	password  string

	mu       sync.Mutex
	verified int
	problems []string
}

func startDigestRegistrar(t *testing.T, algorithm string, newHash func() hash.Hash, password string) *digestRegistrar {
	t.Helper()
	r := &digestRegistrar{algorithm: algorithm, newHash: newHash, password: password}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	const realm, nonce = "carrier.test", "bm9uY2U"
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		auth := req.GetHeader("Authorization")
		if auth == nil {
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate",
				fmt.Sprintf(`Digest realm="%s", nonce="%s", qop="auth", algorithm=%s`, realm, nonce, algorithm)))
			_ = tx.Respond(res)
			return
		}
		p := parseDigest(auth.Value())
		want := digestResponse(r.newHash, p["username"], realm, r.password, "REGISTER", p["uri"], nonce, p["nc"], p["cnonce"])
		r.mu.Lock()
		ok := p["response"] == want && p["qop"] == "auth" && strings.EqualFold(p["algorithm"], algorithm) && p["realm"] == realm
		if ok {
			r.verified++
		} else {
			r.problems = append(r.problems, auth.Value())
		}
		r.mu.Unlock()
		if !ok {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 403, "Wrong Password", nil))
			return
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		if c := req.Contact(); c != nil {
			cc := c.Clone()
			cc.Params = sip.NewParams()
			cc.Params.Add("expires", "60")
			res.AppendHeader(cc)
		}
		_ = tx.Respond(res)
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = conn.LocalAddr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeUDP(conn)
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		_ = ua.Close()
		<-done
	})
	return r
}

// TestTrunkDigestAlgorithms registers a trunk at a registrar asking for
// MD5 and one asking for SHA-256 (RFC 7616), both with qop=auth, and at one
// that knows another password (403, the reason kept).
func TestTrunkDigestAlgorithms(t *testing.T) {
	for i, tt := range []struct {
		algorithm string
		h         func() hash.Hash
		password  string
		want      string
	}{
		{"MD5", md5.New, trunkPass, TrunkRegistered},
		{"SHA-256", sha256.New, trunkPass, TrunkRegistered},
		{"SHA-256", sha256.New, "another", TrunkFailing},
	} {
		t.Run(fmt.Sprintf("%s/%s", tt.algorithm, tt.want), func(t *testing.T) {
			reg := startDigestRegistrar(t, tt.algorithm, tt.h, tt.password)
			th := newTrunkHarness(t, trunkPlan(reg.addr, "udp", trunkPass), 33540+20*i)
			st := th.waitTrunk("carrier", waitTimeout, func(st TrunkState) bool { return st.State == tt.want })
			reg.mu.Lock()
			defer reg.mu.Unlock()
			if tt.want == TrunkRegistered {
				if reg.verified == 0 || len(reg.problems) > 0 {
					t.Errorf("verified %d, rejected %q", reg.verified, reg.problems)
				}
				if left := time.Until(st.RegisteredUntil); left <= 0 || left > 60*time.Second {
					t.Errorf("registered for %v more, want up to 60 s", left)
				}
			} else if st.LastStatus != 403 || st.LastReason != "Wrong Password" {
				t.Errorf("state %+v, want 403 Wrong Password", st)
			}
		})
	}
}
