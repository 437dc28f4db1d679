package webclient

import (
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// Business cards on the browser side (docs/protocol.md "Business cards",
// docs/api.md "Profile card"). Every card that enters the server, over the
// WebSocket or the profile API, goes through cardFromJSON: text is cleaned,
// the logo's bytes are sniffed and re-encoded, and dialroom.Card.Validate has
// the last word. The vCard files are built in the browser (static/cards.js)
// from the cards the server sent to the room's members only, so no download
// URL exists that a non-member could fetch.

// jsonCard is the card object of docs/protocol.md.
type jsonCard struct {
	Name  string `json:"name"`
	Org   string `json:"org"`
	Title string `json:"title"`
	Email string `json:"email"`
	Phone string `json:"phone"`
	Logo  string `json:"logo,omitempty"` // data URI of a PNG or JPEG
}

type msgCardShared struct {
	Type   string   `json:"type"`
	Member string   `json:"member"`
	Card   jsonCard `json:"card"`
}

type msgCardWithdrawn struct {
	Type   string `json:"type"`
	Member string `json:"member"`
}

func toJSONCard(c dialroom.Card) jsonCard {
	return jsonCard{Name: c.Name, Org: c.Organization, Title: c.Title, Email: c.Email, Phone: c.Phone,
		Logo: logoURI(c.Logo, c.LogoType)}
}

// cardFromJSON turns an untrusted card into a valid dialroom.Card, or an
// EINVALID error that tells the person what to fix.
func cardFromJSON(j jsonCard) (dialroom.Card, error) {
	c := dialroom.Card{Name: cleanCardText(j.Name), Organization: cleanCardText(j.Org),
		Title: cleanCardText(j.Title), Email: cleanCardText(j.Email), Phone: cleanCardText(j.Phone)}
	if c.Email != "" && !plausibleEmail(c.Email) {
		return dialroom.Card{}, errInvalid("The email address %q does not look like name@example.com.", c.Email)
	}
	if c.Phone != "" && !plausiblePhone(c.Phone) {
		return dialroom.Card{}, errInvalid("The phone number may hold only digits, spaces, + - . ( and ).")
	}
	logo, typ, err := parseLogoURI(j.Logo)
	if err != nil {
		return dialroom.Card{}, err
	}
	c.Logo, c.LogoType = logo, typ
	if err := c.Validate(); err != nil {
		return dialroom.Card{}, err
	}
	return c, nil
}

// cleanCardText trims a field, turns line breaks, tabs and other control
// characters into spaces (every field is one line) and drops formatting
// characters such as bidi overrides (so a card cannot reorder text in the
// list). Length is Validate's to check, so an overlong field is an error the
// person sees, not silently cut. Invalid UTF-8 becomes U+FFFD. (Inputs are
// bounded by the 64 KiB message and request body limits.)
func cleanCardText(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		switch {
		case unicode.Is(unicode.Cf, r):
		case unicode.IsControl(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// plausibleEmail accepts local@domain with no spaces and a dot in the domain:
// enough to catch typing mistakes; a card is not where addresses are verified.
func plausibleEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(domain, "@") &&
		!strings.ContainsAny(s, " <>\",;") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// plausiblePhone accepts what people write for a phone number: digits and
// the usual separators, with an optional leading +. The browser turns it into
// a tel: URI for the vCard.
func plausiblePhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case strings.ContainsRune(" -.()", r):
		default:
			return false
		}
	}
	return digits > 0
}

// shareCard handles card_share from a member.
func (c *session) shareCard(msg inbound) error {
	if err := c.mustBeIn(); err != nil {
		return err
	}
	if msg.Card == nil {
		return errInvalid("card_share needs a \"card\" object.")
	}
	card, err := cardFromJSON(*msg.Card)
	if err != nil {
		return err
	}
	err = c.member.ShareCard(card)
	if dialroom.ErrorCode(err) == dialroom.ETHROTTLED {
		// Answered, not fatal (handleMessage ends the session on ETHROTTLED):
		// a double click must not throw a member out of the conference.
		c.send(errorMessage(err))
		return nil
	}
	return err
}

// withdrawCard handles card_withdraw from a member.
func (c *session) withdrawCard() error {
	if err := c.mustBeIn(); err != nil {
		return err
	}
	c.member.WithdrawCard()
	return nil
}

// cardEvent translates the room's card events for the client.
func (c *session) cardEvent(ev bridge.Event) {
	switch ev := ev.(type) {
	case bridge.CardShared:
		c.send(msgCardShared{Type: "card_shared", Member: ev.MemberID, Card: toJSONCard(ev.Card)})
	case bridge.CardWithdrawn:
		c.send(msgCardWithdrawn{Type: "card_withdrawn", Member: ev.MemberID})
	}
}

// cardResponse is the body of GET and PUT /api/card.
type cardResponse struct {
	Card *jsonCard `json:"card"` // null: no card saved
}

// handleGetCard returns the operator's saved card, or {"card": null}.
func (s *Server) handleGetCard(w http.ResponseWriter, r *http.Request) {
	op := operatorFrom(r.Context())
	card, err := s.cfg.Store.OperatorCard(r.Context(), op.Login)
	if dialroom.ErrorCode(err) == dialroom.ENOTFOUND {
		writeJSON(w, http.StatusOK, cardResponse{})
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j := toJSONCard(*card)
	writeJSON(w, http.StatusOK, cardResponse{Card: &j})
}

// handlePutCard saves the operator's card (cleaned, logo re-encoded) and
// returns it as stored.
func (s *Server) handlePutCard(w http.ResponseWriter, r *http.Request) {
	op := operatorFrom(r.Context())
	var body jsonCard
	if err := decodeJSON(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	card, err := cardFromJSON(body)
	if err == nil {
		err = s.cfg.Store.SaveOperatorCard(r.Context(), op.Login, card)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j := toJSONCard(card)
	writeJSON(w, http.StatusOK, cardResponse{Card: &j})
}

// handleDeleteCard forgets the operator's saved card.
func (s *Server) handleDeleteCard(w http.ResponseWriter, r *http.Request) {
	if err := s.cfg.Store.DeleteOperatorCard(r.Context(), operatorFrom(r.Context()).Login); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
