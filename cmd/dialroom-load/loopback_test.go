package main

import (
	"context"
	"errors"
	"net"
	"testing"
)

func TestLoopbackBaseURL(t *testing.T) {
	tests := []struct {
		in, want string // want "" means refused
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/console?x=1", "http://127.0.0.1:8080"},
		{"http://127.3.4.5:1", "http://127.3.4.5:1"},
		{"http://[::1]:8080/", "http://[::1]:8080"},
		{"http://localhost:9000", "http://127.0.0.1:9000"},
		{"http://127.0.0.1", "http://127.0.0.1:80"},
		{"http://[::ffff:127.0.0.1]:80", "http://127.0.0.1:80"},
		{"http://10.0.0.1:8080", ""},
		{"http://192.0.2.1:8080", ""},
		{"http://example.com:8080", ""},
		{"http://localhost.example.com", ""},
		{"http://0.0.0.0:8080", ""},
		{"http://[::]:8080", ""},
		{"https://127.0.0.1:8443", ""},
		{"ws://127.0.0.1:8080", ""},
		{"http://user:pw@127.0.0.1:8080", ""},
		{"127.0.0.1:8080", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := loopbackBaseURL(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("accepted as %s; want refused", u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.String() != tt.want {
				t.Errorf("got %s, want %s", u, tt.want)
			}
		})
	}
}

func TestLoopbackDialerRefusesOtherAddresses(t *testing.T) {
	d := loopbackDialer()
	// TEST-NET-1 (RFC 5737): refused in Control, before any packet is sent.
	_, err := d.DialContext(context.Background(), "tcp", "192.0.2.1:80")
	if !errors.Is(err, errNotLoopback) {
		t.Fatalf("dial 192.0.2.1: %v; want errNotLoopback", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := d.DialContext(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("dial loopback: %v", err)
	}
	c.Close()
}
