package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/chromedp"
	_ "github.com/mattn/go-sqlite3" // to read the server's database file as it is

	"github.com/dialroom/dialroom/e2e"
)

// A guest's card, with every character vCard must escape and enough
// multi-byte text to need folding inside a character's bytes.
const (
	guestCardName  = `Zoë Müller-Schmidt, Jr.`
	guestCardOrg   = `Acme; Research\Labs, 東京支社 第二開発部 プラットフォームグループ`
	guestCardTitle = `Principal Engineer`
	guestCardEmail = `zoe.mueller@example.org`
	guestCardPhone = `+81 3 1234 5678`
)

// TestCardsBrowser is issue 5's card exchange in real browsers: a guest shares
// a card (with a logo) and the operator and the guest see it; it downloads as a
// valid vCard 4.0; the operator saves a profile card and shares it with one
// click; a late joiner sees both cards and downloads them in one file; a guest
// who leaves takes their card along; and once the conference ends, no card is
// left in the server's memory and no guest card was ever in the database or
// anywhere in the data directory.
func TestCardsBrowser(t *testing.T) {
	e2e.RequireChromium(t)
	srv := startServer(t, "", nil)
	base := srv.URL()

	op := newParticipant(t, "operator", toneOperator)
	g1 := newParticipant(t, "guest1", toneGuest1)
	number := op.openConference(base, srv.AdminPassword)

	g1.joinAndAdmit(op, base, number, "Guest One")
	g1ID := op.memberID("Guest One")

	// The browser-side escaping and folding (cards.js) on hostile input.
	checkVCardWriter(t, g1)

	// Guest 1 fills in the form, picks a logo through the file input and shares.
	logo := testLogo(t)
	g1.fillCard(map[string]string{"name": guestCardName, "org": guestCardOrg, "title": guestCardTitle,
		"email": guestCardEmail, "phone": guestCardPhone})
	g1.eval(fmt.Sprintf(`(async () => {
		const bytes = Uint8Array.from(atob(%q), c => c.charCodeAt(0));
		const input = document.getElementById('card-logo');
		const dt = new DataTransfer();
		dt.items.add(new File([bytes], 'logo.png', {type: 'image/png'}));
		input.files = dt.files;
		input.dispatchEvent(new Event('change'));
		for (let i = 0; i < 100 && !window.dialroomCards.logo; i++) await new Promise(r => setTimeout(r, 20));
		return !!window.dialroomCards.logo;
	})()`, base64.StdEncoding.EncodeToString(logo)), new(bool))
	g1.run("share card", chromedp.Click(chromedp.CSS(".card-share")))
	for _, p := range []*participant{op, g1} {
		p.waitFor("guest 1's card", fmt.Sprintf(`document.querySelector('li.shared-card[data-member-id=%q] .name')?.textContent === %q`, g1ID, guestCardName), 10*time.Second)
	}

	op.waitFor("guest 1's logo", fmt.Sprintf(`(() => { const img = document.querySelector('li.shared-card[data-member-id=%q] img.card-logo');
		return img && !img.hidden && img.src.startsWith('data:image/png;base64,') && img.complete && img.naturalWidth === 24; })()`, g1ID), 5*time.Second)

	// The operator downloads it through the button, as a person would.
	text := op.download(fmt.Sprintf(`li.shared-card[data-member-id=%q] .card-download`, g1ID))
	cards := parseVCards(t, text)
	if len(cards) != 1 {
		t.Fatalf("download holds %d vCards, want 1:\n%s", len(cards), text)
	}
	checkGuestVCard(t, cards[0])

	// The operator saves a profile card, clears the form, and shares the saved
	// card with one click.
	op.fillCard(map[string]string{"name": "Alice Operator", "org": "Dialroom KK", "email": "alice@example.com"})
	op.run("save card", chromedp.Click(chromedp.CSS(".card-save")))
	op.waitFor("saved card", `window.dialroomCards.saved && window.dialroomCards.saved.name === 'Alice Operator'`, 10*time.Second)
	saved, err := srv.DB.OperatorCard(t.Context(), "admin")
	if err != nil || saved.Name != "Alice Operator" || saved.Organization != "Dialroom KK" {
		t.Fatalf("profile card in the database: %+v, %v", saved, err)
	}
	op.fillCard(map[string]string{})
	op.eval(`document.querySelector('.card-editor').open = false, true`, new(bool))
	op.run("share saved card", chromedp.Click(chromedp.CSS(".card-share-saved"))) // one click, form folded
	opID := g1.operatorID()
	g1.waitFor("operator's card", fmt.Sprintf(`document.querySelector('li.shared-card[data-member-id=%q] .name')?.textContent === 'Alice Operator'`, opID), 10*time.Second)

	// A late joiner sees both cards and downloads them in one file.
	g2 := newParticipant(t, "guest2", toneGuest3)
	g2.joinAndAdmit(op, base, number, "Guest Two")
	g2.waitFor("both cards", `document.querySelectorAll('li.shared-card').length === 2`, 10*time.Second)
	all := parseVCards(t, g2.download(`.cards-download-all`))
	if len(all) != 2 {
		t.Fatalf("Download all holds %d vCards, want 2", len(all))
	}
	checkGuestVCard(t, all[0])
	if got := all[1].get("FN"); got != "Alice Operator" {
		t.Errorf("second vCard FN = %q, want the operator's", got)
	}

	room := srv.Engine.Lookup(number)
	if room == nil {
		t.Fatal("no room for the number")
	}
	if got := room.Cards(); len(got) != 2 || got[g1ID].Email != guestCardEmail {
		t.Fatalf("room's cards = %+v, want guest 1's and the operator's", got)
	}

	// Guest 1 leaves: their card goes with them, for everyone.
	g1.eval(`document.getElementById('leave').click(), true`, new(bool))
	for _, p := range []*participant{op, g2} {
		p.waitFor("guest 1's card gone", fmt.Sprintf(`!document.querySelector('li.shared-card[data-member-id=%q]') && window.dialroomCards.cards.size === 1`, g1ID), 10*time.Second)
	}

	// Guest 2 shares a card, then the operator ends the conference.
	g2.fillCard(map[string]string{"name": "Guest Two Card", "email": "guest.two@example.net"})
	g2.run("share card", chromedp.Click(chromedp.CSS(".card-share")))
	op.waitFor("guest 2's card", `window.dialroomCards.cards.size === 2`, 10*time.Second)
	op.eval(`window.confirm = () => true, document.getElementById('end').click(), true`, new(bool))
	g2.waitFor("ended", `window.dialroom.state === 'ended' && window.dialroomCards.cards.size === 0 && !document.querySelector('li.shared-card')`, 10*time.Second)

	waitFor(t, 10*time.Second, "the room to be gone", func() bool { return srv.Engine.Lookup(number) == nil })
	if got := room.Cards(); len(got) != 0 {
		t.Errorf("cards left in the ended room: %+v", got)
	}
	checkNoGuestData(t, srv, []string{guestCardEmail, "Research", "guest.two@example.net", "Guest Two Card"})
}

