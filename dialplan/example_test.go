package dialplan_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/dialplan"
)

func ExampleNumbering_Generate() {
	plan, err := dialplan.Load("dialplan.yaml", []byte(`
numbering:
  prefixes: ["060"]
  mode: per_operator
  random_digits: 4
`))
	if err != nil {
		log.Fatal(err)
	}
	num := plan.Numbering

	// Production code passes crypto/rand.Reader. A seeded generator keeps this
	// example's output the same on every run.
	r := rand.NewChaCha8([32]byte{})

	// In per_operator mode the operator's stem is made once and stored with
	// the operator; StemValid tells when a changed dialplan needs a new one.
	stem, err := num.NewStem(r)
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		digits, err := num.Generate(r, stem)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(dialroom.FormatNumber(digits), num.Allows(digits))
	}
	// Output:
	// 060-7566-9482 true
	// 060-7566-6158 true
	// 060-7566-8997 true
}
