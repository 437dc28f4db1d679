package bridge

import (
	"slices"
	"strconv"
	"time"

	"github.com/dialroom/dialroom"
)

// Pen strokes over the shared page (docs/protocol.md "Shared materials").
// Each page of the shown material keeps its own strokes while the material
// is shown; selecting another material or closing it drops them all. Points
// are normalised to the page like the pointer's.

// Stroke is one pen stroke on a page. Points are (x, y) pairs in 0..1.
type Stroke struct {
	ID       string // unique within the room's material
	MemberID string // who drew it
	Color    string // "#rrggbb"
	Points   [][2]float64
}

// StrokeAdded tells every browser member, the drawer included (who learns
// the id), that a stroke was drawn on page Page. Stroke is shared by every
// event of one drawing: adapters must not modify it.
type StrokeAdded struct {
	Page   int
	Stroke Stroke
}

// StrokeRemoved tells every browser member a stroke was undone.
type StrokeRemoved struct {
	Page int
	ID   string
}

// PageCleared tells every browser member all strokes of page Page are gone.
type PageCleared struct{ Page int }

func (StrokeAdded) event()   {}
func (StrokeRemoved) event() {}
func (PageCleared) event()   {}

// Limits on marks. Why: strokes live in memory for the conference and the
// current page's strokes go to every newcomer and with every page turn, so
// a page holds at most maxStrokesPerPage × maxPointsPerStroke points
// (~100,000, a couple of MB of JSON at worst); a browser ends a stroke and
// starts the next one when it reaches maxPointsPerStroke. maxMarksPerSecond
// bounds draws, undos and clears in a room (each is an event to everyone).
const (
	maxPointsPerStroke = 500
	maxStrokesPerPage  = 200
	maxMarksPerSecond  = 50
)

// Draw adds a stroke to the page shown now; every browser member receives
// StrokeAdded. Any browser member may draw while a material is shown
// (EINVALID otherwise); the colour is "#rrggbb" and the stroke has 1 to
// maxPointsPerStroke points in 0..1 (EINVALID); a full page is EINVALID
// with a message, too many marks in a second ETHROTTLED. The room keeps its
// own copy of points.
func (m *Member) Draw(color string, points [][2]float64) error {
	if m.identity.Kind != dialroom.MemberKindBrowser {
		return dialroom.Errorf(dialroom.EINVALID, "Only browser members can draw.")
	}
	if !validColor(color) {
		return dialroom.Errorf(dialroom.EINVALID, "A pen colour is written #rrggbb.")
	}
	if len(points) == 0 || len(points) > maxPointsPerStroke {
		return dialroom.Errorf(dialroom.EINVALID, "A stroke has 1 to %d points.", maxPointsPerStroke)
	}
	for _, p := range points {
		if !inUnit(p[0]) || !inUnit(p[1]) {
			return dialroom.Errorf(dialroom.EINVALID, "Stroke points are pairs of numbers from 0 to 1.")
		}
	}
	return m.withMarkable(func(r *Room, v *MaterialView) error {
		s := &r.material
		if len(s.strokes[v.Page]) >= maxStrokesPerPage {
			return dialroom.Errorf(dialroom.EINVALID, "This page holds as many marks as it can; clear it first.")
		}
		if err := r.allowMarkLocked(); err != nil {
			return err
		}
		s.strokeSeq++
		st := Stroke{ID: "s" + strconv.Itoa(s.strokeSeq), MemberID: m.id, Color: color, Points: slices.Clone(points)}
		if s.strokes == nil {
			s.strokes = map[int][]Stroke{}
		}
		s.strokes[v.Page] = append(s.strokes[v.Page], st)
		r.deliverBrowsersLocked(StrokeAdded{Page: v.Page, Stroke: st})
		return nil
	})
}

// Undo removes the member's last stroke on the page shown now; every
// browser member receives StrokeRemoved. It does nothing when the member
// has no stroke there.
func (m *Member) Undo() error {
	return m.withMarkable(func(r *Room, v *MaterialView) error {
		s := &r.material
		list := s.strokes[v.Page]
		i := len(list) - 1
		for i >= 0 && list[i].MemberID != m.id {
			i--
		}
		if i < 0 {
			return nil
		}
		if err := r.allowMarkLocked(); err != nil {
			return err
		}
		id := list[i].ID
		s.strokes[v.Page] = slices.Delete(list, i, i+1)
		r.deliverBrowsersLocked(StrokeRemoved{Page: v.Page, ID: id})
		return nil
	})
}

// ClearPage removes every stroke of the page shown now; every browser
// member receives PageCleared. Only the presenter and the operator may
// (EDENIED).
func (m *Member) ClearPage() error {
	return m.withMarkable(func(r *Room, v *MaterialView) error {
		if v.Presenter != m.id && m.identity.Role != dialroom.RoleOperator {
			return dialroom.Errorf(dialroom.EDENIED, "Only the presenter or the operator can clear the page.")
		}
		s := &r.material
		if err := r.allowMarkLocked(); err != nil {
			return err
		}
		delete(s.strokes, v.Page)
		r.deliverBrowsersLocked(PageCleared{Page: v.Page})
		return nil
	})
}

// Strokes returns a copy of the strokes on page of the shown material.
func (r *Room) Strokes(page int) []Stroke {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pageStrokesLocked(page)
}

// pageStrokesLocked returns a copy of the page's stroke list (the Points
// are shared: strokes are never modified once drawn).
func (r *Room) pageStrokesLocked(page int) []Stroke {
	return slices.Clone(r.material.strokes[page])
}

// withMarkable runs fn with the room locked and the shown view, if m may
// mark it (else it returns markableLocked's error without calling fn).
func (m *Member) withMarkable(fn func(r *Room, v *MaterialView) error) error {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	v, err := r.markableLocked(m)
	if err != nil {
		return err
	}
	return fn(r, v)
}

// markableLocked returns the shown view if m may mark it.
func (r *Room) markableLocked(m *Member) (*MaterialView, error) {
	if m.gone {
		return nil, dialroom.Errorf(dialroom.EGONE, "You are no longer in this conference.")
	}
	if r.material.view == nil {
		return nil, dialroom.Errorf(dialroom.EINVALID, "No document is being shown.")
	}
	return r.material.view, nil
}

// rateWindow counts actions in one-second windows.
type rateWindow struct {
	start time.Time
	n     int
}

// allow reports whether one more action fits in the current window of one
// second, counting it if so.
func (w *rateWindow) allow(now time.Time, perSecond int) bool {
	if now.Sub(w.start) >= time.Second {
		w.start, w.n = now, 0
	}
	if w.n >= perSecond {
		return false
	}
	w.n++
	return true
}

func validColor(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	for i := 1; i < 7; i++ {
		if !('0' <= c[i] && c[i] <= '9' || 'a' <= c[i] && c[i] <= 'f' || 'A' <= c[i] && c[i] <= 'F') {
			return false
		}
	}
	return true
}

// allowMarkLocked counts one mark (a stroke, an undo, a clear) against the
// room's rate, maxMarksPerSecond: ETHROTTLED when it is spent.
func (r *Room) allowMarkLocked() error {
	if !r.material.marks.allow(r.engine.now(), maxMarksPerSecond) {
		return dialroom.Errorf(dialroom.ETHROTTLED, "Marks are coming too fast; wait a moment.")
	}
	return nil
}
