package main

import (
	"context"
	"fmt"
	"time"
)

// room is one conference of the load: an issued number, its operator client
// (clients[0]) and its guests.
type room struct {
	index   int
	number  issuedNumber
	clients []*client
	// phone is the room's simulated phones in phone mode, nil in SFU runs;
	// set before the first client starts.
	phone *phoneRoom
}

// newRoom prepares the clients of a room: the first talkers members talk, the
// first video members also send video (the ones talking usually have their
// camera on too).
func newRoom(env *clientEnv, index int, n issuedNumber, size, talkers, video int) *room {
	r := &room{index: index, number: n}
	for i := range size {
		r.clients = append(r.clients, newClient(env, r, i, i < talkers, i < video))
	}
	return r
}

// open starts the operator, waits until it hosts, then starts the guests one
// step apart; the operator admits each join_request as it arrives. It returns
// once every guest has sent join.
func (r *room) open(ctx context.Context, step time.Duration) error {
	op := r.clients[0]
	if err := op.start(ctx); err != nil {
		return err
	}
	select {
	case <-op.inRoom:
	case <-op.done:
		return fmt.Errorf("room %d: operator's socket closed before hosting: %v", r.index+1, op.ended())
	case <-time.After(10 * time.Second):
		return fmt.Errorf("room %d: no hosting message within 10 s (errors: %q)", r.index+1, op.protocolErrors())
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, g := range r.clients[1:] {
		select {
		case <-time.After(step):
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := g.start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// expectedFor returns the streams c should receive: audio from every other
// member, video from every other member sending it. Member ids must be known.
func (r *room) expectedFor(c *client) []streamKey {
	var keys []streamKey
	for _, o := range r.clients {
		if o == c {
			continue
		}
		id := o.selfID()
		keys = append(keys, streamKey{member: id, kind: kindAudio})
		if o.video != nil {
			keys = append(keys, streamKey{member: id, kind: kindVideo})
		}
	}
	return keys
}

// notReady returns how many clients are not yet in, not connected, or miss a
// stream, and how many streams are missing in all.
func (r *room) notReady() (clients, streams int) {
	for _, c := range r.clients {
		if c.selfID() == "" {
			clients++
			streams += len(r.clients) - 1
			continue
		}
		miss := c.missing(r.expectedFor(c))
		if miss > 0 || !c.connected.Load() {
			clients++
		}
		streams += miss
	}
	return clients, streams
}
