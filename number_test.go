package dialroom_test

import (
	"testing"
	"time"

	"github.com/dialroom/dialroom"
)

func TestNormalizeNumber(t *testing.T) {
	for _, c := range []struct {
		typed, want string
	}{
		{"06012345678", "06012345678"},
		{"060-1234-5678", "06012345678"},
		{"060 1234 5678", "06012345678"},
		{" (060) 1234.5678 ", "06012345678"},
		{"０６０－１２３４－５６７８", "06012345678"},           // full-width digits and dash
		{"０６０ー１２３４ー５６７８", "06012345678"},           // katakana prolonged sound mark from an IME
		{"060\u30001234\u30005678", "06012345678"}, // ideographic spaces
		{"060–1234—5678", "06012345678"},           // en and em dashes
		{"060/1234/5678", "06012345678"},
	} {
		got, err := dialroom.NormalizeNumber(c.typed)
		if err != nil || got != c.want {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want %q", c.typed, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "0601234567", "060123456789", "060-1234-567a", "+81 60 1234 5678", "06012345678#"} {
		if got, err := dialroom.NormalizeNumber(bad); dialroom.ErrorCode(err) != dialroom.EINVALID {
			t.Errorf("NormalizeNumber(%q) = %q, %v; want an invalid error", bad, got, err)
		}
	}
}

func TestNumberState(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		n    dialroom.Number
		want string
		live bool
	}{
		{"no expiry", dialroom.Number{}, "active", true},
		{"before expiry", dialroom.Number{ExpiresAt: now.Add(time.Second)}, "active", true},
		{"at expiry", dialroom.Number{ExpiresAt: now}, "expired", false},
		{"revoked", dialroom.Number{RevokedAt: now.Add(-time.Hour)}, "revoked", false},
		{"revoked and expired", dialroom.Number{RevokedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}, "revoked", false},
	} {
		if got := c.n.State(now); got != c.want || c.n.Live(now) != c.live {
			t.Errorf("%s: state %q live %v, want %q %v", c.name, got, c.n.Live(now), c.want, c.live)
		}
	}
	if got := dialroom.FormatNumber("06012345678"); got != "060-1234-5678" {
		t.Errorf("FormatNumber = %q", got)
	}
}

func TestMasking(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"192.0.2.10", "192.0.2.x"},
		{"::ffff:192.0.2.10", "192.0.2.x"},
		{"2001:db8:1:2::5", "2001:db8:1::/48"},
		{"not an address", "masked"},
	} {
		if got := dialroom.MaskAddress(c.in); got != c.want {
			t.Errorf("MaskAddress(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"09012345678", "090-****-5678"},
		{"+819012345678", "819-****-5678"},
		{"1234", "**34"},
		{"1", "**"},
	} {
		if got := dialroom.MaskPhone(c.in); got != c.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	err := dialroom.Errorf(dialroom.ENOTFOUND, "No such %s.", "number")
	wrapped := &wrapErr{err}
	if dialroom.ErrorCode(wrapped) != dialroom.ENOTFOUND || dialroom.ErrorMessage(wrapped) != "No such number." {
		t.Errorf("code %q message %q", dialroom.ErrorCode(wrapped), dialroom.ErrorMessage(wrapped))
	}
	plain := errPlain("disk on fire at /var/secret")
	if dialroom.ErrorCode(plain) != dialroom.EINTERNAL || dialroom.ErrorMessage(plain) != "Internal error." {
		t.Errorf("a plain error must map to internal with a generic message")
	}
	if dialroom.ErrorCode(nil) != "" || dialroom.ErrorMessage(nil) != "" {
		t.Errorf("nil error must have no code")
	}
}

type wrapErr struct{ err error }

func (w *wrapErr) Error() string { return "wrapped: " + w.err.Error() }
func (w *wrapErr) Unwrap() error { return w.err }

type errPlain string

func (e errPlain) Error() string { return string(e) }
