package main

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/sip"
	"github.com/dialroom/dialroom/storage"
	"github.com/dialroom/dialroom/webclient"
)

const operatorUsage = `Usage:
  dialroom operator add LOGIN [--name NAME]   create an operator; password from stdin
  dialroom operator passwd LOGIN              set a new password from stdin (logs out everywhere)
  dialroom operator sip-password LOGIN        set the softphone (SIP) password from stdin
  dialroom operator sip-password LOGIN --clear   remove the softphone password
  dialroom operator extension LOGIN NUMBER    give the operator extension NUMBER (2-6 digits)
  dialroom operator extension LOGIN --clear   take the operator's extension away
  dialroom operator caller-id LOGIN NUMBER    present NUMBER on the operator's calls through trunks
  dialroom operator caller-id LOGIN --clear   present the trunk's caller_id again
  dialroom operator list                      list operators
  dialroom operator remove LOGIN              remove an operator and revoke their numbers
All take --config FILE and --data DIR to find the database serve uses.
`

func runOperator(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(stdout, operatorUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub := args[0]
	fs := flag.NewFlagSet("operator "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var common commonFlags
	common.register(fs)
	name := ""
	if sub == "add" {
		fs.StringVar(&name, "name", "", "display name shown to guests (default: the login)")
	}
	clearPW := false
	if sub == "sip-password" {
		fs.BoolVar(&clearPW, "clear", false, "remove the softphone password: the softphone can no longer register")
	}
	if sub == "extension" {
		fs.BoolVar(&clearPW, "clear", false, "take the extension away: extension routes no longer reach the operator")
	}
	if sub == "caller-id" {
		fs.BoolVar(&clearPW, "clear", false, "remove the operator's caller ID: their calls present the trunk's caller_id")
	}
	positional, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	needLogin := sub != "list"
	want := 1
	if (sub == "extension" || sub == "caller-id") && !clearPW {
		want = 2 // LOGIN NUMBER
	}
	if needLogin && len(positional) != want || !needLogin && len(positional) != 0 {
		fmt.Fprint(stderr, operatorUsage)
		return errUsage
	}
	db, err := openDatabase(common)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	switch sub {
	case "add":
		return operatorAdd(ctx, db, positional[0], name, stdin, stdout)
	case "passwd":
		return operatorPasswd(ctx, db, positional[0], stdin, stdout)
	case "sip-password":
		return operatorSIPPassword(ctx, db, common, positional[0], clearPW, stdin, stdout)
	case "extension":
		return operatorExtension(ctx, db, positional, clearPW, stdout)
	case "caller-id":
		return operatorCallerID(ctx, db, positional, clearPW, stdout)
	case "list":
		return operatorList(ctx, db, stdout)
	case "remove":
		if err := db.DeleteOperator(ctx, positional[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Removed operator %q; their numbers are revoked.\n", positional[0])
		return nil
	}
	fmt.Fprintf(stderr, "dialroom operator: unknown subcommand %q\n\n%s", sub, operatorUsage)
	return errUsage
}

// openDatabase opens the database serve would use with the same flags.
func openDatabase(c commonFlags) (*storage.DB, error) {
	cfg, err := loadConfig(c.config)
	if err != nil {
		return nil, err
	}
	dir := cfg.DataDir
	if c.data != "" {
		dir = c.data
	}
	return storage.Open(filepath.Join(dir, "dialroom.db"))
}

// readPassword reads one line from stdin (a terminal, a pipe or a file).
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", dialroom.Errorf(dialroom.EINVALID, "No password on standard input (e.g. echo 'a long password' | dialroom operator add LOGIN).")
	}
	return pw, webclient.ValidatePassword(pw)
}

// validLogin accepts 1–64 characters of letters, digits, '.', '_', '-' and '@'
// (a login may be a mail address), so logins are easy to type and to log.
func validLogin(login string) error {
	if len(login) == 0 || len(login) > 64 || strings.IndexFunc(login, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r))
	}) >= 0 {
		return dialroom.Errorf(dialroom.EINVALID, "A login ID has 1 to 64 letters, digits, '.', '_', '-' or '@'.")
	}
	return nil
}

