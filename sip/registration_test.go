package sip

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

func TestRetryDelay(t *testing.T) {
	cfg := RegistrationConfig{}.withDefaults()
	tests := []struct {
		name       string
		failures   int
		retryAfter time.Duration
		jitter     float64
		want       time.Duration
	}{
		{"first failure", 1, 0, 0, 2 * time.Second},
		{"second doubles", 2, 0, 0, 4 * time.Second},
		{"third", 3, 0, 0, 8 * time.Second},
		{"eighth", 8, 0, 0, 256 * time.Second},
		{"capped at 5 min", 9, 0, 0, 5 * time.Minute},
		{"stays capped", 1000, 0, 0, 5 * time.Minute},
		{"jitter takes up to a quarter", 1, 0, 0.5, 1750 * time.Millisecond},
		{"jitter at the cap", 20, 0, 0.5, 5*time.Minute - 5*time.Minute/8},
		{"Retry-After longer than backoff wins", 1, 120 * time.Second, 0, 120 * time.Second},
		{"Retry-After shorter than backoff does not shorten it", 3, time.Second, 0, 8 * time.Second},
		{"Retry-After beyond an hour is capped", 1, 10 * time.Hour, 0, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryDelay(cfg, tt.failures, tt.retryAfter, tt.jitter); got != tt.want {
				t.Errorf("retryDelay(%d, %v, %v) = %v, want %v", tt.failures, tt.retryAfter, tt.jitter, got, tt.want)
			}
		})
	}
	// Whatever the jitter, a retry never comes sooner than 3/4 of the
	// minimum: no tight loop.
	for f := 1; f < 40; f++ {
		for _, j := range []float64{0, 0.25, 0.999999} {
			if d := retryDelay(cfg, f, 0, j); d < cfg.BackoffMin*3/4 || d > cfg.BackoffMax {
				t.Fatalf("retryDelay(%d, 0, %v) = %v out of range", f, j, d)
			}
		}
	}
}

