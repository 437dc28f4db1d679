package configs

import _ "embed"

// DefaultYAML is the default server config, commented for admins: what
// `dialroom serve` uses without a config file, and a starting point for one.
// It loads to exactly Default(). Callers must not modify it.
//
//go:embed dialroom.yaml
var DefaultYAML []byte

// DefaultDialplanYAML is the default dialplan (a commented numbering section),
// used when Config.Dialplan is "". Package dialplan loads it. Callers must not
// modify it.
//
//go:embed dialplan.yaml
var DefaultDialplanYAML []byte
