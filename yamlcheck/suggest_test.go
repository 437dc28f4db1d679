package yamlcheck

import "testing"

func TestDidYouMean(t *testing.T) {
	tests := []struct {
		got     string
		options []string
		want    string
	}{
		{"lisen", []string{"listen", "public_url"}, `; did you mean "listen"?`},
		{"LISTEN", []string{"listen"}, `; did you mean "listen"?`},
		{"tsl", []string{"tls", "listen"}, `; did you mean "tls"?`},
		{"listen", []string{"listen"}, `; did you mean "listen"?`},
		{"abc", []string{"xyz"}, ""},
		{"timeout", []string{"time"}, ""},                                  // three edits: not a typo
		{"routs", []string{"routes", "route"}, `; did you mean "routes"?`}, // ties go to the first
		{"x", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.got, func(t *testing.T) {
			if got := DidYouMean(tt.got, tt.options...); got != tt.want {
				t.Errorf("DidYouMean(%q, %q) = %q, want %q", tt.got, tt.options, got, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"tls", "tsl", 2},
		{"same", "same", 0},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestExpectedKey(t *testing.T) {
	tests := []struct {
		got  string
		keys []string
		want string
	}{
		{"levl", []string{"level", "format"}, `one of level, format; did you mean "level"?`},
		{"x", []string{"timeout"}, "timeout"},
		{"timout", []string{"timeout"}, `timeout; did you mean "timeout"?`},
		{"zzz", []string{"a", "b", "c"}, "one of a, b, c"},
	}
	for _, tt := range tests {
		if got := ExpectedKey(tt.got, tt.keys...); got != tt.want {
			t.Errorf("ExpectedKey(%q, %q) = %q, want %q", tt.got, tt.keys, got, tt.want)
		}
	}
}
