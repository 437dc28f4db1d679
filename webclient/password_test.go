package webclient

import (
	"strings"
	"testing"
)

func TestHashPassword(t *testing.T) {
	h1, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("correct horse battery")
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not an argon2id PHC string with our parameters", h1)
	}
	if h1 == h2 {
		t.Errorf("two hashes of one password are equal: the salt is not random")
	}
	for _, c := range []struct {
		password string
		want     bool
	}{
		{"correct horse battery", true},
		{"correct horse batterY", false},
		{"", false},
	} {
		ok, err := VerifyPassword(h1, c.password)
		if err != nil || ok != c.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", c.password, ok, err, c.want)
		}
	}
	if ok, err := VerifyPassword(dummyHash, "anything at all"); err != nil || ok {
		t.Errorf("the dummy hash must parse and match nothing: %v, %v", ok, err)
	}
	for _, bad := range []string{"", "plain", "$2a$10$bcrypt", "$argon2id$v=18$m=1,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=x$a$b"} {
		if _, err := VerifyPassword(bad, "x"); err == nil {
			t.Errorf("VerifyPassword accepted malformed hash %q", bad)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	for _, c := range []struct {
		pw string
		ok bool
	}{
		{"short", false},
		{"123456789", false},
		{"1234567890", true},
		{"パスワードは十文字以上", true}, // counted in characters, not bytes
		{strings.Repeat("x", 257), false},
	} {
		if err := ValidatePassword(c.pw); (err == nil) != c.ok {
			t.Errorf("ValidatePassword(%q) = %v, want ok=%v", c.pw, err, c.ok)
		}
	}
}
