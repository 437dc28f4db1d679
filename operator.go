package dialroom

import "time"

// Extension numbers are short: 2 to 6 digits, like a PBX's internal
// numbers, so they never collide with issued (11-digit) or national numbers.
const (
	MinExtensionDigits = 2
	MaxExtensionDigits = 6
)

// ValidateExtension reports whether ext can be an operator's extension
// number: 2 to 6 digits (EINVALID otherwise).
func ValidateExtension(ext string) error {
	if len(ext) < MinExtensionDigits || len(ext) > MaxExtensionDigits {
		return Errorf(EINVALID, "An extension number has %d to %d digits; %q has %d.", MinExtensionDigits, MaxExtensionDigits, ext, len(ext))
	}
	for i := 0; i < len(ext); i++ {
		if ext[i] < '0' || ext[i] > '9' {
			return Errorf(EINVALID, "An extension number has digits only; %q does not.", ext)
		}
	}
	return nil
}

// Operator is a person with an account: the only identity dialroom stores.
// Operators issue numbers, admit guests and manage their conferences.
type Operator struct {
	ID           int64
	Login        string // unique login ID, e.g. "admin"
	DisplayName  string // shown to guests; defaults to Login
	PasswordHash string // encoded slow hash (see webclient/auth); never the password
	// FixedStem holds the fixed digits of this operator's numbers when numbering
	// runs in per-operator mode (set on first issue; empty otherwise).
	FixedStem string
	// SIP holds the operator's softphone credentials; the zero value means
	// the operator has none and the registrar refuses them.
	SIP SIPCredentials
	// Extension is the operator's extension number (ValidateExtension), ""
	// for none: a dialplan extension route naming it rings the operator's
	// registered softphones, and calls from those softphones come from it.
	Extension string
	// CallerID is the number presented to the people the operator calls
	// through a trunk (the console's dial-out and outside calls from the
	// operator's softphones): a direct line of the operator's, national
	// (0312345678) or international (+81312345678). "" presents the trunk's
	// caller_id. A trunk that lists its DIDs presents it only when it is
	// one of them (carriers refuse or replace numbers not on the account).
	CallerID  string
	CreatedAt time.Time
}

// CleanCallerID returns number as an operator's caller ID: separators
// (spaces, hyphens, dots, parentheses) dropped, a leading + kept, 3 to 15
// digits; EINVALID otherwise.
func CleanCallerID(number string) (string, error) {
	var b []byte
	for i := 0; i < len(number); i++ {
		switch c := number[i]; {
		case c >= '0' && c <= '9':
			b = append(b, c)
		case c == '+' && len(b) == 0:
			b = append(b, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", Errorf(EINVALID, "A caller ID is a phone number like 0312345678 or +81312345678; %q is not.", number)
		}
	}
	digits := len(b)
	if digits > 0 && b[0] == '+' {
		digits--
	}
	if digits < 3 || digits > 15 {
		return "", Errorf(EINVALID, "A caller ID has 3 to 15 digits; %q has %d.", number, digits)
	}
	return string(b), nil
}

// SIPCredentials are what the SIP registrar keeps of an operator's softphone
// password: the digest HA1 values (RFC 7616 §3.4.2, H(username:realm:password))
// for MD5 and SHA-256, which verify a digest response without the password
// being stored. An HA1 is tied to its realm: when the server's realm changes,
// the operator must set the password again.
type SIPCredentials struct {
	Realm     string // the realm the HA1 values were computed for
	HA1MD5    string // lower-case hex
	HA1SHA256 string // lower-case hex
}

// Set reports whether there are credentials.
func (c SIPCredentials) Set() bool { return c.Realm != "" && (c.HA1MD5 != "" || c.HA1SHA256 != "") }

// Name returns the name to show for the operator.
func (o *Operator) Name() string {
	if o.DisplayName != "" {
		return o.DisplayName
	}
	return o.Login
}
