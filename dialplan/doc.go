// Package dialplan turns the dialplan YAML a telecom admin edits into a
// validated [Plan], and answers the two questions the telephony side asks of
// it:
//
//   - [Plan.Route]: where does this incoming call go? To a conference's lobby
//     (an issued number), to a prompt that collects a number by DTMF, to an
//     operator's softphone, or a rejection with a SIP status. The [Decision]
//     names the rule that decided, by name and line, for logs and call
//     records.
//   - [Plan.Dialout]: may this operator call this number, through which trunk,
//     and as which E.164 number? Anything no rule allows is denied, and
//     international, premium-rate and service numbers need a rule that opts in
//     to them by name.
//
// A plan also holds the numbering rules for issued numbers ([Numbering]), the
// carrier trunks ([Trunk]), the prompts rules refer to ([Prompt]) and the
// dial-out limits ([DialoutLimits]). docs/dialplan.md describes the file.
//
// The package is pure: it reads no files and opens no sockets. [Load] gets the
// bytes and a file name for its messages; [LoadWith] also gets the functions
// that resolve secrets (environment variables, password files); randomness
// comes from the io.Reader the caller hands to [Numbering.Generate]
// (crypto/rand.Reader in production). It does not enforce dial-out limits or
// check that an issued number is live: that takes state, which the telephony
// side and storage own.
//
// Loading is strict. Unknown keys, values of the wrong type and values out of
// range, bad patterns, duplicate names, references to undefined trunks or
// prompts are errors; [Load] reports every problem at once, each as a
// [*Problem] naming FILE:LINE:COL, what is wrong and what was expected. A key
// with no value (YAML null) is the same as a missing key: its default applies.
// Things that are allowed but probably not meant, such as a route that an
// earlier route shadows, are warnings ([Plan.Warnings]).
//
// Routing compiles every route's patterns into a trie, so [Plan.Route] takes
// time proportional to the length of the number, not to the number of routes
// (routes written as regular expressions excepted), and does not allocate for
// a number already in national form; see index.go and docs/benchmarks.md.
package dialplan
