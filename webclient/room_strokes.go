package webclient

import (
	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// Pen strokes over the shared page (docs/protocol.md "Shared materials"):
// the room (bridge) keeps and checks them; this file translates.

// jsonStroke is the stroke object of docs/protocol.md.
type jsonStroke struct {
	ID     string       `json:"id"`
	Member string       `json:"member"`
	Color  string       `json:"color"`
	Points [][2]float64 `json:"points"`
}

type msgStroke struct {
	Type   string     `json:"type"`
	Page   int        `json:"page"`
	Stroke jsonStroke `json:"stroke"`
}

type msgUnstroke struct {
	Type string `json:"type"`
	Page int    `json:"page"`
	ID   string `json:"id"`
}

type msgCleared struct {
	Type string `json:"type"`
	Page int    `json:"page"`
}

func toJSONStroke(s bridge.Stroke) jsonStroke {
	return jsonStroke{ID: s.ID, Member: s.MemberID, Color: s.Color, Points: s.Points}
}

// toJSONStrokes never returns nil: the client gets [] for a clean page.
func toJSONStrokes(ss []bridge.Stroke) []jsonStroke {
	out := make([]jsonStroke, 0, len(ss))
	for _, s := range ss {
		out = append(out, toJSONStroke(s))
	}
	return out
}

// strokeAction handles material_stroke, material_undo and material_clear.
func (c *session) strokeAction(msg inbound) error {
	if err := c.mustBeIn(); err != nil {
		return err
	}
	var err error
	switch msg.Type {
	case "material_stroke":
		err = c.member.Draw(msg.Color, msg.Points)
	case "material_undo":
		err = c.member.Undo()
	default: // "material_clear"
		err = c.member.ClearPage()
	}
	if dialroom.ErrorCode(err) == dialroom.ETHROTTLED {
		c.send(errorMessage(err)) // answered, not fatal: a fast pen is no attack
		return nil
	}
	return err
}

// strokeEvent translates the room's stroke events for the client.
func (c *session) strokeEvent(ev bridge.Event) {
	switch ev := ev.(type) {
	case bridge.StrokeAdded:
		c.send(msgStroke{Type: "material_stroke", Page: ev.Page, Stroke: toJSONStroke(ev.Stroke)})
	case bridge.StrokeRemoved:
		c.send(msgUnstroke{Type: "material_unstroke", Page: ev.Page, ID: ev.ID})
	case bridge.PageCleared:
		c.send(msgCleared{Type: "material_cleared", Page: ev.Page})
	}
}
