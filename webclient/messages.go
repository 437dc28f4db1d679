package webclient

import (
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// protocolVersion is the version of docs/protocol.md this server speaks.
const protocolVersion = 1

// inbound is any client → server message; which fields matter depends on Type.
type inbound struct {
	Type      string                   `json:"type"`
	Number    string                   `json:"number"`
	Name      string                   `json:"name"`
	Request   string                   `json:"request"`
	Member    string                   `json:"member"`
	Muted     *bool                    `json:"muted"`
	On        *bool                    `json:"on"`
	SDP       string                   `json:"sdp"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
	ID        string                   `json:"id"`   // dial_cancel: the call
	Card      *jsonCard                `json:"card"` // card_share (card.go)
	// Shared materials (room_material.go).
	Material        string       `json:"material"`          // material_select
	Page            *int         `json:"page"`              // material_page
	GuestsMaySelect *bool        `json:"guests_may_select"` // material_policy
	X               *float64     `json:"x"`                 // material_pointer (room_pointer.go)
	Y               *float64     `json:"y"`
	Visible         *bool        `json:"visible"`
	Color           string       `json:"color"` // material_stroke (room_strokes.go)
	Points          [][2]float64 `json:"points"`
}

type msgType struct {
	Type string `json:"type"`
}

type msgHello struct {
	Type       string             `json:"type"`
	V          int                `json:"v"`
	ICEServers []webrtc.ICEServer `json:"ice_servers"`
}

type msgError struct {
	Type       string `json:"type"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"`
}

type msgSDP struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

type msgCandidate struct {
	Type      string                   `json:"type"`
	Candidate *webrtc.ICECandidateInit `json:"candidate"`
}

type msgTracks struct {
	Type    string            `json:"type"`
	Streams map[string]string `json:"streams"`
}

type msgHosting struct {
	Type      string        `json:"type"`
	Number    string        `json:"number"`
	Formatted string        `json:"formatted"`
	Self      jsonMember    `json:"self"`
	Members   []jsonMember  `json:"members"`
	Lobby     []jsonRequest `json:"lobby"`
	PageToken string        `json:"page_token"` // room_material.go
}

type msgWaiting struct {
	Type     string       `json:"type"`
	Request  string       `json:"request"`
	Operator jsonOperator `json:"operator"`
}

type jsonOperator struct {
	Name string `json:"name"`
}

type msgJoinRequest struct {
	Type    string      `json:"type"`
	Request jsonRequest `json:"request"`
}

type msgRequestGone struct {
	Type    string `json:"type"`
	Request string `json:"request"`
	Reason  string `json:"reason"`
}

type msgAdmitted struct {
	Type      string       `json:"type"`
	Self      jsonMember   `json:"self"`
	Operator  *jsonMember  `json:"operator"`
	Members   []jsonMember `json:"members"`
	PageToken string       `json:"page_token"` // room_material.go
}

type msgMessage struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type msgMember struct {
	Type   string     `json:"type"`
	Member jsonMember `json:"member"`
}

type msgMemberLeft struct {
	Type   string `json:"type"`
	Member string `json:"member"`
	Reason string `json:"reason"`
}

type msgTalking struct {
	Type    string   `json:"type"`
	Members []string `json:"members"`
}

// jsonMember is the identification object of docs/protocol.md.
type jsonMember struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Address string `json:"address"`
	Muted   bool   `json:"muted"`
	Camera  bool   `json:"camera"`
	Talking bool   `json:"talking"`
	HD      bool   `json:"hd"` // a phone member on a wideband call (G.722, Opus)
}

type jsonRequest struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Kind    string    `json:"kind"`
	Address string    `json:"address"`
	Trunk   string    `json:"trunk,omitempty"`
	Since   time.Time `json:"since"`
}

func toJSONMember(m bridge.MemberInfo) jsonMember {
	return jsonMember{ID: m.ID, Role: m.Identity.Role, Kind: m.Identity.Kind, Name: m.Identity.Name,
		Address: m.Identity.Address, Muted: m.Muted, Camera: m.Camera, HD: m.Identity.HD}
}

func toJSONMembers(ms []bridge.MemberInfo) []jsonMember {
	out := make([]jsonMember, 0, len(ms))
	for _, m := range ms {
		out = append(out, toJSONMember(m))
	}
	return out
}

func toJSONRequest(q bridge.RequestInfo) jsonRequest {
	return jsonRequest{ID: q.ID, Name: q.Identity.Name, Kind: q.Identity.Kind, Address: q.Identity.Address,
		Trunk: q.Identity.Trunk, Since: q.Since.UTC()}
}

func toJSONRequests(qs []bridge.RequestInfo) []jsonRequest {
	out := make([]jsonRequest, 0, len(qs))
	for _, q := range qs {
		out = append(out, toJSONRequest(q))
	}
	return out
}

func errInvalid(format string, args ...any) error {
	return dialroom.Errorf(dialroom.EINVALID, format, args...)
}

func errState(msg string) error {
	return dialroom.Errorf(dialroom.EINVALID, "%s", msg)
}

// errorMessage turns an error into the protocol's error message.
func errorMessage(err error) msgError {
	m := msgError{Type: "error", Code: dialroom.ErrorCode(err), Message: dialroom.ErrorMessage(err)}
	if ra, ok := dialroom.RetryAfter(err); ok {
		m.RetryAfter = int(ra.Round(time.Second) / time.Second)
		if m.RetryAfter < 1 {
			m.RetryAfter = 1
		}
	}
	return m
}

func (m msgError) String() string { return fmt.Sprintf("%s: %s", m.Code, m.Message) }
