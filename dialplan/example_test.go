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

func ExamplePlan_Route() {
	plan, err := dialplan.Load("dialplan.yaml", []byte(`
trunks:
  - name: carrier
    registrar: sip:sip.example.net
    sources: [192.0.2.10]
routes:
  - name: direct-dial
    to: _060XXXXXXXX
    action: conference
  - name: access-number
    to: "0312345678"
    trunk: carrier
    action: collect
  - name: rest
    action: reject
    status: 404
`))
	if err != nil {
		log.Fatal(err)
	}
	// The carrier delivers the access number: ask for the conference number.
	d := plan.Route(dialplan.Call{To: "+81312345678", From: "09011112222", Trunk: "carrier"})
	fmt.Println(d)
	fmt.Println("prompt:", d.Prompt, "then", d.Collect.Digits, "digits ending with", d.Collect.Terminator)

	// The caller keys the number; it is routed again as a collected number.
	call := dialplan.Call{To: "+81312345678", From: "09011112222", Trunk: "carrier"}
	d = plan.Route(call.WithCollected("06012345678"))
	fmt.Println(d)
	// Output:
	// collect 11 digits (route "access-number", line 10)
	// prompt: enter-number (built-in) then 11 digits ending with #
	// conference 06012345678 (route "direct-dial", line 7)
}

func ExamplePlan_Dialout() {
	plan, err := dialplan.Load("dialplan.yaml", []byte(`
trunks:
  - name: carrier
    registrar: sip:sip.example.net
dialout:
  rules:
    - name: japan
      allow: ["_0ZXXXXXXXX", "_0Z0XXXXXXXX"]
      trunk: carrier
`))
	if err != nil {
		log.Fatal(err)
	}
	for _, number := range []string{"03-1234-5678", "0570-123-456", "+1 415 555 0100"} {
		fmt.Println(plan.Dialout("alice", number))
	}
	// Output:
	// allowed: 0312345678 as +81312345678 via trunk "carrier" (rule "japan", line 7)
	// denied: 0570123456 is a premium (0570 NaviDial) number, and rule "japan" does not set allow_premium: true (rule "japan", line 7)
	// denied: no dial-out rule allows alice to call +14155550100 (no rule matched: dial-out is denied unless a rule allows it)
}
