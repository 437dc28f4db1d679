// Package webclient is the browser side of dialroom: the HTTP JSON API for
// operators (login, issued numbers), the WebSocket signalling of docs/protocol.md,
// pion/webrtc peer connections turned into bridge members, and the browser UI
// itself (static files embedded in the binary).
//
// It does not know about SIP; phone members reach the same bridge rooms through
// the sip package. It does not parse the dialplan: number issuance is given a
// NumberRules implementation by the caller.
package webclient
