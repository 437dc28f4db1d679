package dialroom

import (
	"bytes"
	"context"
	"unicode/utf8"
)

// Card is a business card a browser member shares with a conference
// (patent claims 9–12). An operator's card may also be saved in their profile
// (CardStore); a guest's card lives only in the room's memory and is gone when
// the guest leaves or the conference ends.
//
// A Card is a value: whoever holds one must not modify Logo's bytes after
// handing the card on (rooms and stores keep the slice as given).
type Card struct {
	Name         string // required: the vCard FN
	Organization string
	Title        string
	Email        string
	Phone        string
	Logo         []byte // a PNG or JPEG the server re-encoded itself; nil for none
	LogoType     string // "image/png" or "image/jpeg"; empty exactly when Logo is nil
}

// Limits of a card. They hold everywhere a card is accepted: the WebSocket,
// the profile API, the room and the store.
const (
	// MaxCardField bounds every text field in characters; business cards are
	// short, and every member receives every card.
	MaxCardField = 128
	// MaxCardLogo bounds the logo in bytes. Why 32 KiB: a card travels in one
	// signalling frame (64 KiB, docs/protocol.md) as base64 (4/3 of the bytes),
	// is sent to every member and late joiner, and is embedded in every vCard;
	// a logo needs no more.
	MaxCardLogo = 32 << 10
	// MaxCardLogoSide bounds the logo's width and height in pixels, checked
	// before the image is decoded so that a small file cannot expand into a
	// huge bitmap.
	MaxCardLogoSide = 512
)

// Logo types a card may carry.
const (
	LogoPNG  = "image/png"
	LogoJPEG = "image/jpeg"
)

// Validate reports the first way c breaks the limits above, as an EINVALID
// *Error naming the field. It checks lengths, the logo's declared type and size,
// valid UTF-8 and the absence of control characters; the adapters clean and
// re-encode untrusted input before this (webclient/card_logo.go), so Validate is
// the last line, not the only one.
func (c Card) Validate() error {
	if c.Name == "" {
		return Errorf(EINVALID, "A card needs a name.")
	}
	for _, f := range []struct{ label, v string }{
		{"name", c.Name}, {"organisation", c.Organization}, {"title", c.Title},
		{"email", c.Email}, {"phone", c.Phone},
	} {
		if !utf8.ValidString(f.v) || utf8.RuneCountInString(f.v) > MaxCardField {
			return Errorf(EINVALID, "The card's %s must be at most %d characters.", f.label, MaxCardField)
		}
		for _, r := range f.v {
			if r < 0x20 || r == 0x7f {
				return Errorf(EINVALID, "The card's %s must be one line of text.", f.label)
			}
		}
	}
	switch {
	case len(c.Logo) == 0 && c.LogoType != "":
		return Errorf(EINVALID, "The card's logo type is set but it has no logo.")
	case len(c.Logo) > MaxCardLogo:
		return Errorf(EINVALID, "The logo must be at most %d KiB.", MaxCardLogo>>10)
	case len(c.Logo) > 0 && c.LogoType != LogoPNG && c.LogoType != LogoJPEG:
		return Errorf(EINVALID, "The logo must be a PNG or JPEG image.")
	}
	return nil
}

// Clone returns a copy of c that shares no memory with it.
func (c Card) Clone() Card {
	c.Logo = bytes.Clone(c.Logo)
	return c
}

// CardStore keeps operators' profile cards. Guests' cards are never stored.
// Implementations are safe for concurrent use.
type CardStore interface {
	// OperatorCard returns the operator's saved card, or ENOTFOUND.
	OperatorCard(ctx context.Context, login string) (*Card, error)
	// SaveOperatorCard stores (or replaces) the operator's card; ENOTFOUND if
	// there is no such operator, EINVALID if the card breaks Card.Validate.
	SaveOperatorCard(ctx context.Context, login string, c Card) error
	// DeleteOperatorCard removes the operator's card; no card is not an error.
	DeleteOperatorCard(ctx context.Context, login string) error
}
