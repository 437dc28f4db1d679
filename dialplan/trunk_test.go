package dialplan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTrunk(t *testing.T) {
	p := mustLoad(t, `
trunks:
  - name: carrier
    registrar: sip:sip.example.net
    sources: ["192.0.2.10", "198.51.100.0/24", "2001:db8::/32"]
    dids: ["03-1234-5678", "_060XXXXXXXX"]
    caller_id: "+81 3 1234 5678"
    codecs: [pcma, OPUS, PCMU]
  - name: ip-auth
    registrar: 203.0.113.5:5080
    transport: TCP
    register_interval: 0
    sources: [203.0.113.5]
  - name: secure
    registrar: sips:[2001:db8::1]:5061
  - name: off
    enabled: false
    registrar: 2001:db8::2
    sources: [192.0.2.10]
`)
	carrier, ipAuth, secure, off := p.Trunk("carrier"), p.Trunk("ip-auth"), p.Trunk("secure"), p.Trunk("off")
	if carrier == nil || ipAuth == nil || secure == nil || off == nil || p.Trunk("nope") != nil {
		t.Fatal("Trunk by name")
	}
	want := &Trunk{
		Name: "carrier", Line: 3, Enabled: true,
		Registrar: "sip:sip.example.net", Host: "sip.example.net", Transport: UDP,
		RegisterInterval: DefaultRegisterInterval,
		Sources: []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32"), netip.MustParsePrefix("198.51.100.0/24"),
			netip.MustParsePrefix("2001:db8::/32")},
		DIDs:     []string{"03-1234-5678", "_060XXXXXXXX"},
		CallerID: "+81312345678",
		Codecs:   []string{"PCMA", "opus", "PCMU"},
	}
	got := *carrier
	got.dids, got.column, got.path = nil, 0, ""
	if !reflect.DeepEqual(&got, want) {
		t.Errorf("carrier:\n got %+v\nwant %+v", &got, want)
	}
	if ipAuth.Host != "203.0.113.5" || ipAuth.Port != 5080 || ipAuth.Transport != TCP || ipAuth.RegisterInterval != 0 ||
		ipAuth.Registrar != "sip:203.0.113.5:5080" || !reflect.DeepEqual(ipAuth.Codecs, DefaultCodecs()) {
		t.Errorf("ip-auth: %+v", ipAuth)
	}
	if secure.Host != "2001:db8::1" || secure.Port != 5061 || secure.Transport != TLS || secure.Registrar != "sips:[2001:db8::1]:5061" {
		t.Errorf("secure: %+v", secure)
	}
	if off.Enabled || off.Registrar != "sip:[2001:db8::2]" || off.Host != "2001:db8::2" {
		t.Errorf("off: %+v", off)
	}

	for addr, want := range map[string]string{
		"192.0.2.10": "carrier", "::ffff:192.0.2.10": "carrier", "198.51.100.77": "carrier", "2001:db8:1::1": "carrier",
		"203.0.113.5": "ip-auth", "192.0.2.11": "", "203.0.113.6": "",
	} {
		name := ""
		if tr := p.TrunkFrom(netip.MustParseAddr(addr)); tr != nil {
			name = tr.Name
		}
		if name != want {
			t.Errorf("TrunkFrom(%s) = %q, want %q (a disabled trunk never matches)", addr, name, want)
		}
	}
	for n, want := range map[string]bool{"0312345678": true, "06012345678": true, "0312345679": false, "03-1234-5678": false} {
		if carrier.Delivers(n) != want {
			t.Errorf("Delivers(%s) = %v", n, !want)
		}
	}
	// Caller IDs: the DIDs only, in either form; any through a trunk
	// without DIDs.
	for n, want := range map[string]bool{"0312345678": true, "+81312345678": true, "03-1234-5678": true,
		"06012345678": true, "0312345679": false, "+14155550100": false, "03x": false} {
		if carrier.MayPresent(n) != want {
			t.Errorf("carrier.MayPresent(%s) = %v", n, !want)
		}
	}
	if !ipAuth.MayPresent("0312345679") {
		t.Error("a trunk without DIDs refuses a caller ID")
	}
}

