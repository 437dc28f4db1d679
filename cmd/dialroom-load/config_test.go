package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Spawn = true
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" means valid
	}{
		{"spawn defaults", func(*Config) {}, ""},
		{"url with password", func(c *Config) { c.Spawn, c.URL, c.Password = false, "http://127.0.0.1:8080", "pw" }, ""},
		{"neither url nor spawn", func(c *Config) { c.Spawn = false }, "give --url"},
		{"both", func(c *Config) { c.URL = "http://127.0.0.1:1" }, "exclude each other"},
		{"remote url", func(c *Config) { c.Spawn, c.URL, c.Password = false, "http://192.0.2.1:80", "pw" }, "loopback"},
		{"no password", func(c *Config) { c.Spawn, c.URL = false, "http://127.0.0.1:8080" }, "--password"},
		{"rooms descend", func(c *Config) { c.Rooms = []int{5, 1} }, "ascend"},
		{"too many", func(c *Config) { c.Rooms, c.Size = []int{100}, 10 }, "at most 400"},
		{"size 1", func(c *Config) { c.Size = 1 }, "--size"},
		{"too long", func(c *Config) { c.Rooms, c.Duration, c.Windows = []int{1, 2, 3}, 5*time.Minute, 2 }, "at most"},
		{"video fraction", func(c *Config) { c.Video, c.VideoFraction = true, 0 }, "--video-fraction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			c.Rooms = slices.Clone(ok.Rooms)
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v; want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParseRooms(t *testing.T) {
	got, err := parseRooms("1, 5,10")
	if err != nil || !slices.Equal(got, []int{1, 5, 10}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := parseRooms("1,x"); err == nil {
		t.Fatal("accepted a non-number")
	}
}

func TestRoomComposition(t *testing.T) {
	c := DefaultConfig()
	for _, tt := range []struct{ size, talkers int }{{2, 1}, {3, 1}, {4, 2}, {10, 2}} {
		c.Size = tt.size
		if got := c.talkers(); got != tt.talkers {
			t.Errorf("size %d: %d talkers, want %d", tt.size, got, tt.talkers)
		}
	}
	c.Size, c.Video, c.VideoFraction = 10, true, 0.2
	if got := c.videoSenders(); got != 2 {
		t.Errorf("video senders %d, want 2", got)
	}
	c.Size = 2
	if got := c.videoSenders(); got != 1 {
		t.Errorf("video senders in a pair %d, want at least 1", got)
	}
}

func TestSpreadOf(t *testing.T) {
	if s := spreadOf([]float64{3, 1, 2}); s != (spread{2, 1, 3}) {
		t.Errorf("odd: %+v", s)
	}
	if s := spreadOf([]float64{4, 1, 2, 3}); s != (spread{2.5, 1, 4}) {
		t.Errorf("even: %+v", s)
	}
}
