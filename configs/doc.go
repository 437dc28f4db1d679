// Package configs owns the server configuration: the Config type with its
// defaults, loading and validation of dialroom.yaml, and the embedded default
// files (DefaultYAML and DefaultDialplanYAML) that let `dialroom serve` run with
// no files at all.
//
// It does not read files or the environment: the caller reads the bytes and
// hands them to Load with the file name for messages. It does not interpret the
// dialplan either; that is package dialplan's job, and this package only
// carries its default text.
//
// Loading is strict. Unknown keys, values of the wrong type and invalid values
// are errors; Load reports every problem at once, each as a *Problem naming
// FILE:LINE:COL, the key, what is wrong and what was expected. A key with no
// value (YAML null) is the same as a missing key: its default applies.
// Durations take Go syntax ("90s", "10m", "12h") or days ("7d").
package configs
