package webclient

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/dialroom/dialroom"
)

// fakeDialer stands in for the telephony side (the real one is proved end to
// end in cmd/dialroom's TestDialoutFromConsole): it refuses numbers starting
// with "0570" and otherwise "rings" at once.
type fakeDialer struct {
	mu   sync.Mutex
	reqs []DialRequest
	n    int
}

type fakeCall struct {
	id   string
	req  DialRequest
	once sync.Once
}

func (c *fakeCall) ID() string { return c.id }

func (c *fakeCall) Hangup() {
	c.once.Do(func() {
		c.req.OnStatus(DialStatus{ID: c.id, Number: "09012345678", State: "cancelled", Final: true, Reason: "the operator cancelled the call"})
	})
}

func (f *fakeDialer) dial(_ context.Context, req DialRequest) (DialCall, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	if len(req.To) >= 4 && req.To[:4] == "0570" {
		return nil, dialroom.Errorf(dialroom.EDENIED, "0570123456 is denied by rule %q", "no-navidial")
	}
	f.n++
	c := &fakeCall{id: fmt.Sprintf("d%d", f.n), req: req}
	go req.OnStatus(DialStatus{ID: c.id, Number: "09012345678", State: "ringing", Status: 180, Reason: "Ringing"})
	return c, nil
}

type dialStatusMsg struct {
	ID, Number, State, Reason string
	Status                    int
}

// TestDialMessages: dial → dial_status (ringing), dial_cancel → cancelled;
// a refusal carries the reason; only the hosting operator may dial.
func TestDialMessages(t *testing.T) {
	fd := &fakeDialer{}
	h := newHarness(t, func(c *Config) { c.Dial = fd.dial })
	alice := h.operator("alice", "Alice")
	n := h.issue(alice)

	guest := h.connect("guest", "")
	guest.send(map[string]string{"type": "dial", "number": "090-1234-5678"})
	if e := guest.expectError(); e.Code != dialroom.EDENIED {
		t.Errorf("a guest's dial: %+v, want denied", e)
	}

	op := h.connect("alice", h.session("alice"))
	op.send(map[string]string{"type": "host", "number": n.Digits})
	op.expect("hosting")

	op.send(map[string]string{"type": "dial", "number": " 0570-123-456 "})
	var st dialStatusMsg
	op.expect("dial_status").decode(t, &st)
	if st.State != "refused" || st.Number != "0570-123-456" || st.Reason != `0570123456 is denied by rule "no-navidial"` || st.ID != "" {
		t.Errorf("refusal %+v", st)
	}

	op.send(map[string]string{"type": "dial", "number": "090-1234-5678"})
	op.expect("dial_status").decode(t, &st)
	if st.State != "ringing" || st.ID != "d1" || st.Status != 180 {
		t.Errorf("ringing %+v", st)
	}
	fd.mu.Lock()
	req := fd.reqs[len(fd.reqs)-1]
	fd.mu.Unlock()
	if req.Operator != "alice" || req.OperatorName != "Alice" || req.Room == nil || req.Room.Digits != n.Digits || req.To != "090-1234-5678" {
		t.Errorf("request %+v", req)
	}
	op.send(map[string]string{"type": "dial_cancel", "id": "d1"})
	op.expect("dial_status").decode(t, &st)
	if st.State != "cancelled" || st.ID != "d1" {
		t.Errorf("cancelled %+v", st)
	}
	op.send(map[string]string{"type": "dial_cancel", "id": "d1"})
	if e := op.expectError(); e.Code != dialroom.ENOTFOUND {
		t.Errorf("cancel of a finished call: %+v, want not_found", e)
	}
	op.send(map[string]string{"type": "dial", "number": ""})
	op.expect("dial_status").decode(t, &st)
	if st.State != "refused" {
		t.Errorf("empty number: %+v", st)
	}
}

// TestDialWithoutTelephony: a server without a telephone side refuses with a
// reason instead of failing.
func TestDialWithoutTelephony(t *testing.T) {
	h := newHarness(t)
	alice := h.operator("alice", "Alice")
	n := h.issue(alice)
	op := h.connect("alice", h.session("alice"))
	op.send(map[string]string{"type": "host", "number": n.Digits})
	op.expect("hosting")
	op.send(map[string]string{"type": "dial", "number": "090-1234-5678"})
	var st dialStatusMsg
	op.expect("dial_status").decode(t, &st)
	if st.State != "refused" || st.Reason == "" {
		t.Errorf("without telephony: %+v", st)
	}
}

// TestDialStateEndsBeforePut: a call that ends before Dial returned it is not
// kept, and nothing is left behind either way.
func TestDialStateEndsBeforePut(t *testing.T) {
	var d dialState
	d.drop("d1") // final status first
	d.put(&fakeCall{id: "d1"})
	d.put(&fakeCall{id: "d2"})
	d.drop("d2")
	if d.get("d1") != nil || d.get("d2") != nil || len(d.calls) != 0 || len(d.ended) != 0 {
		t.Errorf("left behind: calls %v, ended %v", d.calls, d.ended)
	}
}