func TestRegistrarErrors(t *testing.T) {
	tests := map[string]string{
		"sips:sip.example.net\n    transport: udp": "a sips: registrar is reached over TLS only, not udp",
		"http://sip.example.net":                   `unsupported URI scheme "http"`,
		"sip:alice@sip.example.net":                "has a user part",
		"sip:sip.example.net;transport=tcp":        "URI parameters",
		"sip:sip.example.net:0":                    `bad port "0"`,
		"sip:sip.example.net:x":                    `bad port "x"`,
		"sip:-bad-.example.net":                    `bad host "-bad-.example.net"`,
		"sip:sip_example.net":                      `bad host`,
		"sip:[2001:db8::1":                         `bad host`,
		"'sip:'":                                   `bad host ""`,
	}
	for registrar, want := range tests {
		_, err := Load("t.yaml", []byte("trunks:\n  - name: c\n    registrar: "+registrar+"\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("registrar %s: %v, want %q", registrar, err, want)
		}
	}
}

const secretPlan = `
trunks:
  - name: env
    registrar: sip:a.example.net
    username: user-a
    password: ${A_PASSWORD}
  - name: file
    registrar: sip:b.example.net
    username: user-b
    password_file: secrets/b.password
  - name: absolute
    registrar: sip:c.example.net
    username: user-c
    password_file: /run/secrets/c
  - name: disabled
    enabled: false
    registrar: sip:d.example.net
    username: user-d
    password: ${D_PASSWORD}
`

// fakeEnv serves secretPlan's variables and files.
func fakeEnv(env map[string]string, files map[string]string) LoadOptions {
	return LoadOptions{
		Getenv: func(name string) (string, bool) { v, ok := env[name]; return v, ok },
		ReadFile: func(path string) ([]byte, error) {
			if v, ok := files[path]; ok {
				return []byte(v), nil
			}
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		},
	}
}

func TestSecrets(t *testing.T) {
	opts := fakeEnv(map[string]string{"A_PASSWORD": "env-secret-A"},
		map[string]string{"/etc/dialroom/secrets/b.password": "file-secret-B\n", "/run/secrets/c": "file-secret-C\r\n"})
	p, err := LoadWith("/etc/dialroom/dialplan.yaml", []byte(secretPlan), opts)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"env": "env-secret-A", "file": "file-secret-B", "absolute": "file-secret-C", "disabled": ""} {
		if got := p.Trunk(name).Password.Reveal(); got != want {
			t.Errorf("%s: password %q, want %q", name, got, want)
		}
	}
	if got := p.Trunk("file").Password.Source(); got != "file /etc/dialroom/secrets/b.password" {
		t.Errorf("source %q", got)
	}
	if got := p.Trunk("disabled").Password.Source(); got != "environment variable D_PASSWORD" {
		t.Errorf("source %q", got)
	}
	if len(p.Warnings) > 0 {
		t.Errorf("warnings: %q", p.Warnings)
	}
	checkNoSecrets(t, p, "env-secret-A", "file-secret-B", "file-secret-C")
}

// checkNoSecrets prints the plan every way a careless caller might and fails
// if a secret shows.
func checkNoSecrets(t *testing.T, p *Plan, secrets ...string) {
	t.Helper()
	var out bytes.Buffer
	for _, tr := range p.Trunks {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			fmt.Fprintf(&out, verb+"\n", tr.Password)
			fmt.Fprintf(&out, verb+"\n", *tr)
		}
		fmt.Fprintf(&out, "%+v %#v\n", tr, tr)
		fmt.Fprintln(&out, tr.Password.String(), tr.Password.GoString(), tr.Password)
		b, err := json.Marshal(tr)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
		slog.New(slog.NewTextHandler(&out, nil)).Info("trunk", "password", tr.Password, "trunk", tr)
		slog.New(slog.NewJSONHandler(&out, nil)).Info("trunk", "password", tr.Password, "trunk", *tr)
	}
	fmt.Fprintf(&out, "%+v\n", p)
	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("secret %q printed:\n%s", s, out.String())
		}
	}
	if !strings.Contains(out.String(), redacted) {
		t.Error("no [redacted] in the output")
	}
}

