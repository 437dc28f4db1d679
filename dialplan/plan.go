package dialplan

import "go.yaml.in/yaml/v3"

// Plan is a validated dialplan. Load returns a new Plan for each file; a Plan is
// not modified afterwards, so it may be shared between goroutines, and a reload
// swaps the whole Plan rather than changing one in place.
type Plan struct {
	// Numbering holds the rules for issued numbers (the numbering section).
	Numbering Numbering

	// Warnings are things that are allowed but probably not meant, each as
	// FILE:LINE:COL: message. The caller shows them to the admin (a log line).
	Warnings []string
}

// Load parses and validates the dialplan in data. filename is only used in
// messages. An empty file, or a file without a numbering section, gives the
// defaults (see DefaultNumbering).
//
// On any problem Load returns a nil Plan and all problems joined with
// errors.Join, each a *Problem that reads FILE:LINE:COL: what is wrong
// (expected ...). Load is safe to call from several goroutines.
func Load(filename string, data []byte) (*Plan, error) {
	d := &decoder{file: filename}
	plan := &Plan{Numbering: DefaultNumbering()}
	if root := d.parse(data); root != nil {
		d.mapping("", root, []field{
			{"numbering", func(path string, v *yaml.Node) {
				plan.Numbering = decodeNumbering(d, path, v)
			}},
		},
			// Sections a later version understands. They are refused with a
			// clear message, never ignored: a trunk the admin wrote must not
			// silently do nothing.
			"trunks", "routes", "dialout")
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	plan.Warnings = d.warnings
	return plan, nil
}
