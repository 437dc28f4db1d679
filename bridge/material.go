package bridge

import "github.com/dialroom/dialroom"

// A shared material (patent claims 9–10) is room state, like business cards
// (card.go): which document of the operator's library the room looks at, how
// many pages it has, the page everyone shows, and who turns the pages (the
// presenter). The room only keeps ids and numbers; the page images and who
// may fetch them are the adapter's (webclient). Material events go to browser
// members only: a phone cannot show a page.

// MaterialView is the room's shared view of a material.
type MaterialView struct {
	ID        string // the material's id in the operator's library
	Name      string // for display
	Pages     int    // page count, at least 1
	Page      int    // the page everyone shows, 1..Pages
	Presenter string // member id of who turns the pages; "" while nobody does
}

// MaterialSelected tells a browser member which material the room shows now,
// with its page and presenter: sent to everyone in when a member selects one
// (no strokes yet), and to a newcomer right after its Admitted or Hosting
// (after the cards) with the current page's strokes. Strokes are shared by
// every event: adapters must not modify them.
type MaterialSelected struct {
	View    MaterialView
	Strokes []Stroke
}

// MaterialPage tells every browser member the page shown or the presenter
// changed (a page turn, the operator taking the presenter role back, the
// presenter leaving), with the strokes of that page.
type MaterialPage struct {
	Page      int
	Presenter string
	Strokes   []Stroke
}

// MaterialClosed tells every browser member the room no longer shows a
// material.
type MaterialClosed struct{}

// MaterialPolicy tells browser members whether guests may select materials;
// sent on change, and to a newcomer right after its Admitted or Hosting when
// selection is restricted (allowed is the default).
type MaterialPolicy struct{ GuestsMaySelect bool }

func (MaterialSelected) event() {}
func (MaterialPage) event()     {}
func (MaterialClosed) event()   {}
func (MaterialPolicy) event()   {}

// materialState is a room's material state; guarded by Room.mu.
type materialState struct {
	view         *MaterialView // nil: no material shown
	operatorOnly bool          // the operator restricted selection to themself
	turns        rateWindow    // page turns (maxTurnsPerSecond)
	marks        rateWindow    // draws, undos, clears (material_strokes.go)
	strokes      map[int][]Stroke
	strokeSeq    int
}

// maxTurnsPerSecond bounds page turns in a room. Each turn is one event to
// every member; a presenter holding a key down makes ~30 a second, and a
// client in a loop could fill every member's event queue (which disconnects
// them), so turns beyond this are refused, not queued.
const maxTurnsPerSecond = 20

// SelectMaterial shows a material of the operator's library to the room:
// every browser member, the selector included, receives MaterialSelected
// with page 1 and the selector as presenter. The adapter has checked that v
// names a ready material of the room's operator (the room knows no library).
// Only browser members select (EINVALID); guests only while the operator
// allows it (EDENIED); a member who left gets EGONE.
func (m *Member) SelectMaterial(id, name string, pages int) error {
	if m.identity.Kind != dialroom.MemberKindBrowser {
		return dialroom.Errorf(dialroom.EINVALID, "Only browser members can share a document.")
	}
	if id == "" || pages < 1 {
		return dialroom.Errorf(dialroom.EINVALID, "That document has no pages to show.")
	}
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone {
		return dialroom.Errorf(dialroom.EGONE, "You are no longer in this conference.")
	}
	if r.material.operatorOnly && m.identity.Role != dialroom.RoleOperator {
		return dialroom.Errorf(dialroom.EDENIED, "Only the operator can share documents in this conference.")
	}
	v := MaterialView{ID: id, Name: name, Pages: pages, Page: 1, Presenter: m.id}
	r.material.view = &v
	r.material.strokes = nil // marks belong to the material they were drawn on
	r.deliverBrowsersLocked(MaterialSelected{View: v})
	return nil
}

// TurnPage shows page (1..Pages) to everyone: every browser member receives
// MaterialPage. Only the presenter turns pages (EDENIED); no material shown
// or a page out of range is EINVALID; too many turns in a second ETHROTTLED.
func (m *Member) TurnPage(page int) error {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	v, err := r.presentingLocked(m)
	if err != nil {
		return err
	}
	if page < 1 || page > v.Pages {
		return dialroom.Errorf(dialroom.EINVALID, "The document has pages 1 to %d.", v.Pages)
	}
	if page == v.Page {
		return nil
	}
	if !r.material.turns.allow(r.engine.now(), maxTurnsPerSecond) {
		return dialroom.Errorf(dialroom.ETHROTTLED, "Pages are turning too fast; wait a moment.")
	}
	v.Page = page
	r.deliverBrowsersLocked(MaterialPage{Page: v.Page, Presenter: v.Presenter, Strokes: r.pageStrokesLocked(v.Page)})
	return nil
}

