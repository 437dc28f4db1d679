package sip

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// Digest authentication of operators' softphones as a UAS (RFC 3261 §22,
// with RFC 7616's algorithms as RFC 8760 brings them to SIP): REGISTER and
// INVITE from an address that is no trunk's must carry valid credentials.
//
// What a guesser learns is kept to nothing: an unknown user and a known user
// with a wrong password get the same 403 after the same work (a made-up HA1
// is checked for unknown users), and an address that failed too often is
// answered 403 without any check until its failures age out. Every failure
// is logged as one line fail2ban can match (docs/phone.md):
//
//	level=WARN msg="sip: authentication failed" source=203.0.113.9 user=alice method=REGISTER reason=...

// HA1 computes the digest HA1 of RFC 7616 §3.4.2, H(username:realm:password),
// in lower-case hex, with MD5 for "MD5" and SHA-256 for "SHA-256".
func HA1(algorithm, username, realm, password string) string {
	h := digestHash(algorithm)
	if h == nil {
		return ""
	}
	return hashHex(h, username+":"+realm+":"+password)
}

// NewSIPCredentials returns what is stored for an operator's softphone
// password: the HA1 values for both algorithms in realm.
func NewSIPCredentials(username, realm, password string) dialroom.SIPCredentials {
	return dialroom.SIPCredentials{Realm: realm,
		HA1MD5: HA1("MD5", username, realm, password), HA1SHA256: HA1("SHA-256", username, realm, password)}
}

// DefaultDigestAlgorithms are the algorithms our challenges offer when the
// config names none: MD5 alone. Why not SHA-256 too: softphones built on
// libre (baresip 1.0) give up on the whole challenge when any
// WWW-Authenticate names an algorithm they lack, instead of skipping it
// (seen in TestSoftphoneOperator), and Asterisk offers MD5 alone by default
// for the same reason. Both HA1s are stored, so an admin whose softphones
// all know SHA-256 can offer it (sip.digest_algorithms) without anyone
// setting their password again.
func DefaultDigestAlgorithms() []string { return []string{"MD5"} }

// DefaultRealm is the digest realm when the config names none. Changing the
// realm invalidates every stored HA1 (the realm is part of the hash), so it
// is set once per installation.
const DefaultRealm = "dialroom"

// nonceLifetime is how long a nonce we issued is accepted; an older one is
// answered with a fresh challenge marked stale (RFC 7616 §3.3), which a UA
// answers without asking its user again. Five minutes covers a REGISTER
// refresh cycle's retransmissions and a slow user at a softphone's prompt.
const nonceLifetime = 5 * time.Minute

// authenticator checks digest credentials. Nonces are stateless: the time
// they were made and an HMAC of it under a key that lives as long as the
// server, so a restart only makes UAs answer one fresh challenge. Safe for
// concurrent use.
type authenticator struct {
	realm      string
	algorithms []string // offered in challenges, in order
	key        [32]byte
	lookup     func(ctx context.Context, user string) (dialroom.SIPCredentials, error)
	limiter    *dialroom.Limiter
	now        func() time.Time
	log        *slog.Logger
	// failures counts failed and throttled attempts, for /metrics.
	failures atomic.Uint64
	// decoy is checked for users that do not exist, so that they cost the
	// same as a wrong password (RFC 3261 §26.3.2.4's enumeration concern).
	decoy dialroom.SIPCredentials
}

func newAuthenticator(realm string, algorithms []string, lookup func(context.Context, string) (dialroom.SIPCredentials, error), limiter *dialroom.Limiter, now func() time.Time, log *slog.Logger) *authenticator {
	a := &authenticator{realm: realm, algorithms: algorithms, lookup: lookup, limiter: limiter, now: now, log: log}
	_, _ = rand.Read(a.key[:])
	var junk [16]byte
	_, _ = rand.Read(junk[:])
	a.decoy = NewSIPCredentials("decoy", realm, hex.EncodeToString(junk[:]))
	return a
}

// authResult is what checking a request's credentials concluded.
type authResult int

const (
	authOK        authResult = iota
	authChallenge            // no credentials for us: 401 with a challenge
	authStale                // a good response to an expired nonce: 401, stale=true
	authFailed               // wrong user, password, realm or a forged nonce: 403
	authThrottled            // the source failed too often lately: 403, not checked
)

