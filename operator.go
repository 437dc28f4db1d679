package dialroom

import "time"

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
	SIP       SIPCredentials
	CreatedAt time.Time
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