// joinAndAdmit has the guest ask to join and the operator admit them by
// clicking Admit in the lobby.
func (p *participant) joinAndAdmit(op *participant, base, number, name string) {
	p.t.Helper()
	p.run("join",
		chromedp.Navigate(base+"/join?testaudio=1"),
		chromedp.WaitVisible(chromedp.CSS("#number")),
		chromedp.SendKeys(chromedp.CSS("#number"), number),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.Click(chromedp.CSS("#join")),
	)
	p.waitFor("waiting", `window.dialroom && window.dialroom.state === 'waiting'`, 10*time.Second)
	op.waitFor("lobby entry "+name, fmt.Sprintf(`window.dialroom.lobby.some(r => r.name === %q)`, name), 10*time.Second)
	var id string
	op.eval(fmt.Sprintf(`window.dialroom.lobby.find(r => r.name === %q).id`, name), &id)
	op.waitFor("lobby row "+name, fmt.Sprintf(`document.querySelector('[data-request-id=%q] .admit')`, id), 5*time.Second)
	op.eval(fmt.Sprintf(`document.querySelector('[data-request-id=%q] .admit').click(), true`, id), new(bool))
	p.waitFor("admitted", `window.dialroom.state === 'in'`, 10*time.Second)
}

// fillCard unfolds the card form, sets its fields (missing ones are emptied)
// and drops the logo.
func (p *participant) fillCard(fields map[string]string) {
	p.t.Helper()
	var set strings.Builder
	for _, f := range []string{"name", "org", "title", "email", "phone"} {
		fmt.Fprintf(&set, "document.getElementById('card-%s').value = %q;", f, fields[f])
	}
	p.eval(`(() => { document.querySelector('.card-editor').open = true; window.dialroomCards._setLogo(''); `+set.String()+` return true; })()`, new(bool))
}

