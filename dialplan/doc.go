// Package dialplan turns the dialplan YAML an admin edits into a validated
// [Plan]. For now a plan holds only the numbering rules for issued numbers
// ([Numbering]): which prefixes they use, how many digits are random, whether
// each conference gets a new number or each operator keeps fixed leading digits,
// and how long a number lives. Trunks, routes and dial-out policy come later, as
// more top-level sections of the same file.
//
// The package is pure: it reads no files and opens no sockets. [Load] gets the
// bytes and a file name for its messages; randomness comes from the io.Reader the
// caller hands to [Numbering.Generate] (crypto/rand.Reader in production).
//
// Loading is strict. Unknown keys, values of the wrong type and values out of
// range are errors; [Load] reports every problem at once, each as a [*Problem]
// naming FILE:LINE:COL, what is wrong and what was expected. A key with no value
// (YAML null) is the same as a missing key: its default applies.
package dialplan