func operatorAdd(ctx context.Context, db *storage.DB, login, name string, stdin io.Reader, stdout io.Writer) error {
	if err := validLogin(login); err != nil {
		return err
	}
	pw, err := readPassword(stdin)
	if err != nil {
		return err
	}
	hash, err := webclient.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := db.CreateOperator(ctx, &dialroom.Operator{Login: login, DisplayName: name, PasswordHash: hash}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Added operator %q.\n", login)
	return nil
}

func operatorPasswd(ctx context.Context, db *storage.DB, login string, stdin io.Reader, stdout io.Writer) error {
	op, err := db.OperatorByLogin(ctx, login)
	if err != nil {
		return err
	}
	pw, err := readPassword(stdin)
	if err != nil {
		return err
	}
	if op.PasswordHash, err = webclient.HashPassword(pw); err != nil {
		return err
	}
	if err := db.UpdateOperator(ctx, op); err != nil {
		return err
	}
	if err := db.DeleteOperatorSessions(ctx, login); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Password of %q changed; their sessions are logged out.\n", login)
	return nil
}

// operatorSIPPassword stores the digest HA1 values of an operator's
// softphone password for the configured realm (the password itself is not
// kept), or removes them.
func operatorSIPPassword(ctx context.Context, db *storage.DB, c commonFlags, login string, clearPW bool, stdin io.Reader, stdout io.Writer) error {
	op, err := db.OperatorByLogin(ctx, login)
	if err != nil {
		return err
	}
	if clearPW {
		op.SIP = dialroom.SIPCredentials{}
		if err := db.UpdateOperator(ctx, op); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Softphone password of %q removed.\n", login)
		return nil
	}
	cfg, err := loadConfig(c.config)
	if err != nil {
		return err
	}
	pw, err := readPassword(stdin)
	if err != nil {
		return err
	}
	op.SIP = sip.NewSIPCredentials(login, cfg.SIP.Realm, pw)
	if err := db.UpdateOperator(ctx, op); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Softphone password of %q set: register as %q in realm %q.\n", login, login, cfg.SIP.Realm)
	return nil
}

// operatorExtension sets or clears an operator's extension number
// (docs/phone.md): args are LOGIN [NUMBER].
func operatorExtension(ctx context.Context, db *storage.DB, args []string, clearExt bool, stdout io.Writer) error {
	login, ext := args[0], ""
	if !clearExt {
		ext = args[1]
	}
	if err := db.SetOperatorExtension(ctx, login, ext); err != nil {
		return err
	}
	if clearExt {
		fmt.Fprintf(stdout, "Extension of %q removed.\n", login)
		return nil
	}
	fmt.Fprintf(stdout, "Operator %q has extension %s: a dialplan extension route naming %s (or %q) rings their softphone.\n", login, ext, ext, login)
	return nil
}

// operatorCallerID sets or clears the number an operator's calls through
// trunks present (docs/dialout.md): args are LOGIN [NUMBER].
func operatorCallerID(ctx context.Context, db *storage.DB, args []string, clearCID bool, stdout io.Writer) error {
	login, number := args[0], ""
	if !clearCID {
		number = args[1]
	}
	number, err := db.SetOperatorCallerID(ctx, login, number)
	if err != nil {
		return err
	}
	if clearCID {
		fmt.Fprintf(stdout, "Caller ID of %q removed: their calls present the trunk's caller_id.\n", login)
		return nil
	}
	fmt.Fprintf(stdout, "Operator %q's calls through trunks present %s (where the trunk lists it among its dids, or lists none).\n", login, number)
	return nil
}

func operatorList(ctx context.Context, db *storage.DB, stdout io.Writer) error {
	ops, err := db.ListOperators(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOGIN\tNAME\tEXTENSION\tCALLER ID\tSOFTPHONE\tCREATED")
	for _, op := range ops {
		soft := "-"
		if op.SIP.Set() {
			soft = "realm " + op.SIP.Realm
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", op.Login, op.Name(), cmp.Or(op.Extension, "-"), cmp.Or(op.CallerID, "-"),
			soft, op.CreatedAt.UTC().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}
