package webclient

import (
	"context"
	"strings"
	"sync"

	"github.com/dialroom/dialroom"
)

// Dial-out from the console ("Call a phone"): the operator's `dial` message
// asks the telephony side (Config.Dial) to call a number into the room the
// operator hosts; every change of the call's state comes back as
// `dial_status`, and `dial_cancel` hangs it up (docs/protocol.md).

// maxDialLength bounds a typed number: the longest international number
// (15 digits) with generous room for spaces, dashes and brackets.
const maxDialLength = 64

// DialRequest is what the console asks of the telephony side.
type DialRequest struct {
	// Operator is the login asking, OperatorName its display name.
	Operator, OperatorName string
	// Room is the operator's live number whose conference the callee joins.
	Room *dialroom.Number
	// To is the number as typed.
	To string
	// OnStatus receives every change of the call's state, the last one
	// final. It may be called from any goroutine and must not block.
	OnStatus func(DialStatus)
}

// DialStatus is one change of a placed call's state, as `dial_status`
// carries it.
type DialStatus struct {
	ID string
	// Number is the dialled number as the policy read it (national form).
	Number string
	// State is calling, ringing, answered, busy, no_answer, cancelled,
	// failed or ended; Final reports whether it is the last.
	State  string
	Final  bool
	Status int // the SIP status behind the state, 0 if none
	Reason string
}

// DialCall is a call in progress, as the telephony side returns it.
type DialCall interface {
	ID() string
	// Hangup cancels a ringing call or hangs up an answered one; it returns
	// at once and is idempotent.
	Hangup()
}

// Dialer places calls: Config.Dial. It refuses with a *dialroom.Error whose
// message is for the operator (the dial-out policy's reason, a limit) and
// sends nothing then. ctx bounds the call until it is answered.
type Dialer func(ctx context.Context, req DialRequest) (DialCall, error)

type msgDialStatus struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Number string `json:"number"`
	State  string `json:"state"`
	Status int    `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// dialState is a session's calls in progress. It is guarded by its mutex:
// the calls' goroutines end them (OnStatus) while the run goroutine starts
// and cancels them. A call may end before Dial has returned it (put after
// drop): ended remembers such ids until put comes, so neither map grows.
type dialState struct {
	mu    sync.Mutex
	calls map[string]DialCall
	ended map[string]struct{}
}

func (d *dialState) put(c DialCall) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, gone := d.ended[c.ID()]; gone {
		delete(d.ended, c.ID())
		return
	}
	if d.calls == nil {
		d.calls = map[string]DialCall{}
	}
	d.calls[c.ID()] = c
}

func (d *dialState) get(id string) DialCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls[id]
}

func (d *dialState) drop(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.calls[id]; ok {
		delete(d.calls, id)
		return
	}
	if d.ended == nil {
		d.ended = map[string]struct{}{}
	}
	d.ended[id] = struct{}{}
}

// dial handles the operator's `dial`: the call goes into the room the
// operator hosts. A refusal is a `dial_status` with state "refused" and the
// reason, so the console shows it beside the number typed.
func (c *session) dial(msg inbound) error {
	if c.member == nil || c.member.Identity().Role != dialroom.RoleOperator || c.operator == nil {
		return dialroom.Errorf(dialroom.EDENIED, "Only the operator of an open conference can call a phone.")
	}
	typed := strings.TrimSpace(msg.Number)
	refuse := func(reason string) error {
		c.send(msgDialStatus{Type: "dial_status", Number: typed, State: "refused", Reason: reason})
		return nil
	}
	switch {
	case typed == "":
		return refuse("Enter the number to call.")
	case len(typed) > maxDialLength:
		return refuse("That is too long for a phone number.")
	case c.srv.cfg.Dial == nil:
		return refuse("This server has no telephone line: it cannot call phones.")
	}
	room, err := c.srv.cfg.Store.LiveNumber(c.ctx, c.member.Room().Number(), c.srv.cfg.Now())
	if err != nil {
		return refuse("Your conference's number is no longer live.")
	}
	call, err := c.srv.cfg.Dial(c.ctx, DialRequest{
		Operator: c.operator.Login, OperatorName: c.operator.Name(), Room: room, To: typed,
		OnStatus: func(st DialStatus) {
			c.send(msgDialStatus{Type: "dial_status", ID: st.ID, Number: st.Number, State: st.State, Status: st.Status, Reason: st.Reason})
			if st.Final {
				c.dials.drop(st.ID)
			}
		},
	})
	if err != nil {
		c.srv.log.Info("dial-out refused", "operator", c.operator.Login, "err", err)
		return refuse(dialroom.ErrorMessage(err))
	}
	c.dials.put(call)
	c.srv.log.Info("dial-out placed", "operator", c.operator.Login, "call", call.ID())
	return nil
}

// dialCancel handles `dial_cancel`: a ringing call is cancelled, an
// answered one hung up.
func (c *session) dialCancel(msg inbound) error {
	call := c.dials.get(msg.ID)
	if call == nil {
		return dialroom.Errorf(dialroom.ENOTFOUND, "That call is over already.")
	}
	call.Hangup()
	return nil
}
