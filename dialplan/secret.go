package dialplan

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a credential from the dialplan, such as a trunk's password. Its
// String, Format, GoString, MarshalText and LogValue methods never show the
// value, so a Secret can be logged, printed with %v or %+v, or marshalled as
// part of a larger value without leaking it. Only Reveal returns it: call
// that where the credential is used (SIP digest authentication) and nowhere
// else.
type Secret struct {
	value  string
	source string // where the value comes from, safe to show
}

const redacted = "[redacted]"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return s.value }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s.value != "" }

// Source says where the value came from without showing it: "environment
// variable NAME", "file PATH", "inline in the dialplan", or "" for none.
func (s Secret) Source() string { return s.source }

// String returns "[redacted]", or "" when the secret has no value.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// Format prints String for every verb, so %v, %+v, %#v, %s, %q and %x never
// show the value.
func (s Secret) Format(f fmt.State, verb rune) { io.WriteString(f, s.String()) }

// GoString returns String.
func (s Secret) GoString() string { return s.String() }

// MarshalText returns String, for encoding/json, YAML and the like.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue returns String, for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// LoadOptions give the loader what it needs to resolve secrets (a trunk's
// password written as ${NAME} or as password_file) and to check prompt
// files. The dialplan package does no I/O itself; the server passes
// os.LookupEnv, os.ReadFile and sip.CheckPromptFile.
type LoadOptions struct {
	// Getenv looks up an environment variable. nil means none are available:
	// an enabled trunk whose password is ${NAME} is then an error.
	Getenv func(name string) (string, bool)
	// ReadFile reads a password_file. nil means no file can be read.
	ReadFile func(path string) ([]byte, error)
	// CheckPrompt checks that the sound file of a prompt (an absolute path)
	// can be played; an error makes the prompt's entry a problem of the
	// file, reported with its line. nil skips the check (the file is then
	// first read when a call plays it). The server and `dialroom dialplan
	// check` pass sip.CheckPromptFile.
	CheckPrompt func(path string) error
	// SkipSecrets checks how secrets are written but does not resolve them:
	// for checking a dialplan on a machine that lacks the server's
	// environment (CI). A plan loaded this way has no passwords.
	SkipSecrets bool
}

// envReference is a whole value of the form ${NAME}.
var envReference = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

const expectedEnv = "${NAME}, the name of an environment variable in letters, digits and _, e.g. ${CARRIER_PASSWORD}"

// secretValue decodes an inline password or a ${NAME} reference. The value is
// never put in a message. resolve is false for a disabled trunk: its password
// is checked for form only, so a trunk can be prepared before its
// credentials exist.
func (d *decoder) secretValue(path string, n *yaml.Node, resolve bool) (Secret, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" && n.Tag != "!!int" && n.Tag != "!!float" {
		// describe would quote the value: say only what kind of thing it is.
		kind := "a mapping"
		switch n.Kind {
		case yaml.SequenceNode:
			kind = "a list"
		case yaml.ScalarNode:
			kind = "a value of type " + strings.TrimPrefix(n.Tag, "!!")
		}
		d.errorf(n, path, "a password in quotes, or "+expectedEnv, "found %s", kind)
		return Secret{}, false
	}
	v := n.Value
	if m := envReference.FindStringSubmatch(v); m != nil {
		s := Secret{source: "environment variable " + m[1]}
		if !resolve || d.opts.SkipSecrets {
			return s, true
		}
		if d.opts.Getenv == nil {
			d.errorf(n, path, "a loader given the environment", "%s cannot be read: this loader has no environment", m[0])
			return Secret{}, false
		}
		val, ok := d.opts.Getenv(m[1])
		switch {
		case !ok:
			d.errorf(n, path, "the variable set in the server's environment", "environment variable %s is not set", m[1])
			return Secret{}, false
		case val == "":
			d.errorf(n, path, "a non-empty password", "environment variable %s is empty", m[1])
			return Secret{}, false
		}
		s.value = val
		return s, true
	}
	if strings.Contains(v, "${") || strings.HasPrefix(v, "$") {
		d.errorf(n, path, expectedEnv+", alone in the value", "malformed environment variable reference")
		return Secret{}, false
	}
	if v == "" {
		d.errorf(n, path, "a non-empty password", "empty password")
		return Secret{}, false
	}
	d.warnf(n, path, "password written inline: anyone who can read this file can use the trunk (use ${NAME} or password_file instead)")
	return Secret{value: v, source: "inline in the dialplan"}, true
}

// secretFile decodes password_file: a path, relative to the dialplan file's
// directory unless absolute, holding the password. One trailing newline is
// ignored; the file's content is never put in a message.
func (d *decoder) secretFile(path string, n *yaml.Node, resolve bool) (Secret, bool) {
	const expected = "the path of a file holding the password, e.g. /etc/dialroom/carrier.password"
	file, ok := d.str(path, n, expected)
	if !ok {
		return Secret{}, false
	}
	if file == "" || strings.ContainsRune(file, 0) {
		d.errorf(n, path, expected, "bad file name %q", file)
		return Secret{}, false
	}
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(d.File), file)
	}
	s := Secret{source: "file " + file}
	if !resolve || d.opts.SkipSecrets {
		return s, true
	}
	if d.opts.ReadFile == nil {
		d.errorf(n, path, "a loader that may read files", "%s cannot be read: this loader reads no files", file)
		return Secret{}, false
	}
	data, err := d.opts.ReadFile(file)
	if err != nil {
		d.errorf(n, path, "a readable file", "cannot read the password: %v", err)
		return Secret{}, false
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	switch {
	case v == "":
		d.errorf(n, path, "a file holding the password", "%s is empty", file)
		return Secret{}, false
	case strings.ContainsAny(v, "\r\n"):
		d.errorf(n, path, "the password alone on one line", "%s holds more than one line", file)
		return Secret{}, false
	}
	s.value = v
	return s, true
}
