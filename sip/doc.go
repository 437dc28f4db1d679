// Package sip is dialroom's telephone side: it listens for SIP (RFC 3261,
// through github.com/emiago/sipgo) on UDP and TCP, recognises the carrier
// trunk a call comes from by its source address, routes it with the
// dialplan, answers with SDP (RFC 3264, G.711 and RFC 4733 telephone-events)
// and turns the caller into a guest waiting in a conference's lobby; once the
// operator admits them, the call's RTP is mixed into the room
// (bridge.PhoneAudio).
//
// What it owns: SIP listeners and transactions, dialogs of inbound calls,
// SDP offer/answer, one RTP endpoint per call, the prompts and tones a caller
// hears outside the room's mix (prompts.go: the dialplan's prompts, built in
// or recorded, decoded once and cached), the keys a caller presses in a room
// (docs/phone.md), and the mapping of every setup failure to a SIP status
// (status.go).
//
// What it does not own: rooms and admission (bridge), routing rules and
// trunks' definitions (dialplan), codecs, jitter buffers and the media clock
// (media), issued numbers' storage (the LiveNumber function it is given).
// It also registers trunks with their carriers (trunk.go, registration.go:
// digest auth, refresh, backoff; SyncTrunks after a dialplan reload) and
// collects access numbers by DTMF (collect.go). Not yet here: the softphone
// registrar and dial-out.
//
// Concurrency: a call has one goroutine at a time (the INVITE's handler
// goroutine until the call is answered and in the lobby, then a shallow one
// of its own that supervises it: invite.go's run); everything else reaches
// the call by posting a message to it. The RTP endpoint has its reader goroutine; the
// shared media clock drives the leg's audio.
package sip
