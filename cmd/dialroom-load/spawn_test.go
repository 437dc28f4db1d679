package main

import (
	"strings"
	"testing"
)

func TestScanPassword(t *testing.T) {
	tests := []struct{ name, out, want string }{
		{"banner", "\nFirst start: created operator \"admin\".\n  Log in at http://127.0.0.1:1/console\n  Password:  abcDEF234\n(shown only this once)\n\n", "abcDEF234"},
		{"no banner", "dialroom serving\n", ""},
		{"malformed", "  Password:\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan string, 1)
			scanPassword(strings.NewReader(tt.out), got)
			if p := <-got; p != tt.want {
				t.Errorf("got %q, want %q", p, tt.want)
			}
		})
	}
}