// authenticate checks the request's Authorization header (RFC 3261 §22.2)
// and returns the authenticated user on authOK.
func (a *authenticator) authenticate(ctx context.Context, req *sip.Request) (string, authResult) {
	source := sourceIP(req)
	if err := a.limiter.Check(source, "throttled"); err != nil {
		a.failures.Add(1)
		a.log.Warn("sip: authentication throttled", "source", source, "method", string(req.Method))
		return "", authThrottled
	}
	creds := a.credentials(req)
	if creds == nil {
		return "", authChallenge
	}
	fail := func(reason string) (string, authResult) {
		a.limiter.Fail(source)
		a.failures.Add(1)
		// The fail2ban line: keep "sip: authentication failed" and source=.
		a.log.Warn("sip: authentication failed", "source", source, "user", creds.Username, "method", string(req.Method), "reason", reason)
		return "", authFailed
	}
	stored, err := a.lookup(ctx, creds.Username)
	known := err == nil && stored.Set() && stored.Realm == a.realm
	if !known {
		stored = a.decoy
	}
	ha1 := stored.HA1MD5
	alg := digestAlgorithm(creds.Algorithm)
	if alg == "SHA-256" {
		ha1 = stored.HA1SHA256
	}
	if !slices.Contains(a.algorithms, alg) {
		ha1 = "" // an algorithm we did not offer: no response matches
	}
	want := expectedResponse(creds, ha1, string(req.Method))
	match := want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(creds.Response))) == 1
	fresh, genuine := a.checkNonce(creds.Nonce)
	switch {
	case !genuine:
		return fail("nonce not issued by us")
	case !known || !match:
		return fail("wrong user or password")
	case !fresh:
		return "", authStale
	}
	a.limiter.Reset(source)
	return creds.Username, authOK
}

// credentials returns the request's digest credentials for our realm, or
// nil when it carries none (RFC 3261 §22.4: a UA answers our challenge with
// Authorization; credentials for another realm are not for us).
func (a *authenticator) credentials(req *sip.Request) *digest.Credentials {
	for _, h := range req.GetHeaders("Authorization") {
		c, err := digest.ParseCredentials(h.Value())
		if err != nil || c.Realm != a.realm || c.Username == "" {
			continue
		}
		return c
	}
	return nil
}

// challenge returns the WWW-Authenticate headers of a 401 (RFC 3261
// §22.1): one per configured algorithm in order of preference, qop=auth
// (RFC 8760 §2.4 would put SHA-256 first, but see DefaultDigestAlgorithms).
func (a *authenticator) challenge(stale bool) []sip.Header {
	nonce := a.newNonce()
	var hdrs []sip.Header
	for _, alg := range a.algorithms {
		v := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=%s, qop="auth"`, a.realm, nonce, alg)
		if stale {
			v += ", stale=true"
		}
		hdrs = append(hdrs, sip.NewHeader("WWW-Authenticate", v))
	}
	return hdrs
}

// newNonce is the time in Unix seconds and a MAC of it, both hex.
func (a *authenticator) newNonce() string {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(a.now().Unix()))
	return hex.EncodeToString(ts[:]) + hex.EncodeToString(a.mac(ts[:]))
}

// checkNonce reports whether nonce is one of ours (genuine) and younger than
// nonceLifetime (fresh).
func (a *authenticator) checkNonce(nonce string) (fresh, genuine bool) {
	b, err := hex.DecodeString(nonce)
	if err != nil || len(b) != 8+16 {
		return false, false
	}
	if !hmac.Equal(b[8:], a.mac(b[:8])) {
		return false, false
	}
	made := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	age := a.now().Sub(made)
	return age >= -time.Minute && age <= nonceLifetime, true
}

func (a *authenticator) mac(b []byte) []byte {
	m := hmac.New(sha256.New, a.key[:])
	m.Write(b)
	return m.Sum(nil)[:16]
}

// expectedResponse computes the expected response (RFC 7616 §3.4.1) from the
// stored HA1: H(HA1:nonce:nc:cnonce:qop:HA2) with qop=auth, or
// H(HA1:nonce:HA2) for RFC 2069 clients that send no qop. HA2 is
// H(method:digest-uri). "" when the algorithm or qop is one we do not do.
func expectedResponse(c *digest.Credentials, ha1, method string) string {
	h := digestHash(digestAlgorithm(c.Algorithm))
	if h == nil || ha1 == "" {
		return ""
	}
	ha2 := hashHex(h, method+":"+c.URI)
	switch strings.ToLower(c.QOP) {
	case "":
		return hashHex(h, ha1+":"+c.Nonce+":"+ha2)
	case "auth":
		return hashHex(h, fmt.Sprintf("%s:%s:%08x:%s:auth:%s", ha1, c.Nonce, c.Nc, c.Cnonce, ha2))
	}
	return ""
}

// digestAlgorithm names the algorithm of credentials; absent means MD5
// (RFC 7616 §3.3). "-sess" variants are not offered, so not accepted.
func digestAlgorithm(alg string) string {
	switch strings.ToUpper(alg) {
	case "", "MD5":
		return "MD5"
	case "SHA-256":
		return "SHA-256"
	}
	return alg
}

func digestHash(algorithm string) func() hash.Hash {
	switch algorithm {
	case "MD5":
		return md5.New
	case "SHA-256":
		return sha256.New
	}
	return nil
}

func hashHex(h func() hash.Hash, s string) string {
	d := h()
	d.Write([]byte(s))
	return hex.EncodeToString(d.Sum(nil))
}

// sourceIP is the address a request came from, without the port: the key
// of the failure throttle (a guesser changes ports freely).
func sourceIP(req *sip.Request) string {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return req.Source()
	}
	return ap.Addr().Unmap().String()
}