// download clicks a download button and returns the text of the file the
// page produced (captured at URL.createObjectURL).
func (p *participant) download(selector string) string {
	p.t.Helper()
	var text string
	p.eval(fmt.Sprintf(`(async () => {
		// Capture the Blob and the link's file name; the link is not followed,
		// so the headless browser writes no file.
		const orig = URL.createObjectURL, origClick = HTMLAnchorElement.prototype.click;
		let blob = null, name = '';
		URL.createObjectURL = (b) => { blob = b; return orig(b); };
		HTMLAnchorElement.prototype.click = function () { name = this.download; };
		try { document.querySelector(%q).click(); } finally {
			URL.createObjectURL = orig;
			HTMLAnchorElement.prototype.click = origClick;
		}
		if (!blob) throw new Error('no download');
		if (!blob.type.startsWith('text/vcard')) throw new Error('download type ' + blob.type);
		if (!name.endsWith('.vcf')) throw new Error('download name ' + name);
		return await blob.text();
	})()`, selector), &text)
	return text
}

// testLogo is a 24×24 PNG carrying a tEXt chunk that must not survive the
// server's re-encoding.
func testLogo(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 24, 24))
	for i := range 24 {
		img.Set(i, i, color.RGBA{200, 30, 30, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// vCard is one parsed vCard: its unfolded content lines by property name
// (parameters kept in the name part, e.g. "EMAIL;TYPE=work").
type vCard struct {
	lines []string // unfolded, in order
}

// get returns the value of the first property whose name (without
// parameters) is name, or "".
func (c vCard) get(name string) string {
	for _, l := range c.lines {
		head, value, _ := strings.Cut(l, ":")
		if prop, _, _ := strings.Cut(head, ";"); strings.EqualFold(prop, name) {
			return value
		}
	}
	return ""
}

// parseVCards checks the physical form of a .vcf (RFC 6350 §3.2: CRLF after
// every line, no line over 75 octets, valid UTF-8 on every physical line) and
// returns its vCards, unfolded.
func parseVCards(t *testing.T, text string) []vCard {
	t.Helper()
	if !strings.HasSuffix(text, "\r\n") {
		t.Fatalf("vCard file does not end with CRLF: %q", text)
	}
	if strings.Contains(strings.ReplaceAll(text, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(text, "\r\n", ""), "\r") {
		t.Fatalf("vCard file has a bare CR or LF: %q", text)
	}
	var (
		out      []vCard
		cur      *vCard
		unfolded []string
		folded   int
	)
	for _, l := range strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line of %d octets (> 75): %q", len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("a fold split a UTF-8 character: %q", l)
		}
		if strings.HasPrefix(l, " ") {
			if len(unfolded) == 0 {
				t.Fatalf("continuation line first: %q", l)
			}
			unfolded[len(unfolded)-1] += l[1:]
			folded++
			continue
		}
		unfolded = append(unfolded, l)
	}
	if folded == 0 {
		t.Errorf("nothing was folded; the test's long values should have been")
	}
	for _, l := range unfolded {
		switch {
		case l == "BEGIN:VCARD":
			out = append(out, vCard{})
			cur = &out[len(out)-1]
		case l == "END:VCARD":
			cur = nil
		case cur == nil:
			t.Errorf("content line outside BEGIN/END: %q", l)
		default:
			cur.lines = append(cur.lines, l)
		}
	}
	for i, c := range out {
		if c.get("VERSION") != "4.0" || c.lines[0] != "VERSION:4.0" {
			t.Errorf("vCard %d: VERSION must be 4.0 and follow BEGIN: %q", i, c.lines)
		}
		if c.get("FN") == "" {
			t.Errorf("vCard %d has no FN", i)
		}
	}
	return out
}

// checkGuestVCard checks guest 1's card as a vCard: escaped values and the
// logo re-encoded by the server (same pixels' size, metadata gone).
func checkGuestVCard(t *testing.T, c vCard) {
	t.Helper()
	want := map[string]string{
		"FN":    `Zoë Müller-Schmidt\, Jr.`,
		"N":     `Zoë Müller-Schmidt\, Jr.;;;;`,
		"ORG":   `Acme\; Research\\Labs\, 東京支社 第二開発部 プラットフォームグループ`,
		"TITLE": guestCardTitle,
		"EMAIL": guestCardEmail,
		"TEL":   "tel:+81-3-1234-5678",
	}
	for prop, v := range want {
		if got := c.get(prop); got != v {
			t.Errorf("%s = %q, want %q", prop, got, v)
		}
	}
	photo := c.get("PHOTO")
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(photo, prefix) {
		t.Fatalf("PHOTO = %.60q…, want a PNG data URI", photo)
	}
	raw, err := base64.StdEncoding.DecodeString(photo[len(prefix):])
	if err != nil {
		t.Fatalf("PHOTO base64: %v", err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil || format != "png" || cfg.Width != 24 || cfg.Height != 24 {
		t.Errorf("PHOTO image: %v %s %+v, want a 24×24 PNG", err, format, cfg)
	}
}

// checkVCardWriter runs cards.js's escaping and folding in the page on input
// a person (or an attacker) could type, and checks the results here.
func checkVCardWriter(t *testing.T, p *participant) {
	t.Helper()
	var got struct {
		Escaped []string
		Folded  []string
		Card    string
		File    string
	}
	p.eval(`(async () => {
		const m = await import('/static/cards.js');
		return {
			escaped: ['a,b', 'a;b', 'a\\b', 'one\ntwo\r\nthree\rfour', '\\,;', ''].map(m.escapeText),
			folded: ['x'.repeat(75), 'x'.repeat(76), 'あ'.repeat(40), 'ORG:' + '😀'.repeat(30)].map(m.foldLine),
			card: m.vcard({name: 'Eve\r\nEND:VCARD\r\nBEGIN:VCARD', logo: 'javascript:alert(1)'}),
			file: m.fileName('../../etc/passwd'),
		};
	})()`, &got)
	wantEscaped := []string{`a\,b`, `a\;b`, `a\\b`, `one\ntwo\nthree\nfour`, `\\\,\;`, ``}
	for i, w := range wantEscaped {
		if i >= len(got.Escaped) || got.Escaped[i] != w {
			t.Errorf("escapeText #%d = %q, want %q", i, got.Escaped, w)
		}
	}
	for i, f := range got.Folded {
		lines := strings.Split(f, "\r\n")
		for j, l := range lines {
			if len(l) > 75 || !utf8.ValidString(l) {
				t.Errorf("foldLine #%d line %d: %d octets, valid UTF-8 %v: %q", i, j, len(l), utf8.ValidString(l), l)
			}
			if j > 0 {
				if !strings.HasPrefix(l, " ") {
					t.Errorf("foldLine #%d: continuation without a space: %q", i, l)
				}
			}
		}
		if want := []int{1, 2, 2, 2}[i]; len(lines) != want {
			t.Errorf("foldLine #%d made %d lines, want %d: %q", i, len(lines), want, f)
		}
	}
	// A name cannot break out of its property, and only image data URIs become PHOTO.
	lines := strings.Split(got.Card, "\r\n")
	if c := strings.Count(got.Card, "\r\nEND:VCARD\r\n"); c != 1 || lines[0] != "BEGIN:VCARD" || strings.Contains(got.Card, "PHOTO") ||
		!strings.Contains(got.Card, "\r\nFN:Eve\\nEND:VCARD\\nBEGIN:VCARD\r\n") {
		t.Errorf("vcard of a hostile card:\n%s", got.Card)
	}
	if got.File != "etc-passwd.vcf" {
		t.Errorf("fileName = %q, want etc-passwd.vcf", got.File)
	}
}

// checkNoGuestData checks that none of the guests' card data is anywhere in
// the data directory (database, WAL, anything else) and that the database
// holds no card but the operator's.
func checkNoGuestData(t *testing.T, srv *testServer, needles []string) {
	t.Helper()
	err := filepath.WalkDir(srv.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				t.Errorf("%s holds guest card data %q", path, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(srv.DataDir, "dialroom.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	var name string
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(name) FROM operator_cards").Scan(&n, &name); err != nil {
		t.Fatal(err)
	}
	if n != 1 || name != "Alice Operator" {
		t.Errorf("operator_cards holds %d cards (max name %q), want only the operator's", n, name)
	}
	if _, err := srv.DB.OperatorCard(ctx, "admin"); err != nil {
		t.Errorf("the operator's saved card is gone: %v", err)
	}
}
