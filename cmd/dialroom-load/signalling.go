package main

import (
	"encoding/json"

	"github.com/pion/webrtc/v4"
)

// The client's side of docs/protocol.md, version 1: only the fields the load
// needs. Written from the document, not from the server's types, so that a
// server drifting from its own spec shows up here as errors.

// outMsg is a client → server message; unused fields are left out.
type outMsg struct {
	Type      string                   `json:"type"`
	Number    string                   `json:"number,omitempty"`
	Name      string                   `json:"name,omitempty"`
	Request   string                   `json:"request,omitempty"`
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
}

// endOfCandidates is the trickle-ICE end marker: "candidate": null.
type endOfCandidates struct {
	Type      string                   `json:"type"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
}

// inMsg is any server → client message. Request and Members change shape with
// Type (an object or an id; objects or ids), so they stay raw until Type is known.
type inMsg struct {
	Type      string                   `json:"type"`
	SDP       string                   `json:"sdp"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
	Streams   map[string]string        `json:"streams"`
	Self      *identification          `json:"self"`
	Request   json.RawMessage          `json:"request"`
	Lobby     []lobbyRequest           `json:"lobby"`
	Members   json.RawMessage          `json:"members"`
	Code      string                   `json:"code"`
	Message   string                   `json:"message"`
}

// identification is a member as the protocol describes it.
type identification struct {
	ID   string `json:"id"`
	Role string `json:"role"`
	Name string `json:"name"`
}

// lobbyRequest is a waiting guest as the operator sees it.
type lobbyRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
