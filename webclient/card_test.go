package webclient

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dialroom/dialroom"
)

// wsCard is the card object of docs/protocol.md.
type wsCard struct {
	Name  string `json:"name"`
	Org   string `json:"org"`
	Title string `json:"title"`
	Email string `json:"email"`
	Phone string `json:"phone"`
	Logo  string `json:"logo"`
}

type wsCardShared struct {
	Member string `json:"member"`
	Card   wsCard `json:"card"`
}

type wsCardWithdrawn struct {
	Member string `json:"member"`
}

// testImage encodes a w×h image as PNG or JPEG.
func testImage(t testing.TB, typ string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), 0x80, 0xff})
		}
	}
	var b bytes.Buffer
	var err error
	if typ == dialroom.LogoPNG {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func dataURI(typ string, b []byte) string {
	return "data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(b)
}

// withTextChunk inserts a PNG tEXt chunk (metadata a camera or editor might
// leave) after IHDR; re-encoding must drop it.
func withTextChunk(p []byte) []byte {
	const ihdrEnd = 8 + 8 + 13 + 4
	body := []byte("tEXtsecret\x00where")
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(body)-4))
	chunk = append(chunk, body...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(body))
	return append(append(append([]byte{}, p[:ihdrEnd]...), chunk...), p[ihdrEnd:]...)
}

func TestCardLogo(t *testing.T) {
	pngLogo := testImage(t, dialroom.LogoPNG, 40, 20)
	jpegLogo := testImage(t, dialroom.LogoJPEG, 40, 20)
	gif := []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
	tests := []struct {
		name     string
		uri      string
		wantType string // "" with wantErr false: no logo
		wantErr  bool
	}{
		{"none", "", "", false},
		{"png", dataURI("image/png", pngLogo), dialroom.LogoPNG, false},
		{"jpeg", dataURI("image/jpeg", jpegLogo), dialroom.LogoJPEG, false},
		{"png declared as jpeg: the bytes decide", dataURI("image/jpeg", pngLogo), dialroom.LogoPNG, false},
		{"gif", dataURI("image/gif", gif), "", true},
		{"gif declared as png", dataURI("image/png", gif), "", true},
		{"svg", dataURI("image/svg+xml", []byte("<svg xmlns='http://www.w3.org/2000/svg'/>")), "", true},
		{"truncated png", dataURI("image/png", pngLogo[:len(pngLogo)/2]), "", true},
		{"png signature only", dataURI("image/png", []byte("\x89PNG\r\n\x1a\n")), "", true},
		{"too wide", dataURI("image/png", testImage(t, dialroom.LogoPNG, dialroom.MaxCardLogoSide+1, 1)), "", true},
		{"too many bytes", dataURI("image/png", append(bytes.Clone(pngLogo), make([]byte, dialroom.MaxCardLogo)...)), "", true},
		{"not base64", "data:image/png;base64,!!!!", "", true},
		{"not a data URI", "https://example.com/logo.png", "", true},
		{"no base64 marker", "data:image/png," + string(pngLogo), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logo, typ, err := parseLogoURI(tt.uri)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if dialroom.ErrorCode(err) != dialroom.EINVALID {
					t.Errorf("code %s, want %s", dialroom.ErrorCode(err), dialroom.EINVALID)
				}
				return
			}
			if typ != tt.wantType {
				t.Fatalf("type %q, want %q", typ, tt.wantType)
			}
			if tt.wantType == "" {
				if logo != nil {
					t.Errorf("no logo sent, got %d bytes", len(logo))
				}
				return
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(logo))
			if err != nil || cfg.Width != 40 || cfg.Height != 20 || "image/"+format != typ {
				t.Errorf("re-encoded logo: %v %+v %s", err, cfg, format)
			}
		})
	}

	// Metadata does not survive the re-encoding.
	logo, _, err := cleanLogo(withTextChunk(pngLogo))
	if err != nil {
		t.Fatalf("PNG with a text chunk: %v", err)
	}
	if bytes.Contains(logo, []byte("tEXt")) || bytes.Contains(logo, []byte("secret")) {
		t.Errorf("re-encoded logo kept the metadata")
	}
}

