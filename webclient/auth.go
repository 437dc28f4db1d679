package webclient

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/dialroom/dialroom"
)

// sessionCookie is the name of the operator's session cookie.
const sessionCookie = "dialroom_session"

type operatorKey struct{}

// operatorFrom returns the operator a requireOperator handler runs for.
func operatorFrom(ctx context.Context) *dialroom.Operator {
	op, _ := ctx.Value(operatorKey{}).(*dialroom.Operator)
	return op
}

// requireOperator runs h only for a request with a valid session cookie.
func (s *Server) requireOperator(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		op, err := s.sessionOperator(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), operatorKey{}, op)))
	}
}

// sessionOperator returns the operator of the request's session cookie, or an
// EUNAUTHORIZED error.
func (s *Server) sessionOperator(r *http.Request) (*dialroom.Operator, error) {
	unauthorized := dialroom.Errorf(dialroom.EUNAUTHORIZED, "Please log in.")
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, unauthorized
	}
	sess, err := s.cfg.Store.SessionByTokenHash(r.Context(), hashToken(c.Value), s.cfg.Now())
	if err != nil {
		if dialroom.ErrorCode(err) == dialroom.ENOTFOUND {
			return nil, unauthorized
		}
		return nil, err
	}
	op, err := s.cfg.Store.OperatorByLogin(r.Context(), sess.Operator)
	if err != nil {
		if dialroom.ErrorCode(err) == dialroom.ENOTFOUND {
			return nil, unauthorized
		}
		return nil, err
	}
	return op, nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

type operatorResponse struct {
	Login string `json:"login"`
	Name  string `json:"name"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	if err := s.cfg.LoginLimiter.Check(ip, "Too many failed logins from your address. Try again later."); err != nil {
		s.cfg.Metrics.login("throttled")
		s.writeError(w, r, err)
		return
	}
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Login == "" || req.Password == "" {
		s.writeError(w, r, dialroom.Errorf(dialroom.EINVALID, "Enter your login ID and password."))
		return
	}
	op, err := s.authenticate(r.Context(), req.Login, req.Password)
	if err != nil {
		if dialroom.ErrorCode(err) == dialroom.EUNAUTHORIZED {
			s.cfg.LoginLimiter.Fail(ip)
			s.cfg.Metrics.login("failed")
			// A fail2ban-friendly line: fixed words, the address as a field.
			s.log.Warn("login failed", "client", ip, "login", req.Login)
		}
		s.writeError(w, r, err)
		return
	}
	s.cfg.LoginLimiter.Reset(ip)
	token, err := s.newToken()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := s.cfg.Now()
	sess := &dialroom.Session{TokenHash: hashToken(token), Operator: op.Login, Created: now, Expires: now.Add(s.cfg.SessionLifetime)}
	if err := s.cfg.Store.CreateSession(r.Context(), sess); err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", Expires: sess.Expires,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	s.cfg.Metrics.login("ok")
	s.log.Info("login", "client", ip, "login", op.Login)
	writeJSON(w, http.StatusOK, operatorResponse{Login: op.Login, Name: op.Name()})
}

// authenticate checks a login and password. Unknown logins and wrong passwords
// get the same error after the same work, so neither the message nor the time
// tells which logins exist.
func (s *Server) authenticate(ctx context.Context, login, password string) (*dialroom.Operator, error) {
	wrong := dialroom.Errorf(dialroom.EUNAUTHORIZED, "Wrong login ID or password.")
	op, err := s.cfg.Store.OperatorByLogin(ctx, login)
	if err != nil {
		if dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
			return nil, err
		}
		_, _ = VerifyPassword(dummyHash, password)
		return nil, wrong
	}
	ok, err := VerifyPassword(op.PasswordHash, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, wrong
	}
	return op, nil
}

// newToken returns 32 random bytes, URL-safe base64: unguessable session ids.
func (s *Server) newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.cfg.Store.DeleteSession(r.Context(), hashToken(c.Value)); err != nil && dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
			s.writeError(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	op := operatorFrom(r.Context())
	writeJSON(w, http.StatusOK, operatorResponse{Login: op.Login, Name: op.Name()})
}
