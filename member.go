package dialroom

import (
	"fmt"
	"net/netip"
	"strings"
)

// Member kinds: how a participant reached the conference. The conference engine
// does not care; the console shows it.
const (
	MemberKindBrowser = "browser"
	MemberKindPhone   = "phone"
)

// Roles in a conference.
const (
	RoleOperator = "operator"
	RoleGuest    = "guest"
)

// Identity is what identifies a participant to the others (the patent's
// "identification information"): shown to the operator in the lobby and to every
// member on admission. It holds nothing that outlives the conference.
type Identity struct {
	Role    string // RoleOperator or RoleGuest
	Kind    string // MemberKindBrowser or MemberKindPhone
	Name    string // display name (optional for guests)
	Address string // browser: IP address; phone: masked caller number
	Trunk   string // phone: the trunk or extension the call came in on
	// Rule is the dialplan rule that routed a phone call here (for call
	// records); empty for browsers.
	Rule string
	// HD says a phone call carries wideband audio (G.722 or Opus at 16 kHz)
	// rather than the telephone band; the console shows it.
	HD bool
}

// MaskAddress returns addr with its host part hidden for records kept after a
// conference: an IPv4 address keeps its first three octets ("192.0.2.x"), an IPv6
// address its first 48 bits; anything else is returned fully masked.
func MaskAddress(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return "masked"
	}
	ip = ip.Unmap()
	if ip.Is4() {
		a := ip.As4()
		return fmt.Sprintf("%d.%d.%d.x", a[0], a[1], a[2])
	}
	p, _ := ip.Prefix(48)
	return p.String()
}

// MaskPhone hides the middle of a phone number, keeping enough to recognise it:
// "09012345678" → "090-****-5678". Short numbers keep only their last two digits.
func MaskPhone(num string) string {
	d := strings.TrimPrefix(num, "+")
	if len(d) >= 10 {
		return d[:3] + "-****-" + d[len(d)-4:]
	}
	if len(d) > 2 {
		return strings.Repeat("*", len(d)-2) + d[len(d)-2:]
	}
	return "**"
}