func TestRefreshDelay(t *testing.T) {
	tests := []struct {
		granted time.Duration
		jitter  float64
		want    time.Duration
	}{
		{time.Minute, 0, 48 * time.Second},
		{time.Minute, 0.5, 51 * time.Second},
		{time.Hour, 0, 48 * time.Minute},
		{time.Second, 0, time.Second}, // the floor: never a tight loop
	}
	for _, tt := range tests {
		if got := refreshDelay(tt.granted, tt.jitter); got != tt.want {
			t.Errorf("refreshDelay(%v, %v) = %v, want %v", tt.granted, tt.jitter, got, tt.want)
		}
	}
}

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 120 * time.Second, true},
		{" 18000;duration=3600", 18000 * time.Second, true},
		{"120 (I'm in a meeting)", 120 * time.Second, true}, // RFC 3261 §20.33
		{"", 0, false},
		{"soon", 0, false},
		{"99999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseSeconds(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestGrantedExpiry(t *testing.T) {
	ours := sip.Uri{Scheme: "sip", User: "trunk", Host: "192.0.2.1", Port: 5060}
	contact := func(uri string, expires string) sip.Header {
		var u sip.Uri
		if err := sip.ParseUri(uri, &u); err != nil {
			t.Fatal(err)
		}
		h := &sip.ContactHeader{Address: u, Params: sip.NewParams()}
		if expires != "" {
			h.Params.Add("expires", expires)
		}
		return h
	}
	tests := []struct {
		name string
		hdrs []sip.Header
		want time.Duration
	}{
		{"our contact's expires", []sip.Header{contact("sip:other@192.0.2.9:5060", "3600"), contact("sip:trunk@192.0.2.1:5060", "300")}, 300 * time.Second},
		{"one rewritten contact", []sip.Header{contact("sip:trunk@198.51.100.7:40000", "120")}, 120 * time.Second},
		{"Expires header", []sip.Header{contact("sip:trunk@192.0.2.1:5060", ""), sip.NewHeader("Expires", "600")}, 600 * time.Second},
		{"nothing: what we asked", nil, time.Hour},
		{"zero", []sip.Header{contact("sip:trunk@192.0.2.1:5060", "0")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := sip.NewResponse(200, "OK")
			for _, h := range tt.hdrs {
				res.AppendHeader(h)
			}
			if got := grantedExpiry(res, ours, time.Hour); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// fakeRegistrar is a registrarClient answering from a script; it records
// every request it was given.
type fakeRegistrar struct {
	mu     sync.Mutex
	answer func(n int, req *sip.Request, authed bool) *sip.Response
	sent   []sentRegister
}

type sentRegister struct {
	expires string
	cseq    uint32
	callID  string
	authed  bool
}

func (f *fakeRegistrar) Do(ctx context.Context, req *sip.Request, _ ...sipgo.ClientRequestOption) (*sip.Response, error) {
	return f.next(req, false)
}

func (f *fakeRegistrar) DoDigestAuth(ctx context.Context, req *sip.Request, _ *sip.Response, auth sipgo.DigestAuth) (*sip.Response, error) {
	if auth.Username != "trunk" || auth.Password != "pw" {
		return nil, errors.New("wrong credentials given to DoDigestAuth")
	}
	req.CSeq().SeqNo++ // as sipgo does
	return f.next(req, true)
}

func (f *fakeRegistrar) next(req *sip.Request, authed bool) (*sip.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, sentRegister{req.GetHeader("Expires").Value(), req.CSeq().SeqNo, req.CallID().Value(), authed})
	res := f.answer(len(f.sent), req, authed)
	if res == nil {
		return nil, errors.New("transaction timed out")
	}
	return res, nil
}

func (f *fakeRegistrar) requests() []sentRegister {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentRegister(nil), f.sent...)
}

func answer(req *sip.Request, code int, reason string, hdrs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	return res
}

var challenge = sip.NewHeader("WWW-Authenticate", `Digest realm="carrier", nonce="abc", qop="auth", algorithm=SHA-256`)

func testRegistration(f *fakeRegistrar) *registration {
	spec := regSpec{
		name:      "carrier",
		registrar: sip.Uri{Scheme: "sip", Host: "192.0.2.1"},
		aor:       sip.Uri{Scheme: "sip", User: "trunk", Host: "192.0.2.1"},
		contact:   sip.Uri{Scheme: "sip", User: "trunk", Host: "198.51.100.1", Port: 5060},
		transport: "UDP",
		username:  "trunk",
		password:  "pw",
		interval:  time.Hour,
	}
	cfg := RegistrationConfig{Jitter: func() float64 { return 0 }}
	return newRegistration(spec, regKey{}, f, cfg, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// TestRegistrationSchedule drives one registration through the fake clock
// of a synctest bubble: challenge and 200 (refresh at 80% of the grant), a
// 503 with Retry-After (honoured), a 500 (backoff doubles), success again
// (failures reset), and Close's un-REGISTER with Expires 0.
func TestRegistrationSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeRegistrar{}
		f.answer = func(n int, req *sip.Request, authed bool) *sip.Response {
			switch {
			case !authed:
				return answer(req, 401, "Unauthorized", challenge)
			case n == 2: // first registration: granted 100 s
				return answer(req, 200, "OK", sip.NewHeader("Expires", "100"))
			case n == 4: // the refresh
				return answer(req, 503, "Maintenance", sip.NewHeader("Retry-After", "30"))
			case n == 6:
				return answer(req, 500, "Server Internal Error")
			case n == 8:
				return answer(req, 500, "Server Internal Error")
			default:
				return answer(req, 200, "OK", sip.NewHeader("Expires", "100"))
			}
		}
		r := testRegistration(f)
		start := time.Now()
		r.start()
		synctest.Wait()
		st := r.snapshot()
		if st.State != TrunkRegistered || st.LastStatus != 200 || !st.RegisteredUntil.Equal(start.Add(100*time.Second)) ||
			!st.NextAttempt.Equal(start.Add(80*time.Second)) {
			t.Fatalf("after registering: %+v", st)
		}

		time.Sleep(80*time.Second + time.Millisecond)
		synctest.Wait()
		st = r.snapshot()
		if st.State != TrunkFailing || st.LastStatus != 503 || st.LastReason != "Maintenance" || st.Failures != 1 ||
			!st.NextAttempt.Equal(start.Add(110*time.Second)) {
			t.Fatalf("after the 503 with Retry-After 30: %+v", st)
		}

		time.Sleep(30 * time.Second)
		synctest.Wait()
		st = r.snapshot()
		if st.Failures != 2 || st.LastStatus != 500 || !st.NextAttempt.Equal(start.Add(110*time.Second+4*time.Second)) {
			t.Fatalf("after the 500: %+v (want a retry 4 s later)", st)
		}
		time.Sleep(4 * time.Second)
		synctest.Wait()
		if st = r.snapshot(); st.Failures != 3 || !st.NextAttempt.Equal(start.Add(114*time.Second+8*time.Second)) {
			t.Fatalf("after the second 500: %+v (want a retry 8 s later)", st)
		}
		time.Sleep(8 * time.Second)
		synctest.Wait()
		if st = r.snapshot(); st.State != TrunkRegistered || st.Failures != 0 {
			t.Fatalf("after recovering: %+v", st)
		}

		r.stop()
		if st = r.snapshot(); st.State != TrunkDisabled {
			t.Errorf("after stop: %+v", st)
		}
		reqs := f.requests()
		if len(reqs) != 12 {
			t.Fatalf("%d requests: %+v", len(reqs), reqs)
		}
		for i, q := range reqs {
			if q.callID != reqs[0].callID {
				t.Errorf("request %d: Call-ID %q, want %q (RFC 3261 §10.2.4)", i, q.callID, reqs[0].callID)
			}
			if i > 0 && q.cseq <= reqs[i-1].cseq {
				t.Errorf("request %d: CSeq %d after %d", i, q.cseq, reqs[i-1].cseq)
			}
			want := "3600"
			if i >= 10 {
				want = "0"
			}
			if q.expires != want {
				t.Errorf("request %d: Expires %s, want %s", i, q.expires, want)
			}
		}
	})
}

// TestRegistrationAuthFailures: a second challenge is a failure with the
// carrier's reason, unless the nonce was stale (one more try); 423 is
// retried once with Min-Expires; no answer at all is a failure with status 0.
func TestRegistrationAuthFailures(t *testing.T) {
	tests := []struct {
		name       string
		answer     func(n int, req *sip.Request, authed bool) *sip.Response
		wantOK     bool
		wantStatus int
		wantReason string
		wantSent   int
	}{
		{
			name: "challenged twice",
			answer: func(n int, req *sip.Request, authed bool) *sip.Response {
				return answer(req, 401, "Bad Credentials", challenge)
			},
			wantStatus: 401, wantReason: "Bad Credentials", wantSent: 2,
		},
		{
			name: "forbidden",
			answer: func(n int, req *sip.Request, authed bool) *sip.Response {
				if !authed {
					return answer(req, 401, "Unauthorized", challenge)
				}
				return answer(req, 403, "Wrong Password")
			},
			wantStatus: 403, wantReason: "Wrong Password", wantSent: 2,
		},
		{
			name: "stale nonce retried once",
			answer: func(n int, req *sip.Request, authed bool) *sip.Response {
				if n < 3 {
					return answer(req, 401, "Unauthorized", sip.NewHeader("WWW-Authenticate", `Digest realm="c", nonce="n`+string(rune('0'+n))+`", stale=true`))
				}
				return answer(req, 200, "OK")
			},
			wantOK: true, wantStatus: 200, wantReason: "OK", wantSent: 3,
		},
		{
			name: "stale twice",
			answer: func(n int, req *sip.Request, authed bool) *sip.Response {
				return answer(req, 401, "Unauthorized", sip.NewHeader("WWW-Authenticate", `Digest realm="c", nonce="n", stale=TRUE`))
			},
			wantStatus: 401, wantReason: "Unauthorized", wantSent: 3,
		},
		{
			name: "interval too brief",
			answer: func(n int, req *sip.Request, authed bool) *sip.Response {
				if n == 1 {
					return answer(req, 423, "Interval Too Brief", sip.NewHeader("Min-Expires", "7200"))
				}
				if req.GetHeader("Expires").Value() != "7200" {
					return answer(req, 400, "Wrong Expires")
				}
				return answer(req, 200, "OK")
			},
			wantOK: true, wantStatus: 200, wantReason: "OK", wantSent: 2,
		},
		{
			name:       "no answer",
			answer:     func(int, *sip.Request, bool) *sip.Response { return nil },
			wantReason: "transaction timed out", wantSent: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeRegistrar{answer: tt.answer}
			r := testRegistration(f)
			o := r.attempt(context.Background(), time.Hour)
			if o.ok != tt.wantOK || o.status != tt.wantStatus || o.reason != tt.wantReason {
				t.Errorf("outcome %+v, want ok=%v %d %q", o, tt.wantOK, tt.wantStatus, tt.wantReason)
			}
			if n := len(f.requests()); n != tt.wantSent {
				t.Errorf("%d requests sent, want %d", n, tt.wantSent)
			}
		})
	}
}
