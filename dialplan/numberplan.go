package dialplan

import "strings"

// dialroom follows the Japanese numbering plan: country code 81, national
// (trunk) prefix 0, international call prefix 010. Every number a rule sees
// is in one form, whatever the carrier sent or the operator typed:
//
//   - a Japanese number in national form, 0 and then the area code or
//     service prefix: 0312345678, 09012345678 (also when it came as
//     +81312345678 or +81 (0)3-1234-5678);
//   - any other country's number as +, country code, number: +14155550100
//     (also when typed as 010 1 415 555 0100);
//   - anything else (110, #7119, an extension, a SIP user) as it is.
const (
	countryCode         = "81"
	nationalPrefix      = "0"
	internationalPrefix = "010"
	// maxE164Digits: ITU-T E.164 §6.1, at most 15 digits after the +.
	maxE164Digits = 15
)

// separators people type or paste inside numbers, and that tel: URIs carry
// as visual separators (RFC 3966 §5.1.1); they are dropped. ー (the katakana
// prolonged sound mark) is what Japanese input methods often give for a dash.
const separators = " \t\u3000-‐‑‒–—―−ー－.．/()（）"

// cleanDialString drops separators and turns full-width digits (common with
// Japanese input methods) into ASCII. It reports false for any other
// character, or a + that is not first.
func cleanDialString(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9' || r == '*' || r == '#':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == '＊':
			b.WriteByte('*')
		case r == '＃':
			b.WriteByte('#')
		case r == '+' || r == '＋':
			if b.Len() > 0 {
				return "", false
			}
			b.WriteByte('+')
		case strings.ContainsRune(separators, r):
		default:
			return "", false
		}
	}
	return b.String(), true
}

// nationalForm rewrites a clean dial string into the form rules see: +81…
// becomes 0… (dropping a 0 that people write after +81 by habit), 010CC…
// becomes +CC….
func nationalForm(s string) string {
	switch {
	case strings.HasPrefix(s, "+"+countryCode):
		rest := strings.TrimPrefix(s[1+len(countryCode):], nationalPrefix)
		if rest == "" {
			return s
		}
		return nationalPrefix + rest
	case strings.HasPrefix(s, internationalPrefix) && len(s) > len(internationalPrefix):
		return nationalForm("+" + s[len(internationalPrefix):])
	}
	return s
}

// routeForm returns the dialed or calling number of an incoming call in the
// form routes match: a number with separators or a +81 prefix is rewritten
// (see nationalForm; 010 is left alone, since an incoming call's number is
// never dialled with it); a name or a number already in national form is
// returned as it is, without allocating.
func routeForm(s string) string {
	plain := true
	for i := 0; i < len(s); i++ {
		if symbolOf(s[i]) < 0 {
			plain = false
			break
		}
	}
	if plain && !strings.HasPrefix(s, "+"+countryCode) {
		return s
	}
	clean, ok := cleanDialString(s)
	if !ok {
		return s // a name: alice, anonymous
	}
	if strings.HasPrefix(clean, "+"+countryCode) {
		return nationalForm(clean)
	}
	return clean
}

// Category is the kind of a number for dial-out. Only Domestic numbers may be
// allowed by a rule without saying so; the others are the ones toll fraud
// is made of, and a rule must opt in to each by name.
type Category string

const (
	// Domestic is an ordinary Japanese number: fixed line, mobile, IP phone,
	// toll-free (0120, 0800).
	Domestic Category = "domestic"
	// International is a number in another country (+CC…, dialled +… or
	// 010…). Calls abroad are the costliest and the commonest toll fraud.
	International Category = "international"
	// Premium is a Japanese number whose caller pays a rate set by the
	// service, or that bills per call; see premiumRanges.
	Premium Category = "premium"
	// Service is a number without a leading 0 or +: emergency (110, 118,
	// 119), operator services such as 104 (charged directory enquiries),
	// #-numbers like #7119, and 184/186 caller-ID prefixes. Conference
	// operators have no business calling them through a carrier trunk.
	Service Category = "service"
)

// premiumRanges are the Japanese number ranges treated as premium-rate.
// Each bills the caller more than an ordinary call, outside flat rates, and
// part of the charge goes to the number's holder: that is what makes a
// hijacked PBX worth abusing (revenue-share fraud).
//
//   - 0990: ダイヤルQ2, information services whose fee the carrier collects
//     with the phone bill. The service has closed, but the range remains
//     one to refuse.
//   - 0570: ナビダイヤル (NaviDial), nationwide numbers whose caller pays a
//     per-time rate set by the holder, not covered by flat-rate plans.
//   - 0180: テレドーム (Teledome), mass-calling numbers (televoting,
//     announcements) billed per call.
//   - 0170: 伝言ダイヤル (Dengon Dial), a charged voice-message service.
//
// Toll-free numbers (0120, 0800) cost the caller nothing and are Domestic.
var premiumRanges = []struct{ prefix, name string }{
	{"0990", "Dial Q2 information service"},
	{"0570", "NaviDial"},
	{"0180", "Teledome mass-calling"},
	{"0170", "Dengon Dial"},
}

// classify returns the category of a number in national form and its E.164
// form ("" for a Service number, which has none). problem is non-empty for a
// string that is not a number any rule should see.
func classify(n string) (cat Category, e164, detail, problem string) {
	switch {
	case n == "":
		return "", "", "", "the number is empty"
	case strings.HasPrefix(n, "+"+countryCode):
		return "", "", "", "+" + countryCode + " and no number after it"
	case n[0] == '+':
		digits := n[1:]
		if digits == "" || !allDigits(digits) || len(digits) > maxE164Digits {
			return "", "", "", "an international number is + and at most 15 digits"
		}
		return International, n, "", ""
	case strings.HasPrefix(n, "00"):
		// 00XY… selects a carrier for the call (0033, 0036, 0041, 0061…),
		// including for calls abroad. The trunk chooses the carrier.
		return "", "", "", "carrier selection codes (00XY…) are not allowed: dial the number without it"
	case n[0] == '0':
		if !allDigits(n) {
			return "", "", "", "a Japanese number has only digits"
		}
		// National significant numbers are 9 or 10 digits after the 0:
		// 03-1234-5678, 090-1234-5678, 0120-123-456, 0800-123-4567.
		if len(n) < 10 || len(n) > 11 {
			return "", "", "", "a Japanese number has 10 or 11 digits, starting with 0"
		}
		e164 = "+" + countryCode + n[1:]
		for _, r := range premiumRanges {
			if strings.HasPrefix(n, r.prefix) {
				return Premium, e164, r.prefix + " " + r.name, ""
			}
		}
		return Domestic, e164, "", ""
	}
	return Service, "", "", ""
}
