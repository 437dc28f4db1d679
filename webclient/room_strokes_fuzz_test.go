package webclient

import (
	"encoding/json"
	"testing"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

type nopEndpoint struct{}

func (nopEndpoint) Deliver(bridge.Event) {}

// FuzzMaterialMessage decodes untrusted client frames as the reader does and
// hands the material fields to the room as the session does: no input
// panics, and whatever stroke the room accepts has valid points and colour.
func FuzzMaterialMessage(f *testing.F) {
	f.Add([]byte(`{"type":"material_stroke","color":"#ff0000","points":[[0.1,0.2],[0.3,0.4]]}`))
	f.Add([]byte(`{"type":"material_stroke","color":"#FFFFFF","points":[[1,1]]}`))
	f.Add([]byte(`{"type":"material_stroke","color":"#ff0000","points":[[1e309,0]]}`))
	f.Add([]byte(`{"type":"material_stroke","color":"red","points":[[0.1]]}`))
	f.Add([]byte(`{"type":"material_pointer","x":0.5,"y":-0}`))
	f.Add([]byte(`{"type":"material_pointer","visible":false}`))
	f.Add([]byte(`{"type":"material_page","page":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var msg inbound
		if json.Unmarshal(data, &msg) != nil {
			return
		}
		e := bridge.NewEngine(bridge.Config{})
		defer e.Close()
		n := &dialroom.Number{Digits: "06011112222", Operator: "alice"}
		m, err := e.Host(n, "Alice", dialroom.Identity{Role: dialroom.RoleOperator, Kind: dialroom.MemberKindBrowser}, nopEndpoint{})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SelectMaterial("m1", "a.pdf", 3); err != nil {
			t.Fatal(err)
		}
		switch msg.Type {
		case "material_stroke":
			if m.Draw(msg.Color, msg.Points) != nil {
				return
			}
			s := m.Room().Strokes(1)
			if len(s) != 1 || len(s[0].Color) != 7 || len(s[0].Points) == 0 {
				t.Fatalf("accepted stroke: %+v", s)
			}
			for _, p := range s[0].Points {
				if !(p[0] >= 0 && p[0] <= 1 && p[1] >= 0 && p[1] <= 1) {
					t.Fatalf("accepted point %v", p)
				}
			}
		case "material_pointer":
			if msg.X != nil && msg.Y != nil {
				_ = m.MovePointer(*msg.X, *msg.Y, msg.Visible == nil || *msg.Visible)
			}
		case "material_page":
			if msg.Page != nil {
				if err := m.TurnPage(*msg.Page); err == nil && (*msg.Page < 1 || *msg.Page > 3) {
					t.Fatalf("turned to page %d of 3", *msg.Page)
				}
			}
		}
	})
}
