// Package yamlcheck owns what the two files admins edit, the server config
// (package configs) and the dialplan (package dialplan), share about strict
// YAML: decoding the bytes into a go.yaml.in/yaml/v3 node tree, reporting
// problems as [*Problem] values that read FILE:LINE:COL: path: message
// (expected …), the checks every mapping key gets (merge keys, keys that are
// not plain, duplicates), the "did you mean" suggestions for typos, the
// description of a node for "found …" messages, and the duration syntax both
// files accept ("90s", "7d").
//
// It exists so that configs and dialplan, which must not import each other,
// word their messages alike from one copy of this code.
//
// It does not know what either file means: which keys exist, which values are
// valid and what they decode into belong to configs and dialplan, which walk
// the tree themselves. It does no I/O: callers hand it the bytes and the file
// name to put in messages.
package yamlcheck