func TestCardFromJSON(t *testing.T) {
	tests := []struct {
		name string
		in   jsonCard
		want dialroom.Card // Name "" with wantErr
		err  bool
	}{
		{"plain", jsonCard{Name: " Ann Example ", Org: "Example, Inc.", Title: "CTO", Email: "ann@example.com", Phone: "+81 (3) 1234-5678"},
			dialroom.Card{Name: "Ann Example", Organization: "Example, Inc.", Title: "CTO", Email: "ann@example.com", Phone: "+81 (3) 1234-5678"}, false},
		{"line breaks and bidi overrides", jsonCard{Name: "Ann\r\nEND:VCARD\u202e", Org: "A\tB"},
			dialroom.Card{Name: "Ann  END:VCARD", Organization: "A B"}, false},
		{"vCard specials are kept (escaping is the writer's job)", jsonCard{Name: `a;b,c\d`},
			dialroom.Card{Name: `a;b,c\d`}, false},
		{"no name", jsonCard{Email: "ann@example.com"}, dialroom.Card{}, true},
		{"blank name", jsonCard{Name: " \n "}, dialroom.Card{}, true},
		{"long org", jsonCard{Name: "A", Org: strings.Repeat("ö", dialroom.MaxCardField+1)}, dialroom.Card{}, true},
		{"huge field", jsonCard{Name: strings.Repeat("x", 1<<20)}, dialroom.Card{}, true},
		{"bad email", jsonCard{Name: "A", Email: "not an email"}, dialroom.Card{}, true},
		{"email without domain dot", jsonCard{Name: "A", Email: "a@localhost"}, dialroom.Card{}, true},
		{"bad phone", jsonCard{Name: "A", Phone: "call me"}, dialroom.Card{}, true},
		{"plus in the middle", jsonCard{Name: "A", Phone: "81+3"}, dialroom.Card{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cardFromJSON(tt.in)
			if tt.err {
				if dialroom.ErrorCode(err) != dialroom.EINVALID {
					t.Fatalf("err = %v, want %s", err, dialroom.EINVALID)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.want.Name || got.Organization != tt.want.Organization || got.Title != tt.want.Title ||
				got.Email != tt.want.Email || got.Phone != tt.want.Phone {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzCardFromJSON checks that no input panics and that whatever is accepted
// passes Validate and re-encodes as what it claims to be.
func FuzzCardFromJSON(f *testing.F) {
	f.Add("Ann", "Org", "ann@example.com", "+81 3", []byte("\x89PNG\r\n\x1a\n"))
	f.Add("a;b\\c", "", "", "", testImage(f, dialroom.LogoPNG, 3, 3))
	f.Add("x", "y", "", "", testImage(f, dialroom.LogoJPEG, 8, 8))
	f.Fuzz(func(t *testing.T, name, org, email, phone string, logo []byte) {
		j := jsonCard{Name: name, Org: org, Email: email, Phone: phone}
		if len(logo) > 0 {
			j.Logo = dataURI("image/png", logo)
		}
		c, err := cardFromJSON(j)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid card: %v", err)
		}
		if len(c.Logo) > 0 {
			if _, format, err := image.DecodeConfig(bytes.NewReader(c.Logo)); err != nil || "image/"+format != c.LogoType {
				t.Fatalf("accepted logo does not decode as %s: %v", c.LogoType, err)
			}
		}
	})
}

// TestCardExchange goes through the protocol of docs/protocol.md: a guest
// shares, everyone hears, a late joiner gets the card after admitted, a bad
// card is refused, and withdrawal and leaving take the card away.
func TestCardExchange(t *testing.T) {
	h := newHarness(t)
	alice := h.operator("alice", "Alice Operator")
	n := h.issue(alice)
	op, _ := h.hostRoom("operator", h.session("alice"), n)

	admit := func(name string) (*wsClient, wsAdmitted) {
		g, req := h.joinLobby(name, n)
		op.expect("join_request")
		op.send(map[string]string{"type": "admit", "request": req})
		var ad wsAdmitted
		g.expect("admitted").decode(t, &ad)
		op.expect("request_gone")
		op.expect("member_joined")
		return g, ad
	}
	bob, bobIn := admit("Bob")

	// Not yet in: a waiting guest cannot share.
	carolEarly, _ := h.joinLobby("Carol", n)
	op.expect("join_request")
	carolEarly.send(map[string]any{"type": "card_share", "card": map[string]string{"name": "Carol"}})
	if e := carolEarly.expectError(); e.Code != dialroom.EINVALID {
		t.Errorf("sharing while waiting: %+v", e)
	}

	logo := testImage(t, dialroom.LogoPNG, 16, 16)
	bob.send(map[string]any{"type": "card_share", "card": map[string]string{
		"name": "Bob\u202e Example", "org": "Example; Inc.", "title": "Engineer", "email": "bob@example.com",
		"phone": "+81 90 1234 5678", "logo": dataURI("image/jpeg", logo)}})
	for _, c := range []*wsClient{bob, op} {
		var cs wsCardShared
		c.expect("card_shared").decode(t, &cs)
		if cs.Member != bobIn.Self.ID || cs.Card.Name != "Bob Example" || cs.Card.Org != "Example; Inc." ||
			cs.Card.Email != "bob@example.com" || !strings.HasPrefix(cs.Card.Logo, "data:image/png;base64,") {
			t.Errorf("%s: card_shared = %+v", c.name, cs)
		}
	}

	// A bad card: an error to the sender only; the shared card stays.
	bob.send(map[string]any{"type": "card_share", "card": map[string]string{"name": "Bob", "logo": dataURI("image/png", []byte("GIF89a"))}})
	if e := bob.expectError(); e.Code != dialroom.EINVALID || !strings.Contains(e.Message, "PNG or JPEG") {
		t.Errorf("GIF logo: %+v", e)
	}
	bob.send(map[string]any{"type": "card_share"})
	if e := bob.expectError(); e.Code != dialroom.EINVALID {
		t.Errorf("card_share without a card: %+v", e)
	}

	// The late joiner: admitted first, then the card already shared.
	op.send(map[string]string{"type": "decline", "request": mustRequest(t, h, n)})
	carolEarly.expect("declined")
	op.expect("request_gone")
	carol, _ := admit("Carol")
	bob.expect("member_joined")
	var cs wsCardShared
	carol.expect("card_shared").decode(t, &cs)
	if cs.Member != bobIn.Self.ID || cs.Card.Name != "Bob Example" {
		t.Errorf("late joiner's card_shared = %+v", cs)
	}

	// Sharing again at once is refused, without ending the session.
	sharedAt := time.Now()
	bob.send(map[string]any{"type": "card_share", "card": map[string]string{"name": "Bob"}})
	if e := bob.expectError(); e.Code != dialroom.ETHROTTLED {
		t.Errorf("sharing again at once: %+v, want %s", e, dialroom.ETHROTTLED)
	}

	// Withdrawal, then leaving with a card: card_withdrawn before member_left.
	bob.send(map[string]string{"type": "card_withdraw"})
	for _, c := range []*wsClient{bob, op, carol} {
		var w wsCardWithdrawn
		c.expect("card_withdrawn").decode(t, &w)
		if w.Member != bobIn.Self.ID {
			t.Errorf("%s: card_withdrawn = %+v", c.name, w)
		}
	}
	time.Sleep(time.Until(sharedAt.Add(1100 * time.Millisecond))) // past the share interval
	bob.send(map[string]any{"type": "card_share", "card": map[string]string{"name": "Bob"}})
	for _, c := range []*wsClient{bob, op, carol} {
		c.expect("card_shared")
	}
	bob.send(map[string]string{"type": "leave"})
	for _, c := range []*wsClient{op, carol} {
		c.expect("card_withdrawn")
		c.expect("member_left")
	}
	if cards := h.engine.Lookup(n.Digits).Cards(); len(cards) != 0 {
		t.Errorf("cards after Bob left: %+v", cards)
	}
}

// mustRequest returns the id of the one request in n's lobby.
func mustRequest(t *testing.T, h *harness, n *dialroom.Number) string {
	t.Helper()
	lobby := h.engine.Lookup(n.Digits).Lobby()
	if len(lobby) != 1 {
		t.Fatalf("lobby = %+v, want one request", lobby)
	}
	return lobby[0].ID
}

// TestCardProfileAPI checks GET, PUT and DELETE /api/card (docs/api.md).
func TestCardProfileAPI(t *testing.T) {
	h := newHarness(t)
	h.operator("alice", "Alice Operator")
	cookie := h.session("alice")

	if r := h.do(request{method: "GET", path: "/api/card"}); r.status != http.StatusUnauthorized {
		t.Errorf("GET without a session: %d", r.status)
	}
	if r := h.do(request{method: "PUT", path: "/api/card", body: map[string]string{"name": "X"}}); r.status != http.StatusUnauthorized {
		t.Errorf("PUT without a session: %d", r.status)
	}
	var got struct {
		Card *wsCard `json:"card"`
	}
	r := h.do(request{method: "GET", path: "/api/card", cookie: cookie})
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Card != nil {
		t.Fatalf("GET before saving: %d %s", r.status, r.body)
	}

	jpegLogo := testImage(t, dialroom.LogoJPEG, 32, 32)
	r = h.do(request{method: "PUT", path: "/api/card", cookie: cookie, body: map[string]string{
		"name": "Alice Operator", "org": "Dialroom KK", "email": "alice@example.com", "logo": dataURI("image/jpeg", jpegLogo)}})
	r.decode(t, &got)
	if r.status != http.StatusOK || got.Card == nil || got.Card.Org != "Dialroom KK" || !strings.HasPrefix(got.Card.Logo, "data:image/jpeg;base64,") {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	r = h.do(request{method: "GET", path: "/api/card", cookie: cookie})
	var again struct {
		Card *wsCard `json:"card"`
	}
	r.decode(t, &again)
	if again.Card == nil || *again.Card != *got.Card {
		t.Errorf("GET after PUT = %s, want what PUT returned", r.body)
	}

	r = h.do(request{method: "PUT", path: "/api/card", cookie: cookie, body: map[string]string{"name": "", "email": "x"}})
	if r.status != http.StatusBadRequest || r.apiError(t).Error.Code != dialroom.EINVALID {
		t.Errorf("PUT invalid: %d %s", r.status, r.body)
	}
	r = h.do(request{method: "PUT", path: "/api/card", cookie: cookie, body: map[string]string{"name": "A"}, origin: "https://evil.example"})
	if r.status != http.StatusForbidden {
		t.Errorf("cross-site PUT: %d", r.status)
	}

	if r = h.do(request{method: "DELETE", path: "/api/card", cookie: cookie}); r.status != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", r.status, r.body)
	}
	r = h.do(request{method: "GET", path: "/api/card", cookie: cookie})
	got.Card = nil
	r.decode(t, &got)
	if got.Card != nil {
		t.Errorf("GET after DELETE = %s", r.body)
	}
}