// TakePresenter makes the operator the presenter (the operator takes the
// view back); every browser member receives MaterialPage. Only the operator
// may (EDENIED); no material shown is EINVALID.
func (m *Member) TakePresenter() error {
	if err := m.mustBeOperator(); err != nil {
		return err
	}
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.material.view
	if v == nil {
		return dialroom.Errorf(dialroom.EINVALID, "No document is being shown.")
	}
	if v.Presenter != m.id {
		v.Presenter = m.id
		r.deliverBrowsersLocked(MaterialPage{Page: v.Page, Presenter: v.Presenter, Strokes: r.pageStrokesLocked(v.Page)})
	}
	return nil
}

// CloseMaterial stops showing the material; every browser member receives
// MaterialClosed. The operator and the presenter may (EDENIED otherwise); it
// does nothing when no material is shown.
func (m *Member) CloseMaterial() error {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.gone {
		return dialroom.Errorf(dialroom.EGONE, "You are no longer in this conference.")
	}
	v := r.material.view
	if v == nil {
		return nil
	}
	if v.Presenter != m.id && m.identity.Role != dialroom.RoleOperator {
		return dialroom.Errorf(dialroom.EDENIED, "Only the presenter or the operator can close the document.")
	}
	r.material.view = nil
	r.material.strokes = nil
	r.deliverBrowsersLocked(MaterialClosed{})
	return nil
}

// SetGuestsMaySelect lets guests select materials or restricts selection to
// the operator; every browser member receives MaterialPolicy. A material
// already shown stays. Only the operator may (EDENIED).
func (m *Member) SetGuestsMaySelect(allowed bool) error {
	if err := m.mustBeOperator(); err != nil {
		return err
	}
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.material.operatorOnly == !allowed {
		return nil
	}
	r.material.operatorOnly = !allowed
	r.deliverBrowsersLocked(MaterialPolicy{GuestsMaySelect: allowed})
	return nil
}

// MayShow reports whether the member is still in the room and the room
// shows material id with at least page pages. Adapters check it on every
// page request, so a member who left, or a material no longer shown, gets
// nothing.
func (m *Member) MayShow(id string, page int) bool {
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.material.view
	return !m.gone && !r.ended && v != nil && v.ID == id && page >= 1 && page <= v.Pages
}

// Material returns the room's shared view, or false when none is shown.
func (r *Room) Material() (MaterialView, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.material.view == nil {
		return MaterialView{}, false
	}
	return *r.material.view, true
}

// GuestsMaySelect reports whether guests may select materials.
func (r *Room) GuestsMaySelect() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.material.operatorOnly
}

// presentingLocked returns the shown view if m is its presenter.
func (r *Room) presentingLocked(m *Member) (*MaterialView, error) {
	if m.gone {
		return nil, dialroom.Errorf(dialroom.EGONE, "You are no longer in this conference.")
	}
	v := r.material.view
	if v == nil {
		return nil, dialroom.Errorf(dialroom.EINVALID, "No document is being shown.")
	}
	if v.Presenter != m.id {
		return nil, dialroom.Errorf(dialroom.EDENIED, "Only the presenter can do that.")
	}
	return v, nil
}

// sendMaterialLocked tells a newcomer the selection policy and the material
// shown, if any.
func (r *Room) sendMaterialLocked(to *Member) {
	if to.identity.Kind != dialroom.MemberKindBrowser {
		return
	}
	// Guests may select unless told otherwise (docs/protocol.md), so the
	// policy is sent only when the operator restricted it.
	if r.material.operatorOnly {
		to.endpoint.Deliver(MaterialPolicy{GuestsMaySelect: false})
	}
	v := r.material.view
	if v == nil {
		return
	}
	to.endpoint.Deliver(MaterialSelected{View: *v, Strokes: r.pageStrokesLocked(v.Page)})
	// An operator coming back (a reload, another window) to a material
	// nobody presents takes the pages over again.
	if v.Presenter == "" && to.identity.Role == dialroom.RoleOperator {
		v.Presenter = to.id
		r.deliverBrowsersLocked(MaterialPage{Page: v.Page, Presenter: v.Presenter, Strokes: r.pageStrokesLocked(v.Page)})
	}
}

// materialLeftLocked hands the presenter role of a member who left to the
// operator's browser member, or to nobody while the operator is not in.
func (r *Room) materialLeftLocked(m *Member) {
	v := r.material.view
	if v == nil || v.Presenter != m.id {
		return
	}
	v.Presenter = ""
	if op := r.operatorMemberLocked(); op != nil && op.identity.Kind == dialroom.MemberKindBrowser {
		v.Presenter = op.id
	}
	r.deliverBrowsersLocked(MaterialPage{Page: v.Page, Presenter: v.Presenter, Strokes: r.pageStrokesLocked(v.Page)})
}

// deliverBrowsersLocked sends ev to every browser member in the room.
func (r *Room) deliverBrowsersLocked(ev Event) {
	for _, o := range r.members {
		if o.identity.Kind == dialroom.MemberKindBrowser {
			o.endpoint.Deliver(ev)
		}
	}
}
