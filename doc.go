// Package dialroom is the shared vocabulary of the dialroom IP-PBX and WebRTC
// gateway: operators, issued numbers, conference members, call records, the
// error codes every adapter maps to its own protocol, and the small storage
// interfaces the adapters implement.
//
// This package imports nothing of ours. Adapters (storage, webclient, sip) depend
// on it; it depends on none of them. See docs/architecture.md.
package dialroom
