// Package bridge is the conference engine: rooms, the lobby and the operator's
// approval, membership and its notifications (the patent's claims 1–7), and the
// routing of media between members.
//
// A Room does not know how a participant arrived. Adapters (webclient for
// browsers, sip for phones) implement Endpoint to receive the room's events and
// publish their media as Tracks; the room tells every other member about each
// track so their adapters can subscribe to it. Browser media is forwarded as it
// is (an SFU: packets are never decoded here).
//
// Concurrency: every exported method is safe for concurrent use. A room's state
// is guarded by the room's mutex and events are delivered to endpoints while it
// is held, so every endpoint sees events in the order they happened; that is why
// Endpoint.Deliver must never block or call back into the room.
package bridge