func TestSecretErrors(t *testing.T) {
	tests := []struct {
		name string
		opts LoadOptions
		want []string
	}{
		{
			name: "no environment",
			opts: LoadOptions{},
			want: []string{
				"t.yaml:6:15: trunks[0].password: ${A_PASSWORD} cannot be read: this loader has no environment",
				"t.yaml:10:20: trunks[1].password_file: secrets/b.password cannot be read: this loader reads no files",
				"t.yaml:14:20: trunks[2].password_file: /run/secrets/c cannot be read: this loader reads no files",
			},
		},
		{
			name: "missing, empty, unreadable",
			opts: fakeEnv(map[string]string{"A_PASSWORD": ""}, map[string]string{"/run/secrets/c": "one\ntwo\n"}),
			want: []string{
				"t.yaml:6:15: trunks[0].password: environment variable A_PASSWORD is empty (expected a non-empty password)",
				"t.yaml:10:20: trunks[1].password_file: cannot read the password: open secrets/b.password: file does not exist (expected a readable file)",
				"t.yaml:14:20: trunks[2].password_file: /run/secrets/c holds more than one line (expected the password alone on one line)",
			},
		},
		{
			name: "not set, empty file",
			opts: fakeEnv(nil, map[string]string{"secrets/b.password": "\n", "/run/secrets/c": "x"}),
			want: []string{
				"t.yaml:6:15: trunks[0].password: environment variable A_PASSWORD is not set (expected the variable set in the server's environment)",
				"t.yaml:10:20: trunks[1].password_file: secrets/b.password is empty (expected a file holding the password)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadWith("t.yaml", []byte(secretPlan), tt.opts)
			got := problems(t, err)
			for i, w := range tt.want {
				if i >= len(got) || !strings.HasPrefix(got[i], w) {
					t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}

	// SkipSecrets checks the form only: the plan loads without passwords.
	p, err := LoadWith("t.yaml", []byte(secretPlan), LoadOptions{SkipSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Trunk("env").Password.IsSet() || p.Trunk("env").Password.Source() != "environment variable A_PASSWORD" {
		t.Errorf("SkipSecrets: %#v", p.Trunk("env").Password)
	}
}

func TestInlinePasswordNotPrinted(t *testing.T) {
	p := mustLoad(t, "trunks:\n  - name: c\n    registrar: c.example\n    username: u\n    password: hunter2-inline\n")
	if p.Trunk("c").Password.Reveal() != "hunter2-inline" {
		t.Fatal("inline password not read")
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "password written inline") {
		t.Errorf("warnings %q", p.Warnings)
	}
	checkNoSecrets(t, p, "hunter2-inline")

	// A malformed value is not quoted in the message either.
	_, err := Load("t.yaml", []byte("trunks:\n  - name: c\n    registrar: c.example\n    username: u\n    password: ${hunter2 }\n"))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %v", err)
	}
	var p2 *Problem
	if !errors.As(err, &p2) {
		t.Fatal("not a *Problem")
	}
}

func TestRegisterInterval(t *testing.T) {
	for v, want := range map[string]time.Duration{"0": 0, "1m": time.Minute, "10m": 10 * time.Minute, "24h": 24 * time.Hour} {
		p := mustLoad(t, "trunks:\n  - name: c\n    registrar: c.example\n    register_interval: "+v+"\n")
		if got := p.Trunk("c").RegisterInterval; got != want {
			t.Errorf("%s: %v", v, got)
		}
	}
	for _, v := range []string{"59s", "25h", "90500ms", "-1m", "soon"} {
		if _, err := Load("t.yaml", []byte("trunks:\n  - name: c\n    registrar: c.example\n    register_interval: "+v+"\n")); err == nil {
			t.Errorf("%s accepted", v)
		}
	}
}

// TestInboundAuth: a trunk with inbound_auth is found by its username (only
// when enabled); inbound_auth without credentials is an error.
func TestInboundAuth(t *testing.T) {
	p := mustLoad(t, `
trunks:
  - name: peer
    registrar: sip:pbx.example.net
    username: branch-office
    password: a-long-peer-secret
    inbound_auth: true
    dids: ["_2XX"]
  - name: plain
    registrar: sip:carrier.example.net
    username: plain-user
    password: another-secret
    sources: [192.0.2.1]
  - name: off
    enabled: false
    registrar: sip:pbx2.example.net
    username: off-user
    password: x
    inbound_auth: true
`)
	if tr := p.TrunkByUser("branch-office"); tr == nil || tr.Name != "peer" || !tr.InboundAuth {
		t.Errorf("TrunkByUser(branch-office) = %+v", tr)
	}
	for _, user := range []string{"plain-user", "off-user", "nobody"} {
		if tr := p.TrunkByUser(user); tr != nil {
			t.Errorf("TrunkByUser(%s) = %s, want none (no inbound_auth, disabled or unknown)", user, tr.Name)
		}
	}
	_, err := Load("t.yaml", []byte("trunks:\n  - name: c\n    registrar: sip:x.example.net\n    inbound_auth: true\n"))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:4:19: trunks[0].inbound_auth: inbound_auth needs the trunk's username and password") {
		t.Errorf("inbound_auth without credentials: %v", err)
	}
}
