package webclient

import (
	"net/http"
	"time"

	"github.com/dialroom/dialroom"
)

// Softphone is what the console needs of the SIP side to let operators set
// up their own softphone (docs/phone.md): the registrar's realm and
// addresses, the credentials a password becomes, and the live bindings. The
// sip side implements it (wired in cmd/dialroom); webclient does not import
// sip. Methods are called from HTTP handler goroutines.
type Softphone interface {
	// Realm is the digest realm softphones authenticate in.
	Realm() string
	// Credentials derives what is stored for login's softphone password
	// (digest HA1 values, never the password).
	Credentials(login, password string) dialroom.SIPCredentials
	// Bindings are login's live softphone registrations.
	Bindings(login string) []SoftphoneBinding
	// Servers are the registrar's addresses as a softphone is configured
	// with them, e.g. "sip:203.0.113.7:5060;transport=udp".
	Servers() []string
}

// SoftphoneBinding is one registered softphone of an operator.
type SoftphoneBinding struct {
	Contact   string
	Source    string // ip:port the registration came from
	Transport string
	UserAgent string
	Expires   time.Time
}

type softphoneResponse struct {
	User          string            `json:"user"`
	Realm         string            `json:"realm"`
	PasswordSet   bool              `json:"password_set"`
	Servers       []string          `json:"servers"`
	Registrations []bindingResponse `json:"registrations"`
}

type bindingResponse struct {
	Contact   string    `json:"contact"`
	Source    string    `json:"source"`
	Transport string    `json:"transport"`
	UserAgent string    `json:"user_agent,omitempty"`
	Expires   time.Time `json:"expires"`
}

// softphoneOf is the operator's softphone setup as the API shows it.
func (s *Server) softphoneOf(op *dialroom.Operator) softphoneResponse {
	sp := s.cfg.Softphone
	out := softphoneResponse{User: op.Login, Realm: sp.Realm(), Servers: sp.Servers(), Registrations: []bindingResponse{}}
	// Credentials made for another realm no longer authenticate anyone.
	out.PasswordSet = op.SIP.Set() && op.SIP.Realm == sp.Realm()
	for _, b := range sp.Bindings(op.Login) {
		out.Registrations = append(out.Registrations, bindingResponse{Contact: b.Contact, Source: b.Source,
			Transport: b.Transport, UserAgent: b.UserAgent, Expires: b.Expires.UTC()})
	}
	return out
}

// noSoftphones is the answer when the server has no SIP side.
func noSoftphones() error {
	return dialroom.Errorf(dialroom.ENOTFOUND, "This server has no telephone side: softphones cannot register (sip.udp, sip.tcp and sip.tls are empty).")
}

// handleSoftphone shows the operator's softphone setup: the user name,
// realm and server addresses to enter in the softphone, whether a password
// is set, and the softphones registered now.
func (s *Server) handleSoftphone(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Softphone == nil {
		s.writeError(w, r, noSoftphones())
		return
	}
	writeJSON(w, http.StatusOK, s.softphoneOf(operatorFrom(r.Context())))
}

// handleSetSoftphonePassword sets (PUT, {"password", "current_password"})
// or removes (DELETE, {"current_password"}) the operator's softphone
// password. The console password is asked for again: a softphone can enter
// every one of the operator's conferences as their operator, so a stolen
// session cookie must not be enough to make one.
func (s *Server) handleSetSoftphonePassword(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Softphone == nil {
		s.writeError(w, r, noSoftphones())
		return
	}
	var req struct {
		Password        string `json:"password"`
		CurrentPassword string `json:"current_password"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ip := s.clientIP(r)
	if err := s.cfg.LoginLimiter.Check(ip, "Too many wrong passwords from your address. Try again later."); err != nil {
		s.writeError(w, r, err)
		return
	}
	op := operatorFrom(r.Context())
	ok, err := VerifyPassword(op.PasswordHash, req.CurrentPassword)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !ok {
		s.cfg.LoginLimiter.Fail(ip)
		// EDENIED, not EUNAUTHORIZED: the session is fine, and a 401 would
		// send the console to the login page.
		s.writeError(w, r, dialroom.Errorf(dialroom.EDENIED, "Your console password is not right."))
		return
	}
	if r.Method == http.MethodDelete {
		op.SIP = dialroom.SIPCredentials{}
	} else {
		if err := ValidatePassword(req.Password); err != nil {
			s.writeError(w, r, err)
			return
		}
		if req.Password == req.CurrentPassword {
			s.writeError(w, r, dialroom.Errorf(dialroom.EINVALID, "Use a password for the softphone that is not your console password: softphones keep it in their settings."))
			return
		}
		op.SIP = s.cfg.Softphone.Credentials(op.Login, req.Password)
	}
	if err := s.cfg.Store.UpdateOperator(r.Context(), op); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("softphone password changed", "login", op.Login, "removed", r.Method == http.MethodDelete, "client", ip)
	writeJSON(w, http.StatusOK, s.softphoneOf(op))
}
