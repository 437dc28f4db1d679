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
	CreatedAt time.Time
}

// Name returns the name to show for the operator.
func (o *Operator) Name() string {
	if o.DisplayName != "" {
		return o.DisplayName
	}
	return o.Login
}
