package webclient

import (
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// Shared materials in a conference (docs/protocol.md "Shared materials",
// docs/api.md "Pages of the shared material"). The room (package bridge)
// keeps which material is shown; this file checks selections against the
// operator's library, tells each member the page URLs, and serves the pages.
//
// Guests have no cookie, so each member gets a page token over its
// WebSocket (in admitted or hosting): 128 random bits, valid while that
// session is in the room. A page request names the material and the page in
// the path and carries the token as a query parameter; it is answered only
// if the token's member is still in the room and the room shows that
// material now. Anything else is 404, exactly like a page that does not
// exist, so nobody learns which materials or tokens exist.

// pageTokens maps members' page tokens to their members. Safe for
// concurrent use: sessions issue and revoke on their run goroutines, page
// requests look up on theirs.
type pageTokens struct {
	mu      sync.Mutex
	members map[string]*bridge.Member
}

func newPageTokens() *pageTokens { return &pageTokens{members: map[string]*bridge.Member{}} }

func (p *pageTokens) issue(token string, m *bridge.Member) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.members[token] = m
}

func (p *pageTokens) revoke(token string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.members, token)
}

func (p *pageTokens) member(token string) *bridge.Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.members[token]
}

// jsonLibraryItem is a material a member may select.
type jsonLibraryItem struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Pages int    `json:"pages"`
}

type msgMaterialList struct {
	Type      string            `json:"type"`
	Materials []jsonLibraryItem `json:"materials"`
}

// jsonShownMaterial is the material the room shows, with this member's page
// URLs (page k at index k-1).
type jsonShownMaterial struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Pages    int      `json:"pages"`
	PageURLs []string `json:"page_urls"`
	// RoomFile is set, for the operator only, when the material was dropped
	// into this conference and is not (yet) in their library: their page
	// offers "Keep in my library" (room_upload.go).
	RoomFile bool `json:"room_file,omitempty"`
}

type msgMaterialSelected struct {
	Type      string            `json:"type"`
	Material  jsonShownMaterial `json:"material"`
	Page      int               `json:"page"`
	Presenter string            `json:"presenter"`
	Strokes   []jsonStroke      `json:"strokes"` // of page (room_strokes.go)
}

type msgMaterialPage struct {
	Type      string       `json:"type"`
	Page      int          `json:"page"`
	Presenter string       `json:"presenter"`
	Strokes   []jsonStroke `json:"strokes"`
}

type msgMaterialPolicy struct {
	Type            string `json:"type"`
	GuestsMaySelect bool   `json:"guests_may_select"`
}

// pageURL is the URL of page n of material id for the holder of token.
func pageURL(id string, n int, token string) string {
	return "/api/room/materials/" + id + "/pages/" + strconv.Itoa(n) + "?token=" + url.QueryEscape(token)
}

// issuePageToken gives the session's member a page token; called on the run
// goroutine when it enters a room (Hosting, Admitted), before the room's
// material events are handled.
func (c *session) issuePageToken() string {
	if c.pageToken != "" {
		c.srv.pages.revoke(c.pageToken)
		c.pageToken = ""
	}
	token, err := c.srv.lib.newID()
	if err != nil {
		c.srv.log.Error("cannot make a page token", "err", err)
		return ""
	}
	c.pageToken = token
	c.srv.pages.issue(token, c.member)
	return token
}

// revokePageToken ends the session's page token (the session is over).
func (c *session) revokePageToken() {
	if c.pageToken != "" {
		c.srv.pages.revoke(c.pageToken)
		c.pageToken = ""
	}
}

// mayShareMaterial reports whether this member may list and select the
// operator's library now.
func (c *session) mayShareMaterial() bool {
	return c.member != nil && (c.member.Identity().Role == dialroom.RoleOperator || c.member.Room().GuestsMaySelect())
}

// materialAction handles the members' material messages.
func (c *session) materialAction(msg inbound) error {
	if err := c.mustBeIn(); err != nil {
		return err
	}
	switch msg.Type {
	case "material_list":
		return c.listMaterials()
	case "material_select":
		return c.selectMaterial(msg.Material)
	case "material_page":
		if msg.Page == nil {
			return errInvalid("material_page needs a \"page\" number.")
		}
		err := c.member.TurnPage(*msg.Page)
		if dialroom.ErrorCode(err) == dialroom.ETHROTTLED {
			c.send(errorMessage(err)) // answered, not fatal: a held key is no attack
			return nil
		}
		return err
	case "material_present":
		return c.member.TakePresenter()
	case "material_close":
		return c.member.CloseMaterial()
	default: // "material_policy"
		if msg.GuestsMaySelect == nil {
			return errInvalid("material_policy needs \"guests_may_select\": true or false.")
		}
		return c.member.SetGuestsMaySelect(*msg.GuestsMaySelect)
	}
}

// listMaterials answers material_list with the ready materials of the room
// operator's library: names and page counts only.
func (c *session) listMaterials() error {
	if !c.mayShareMaterial() {
		return dialroom.Errorf(dialroom.EDENIED, "Only the operator can share documents in this conference.")
	}
	list, err := c.srv.cfg.Store.ListMaterials(c.ctx, c.member.Room().Operator())
	if err != nil {
		return err
	}
	out := msgMaterialList{Type: "material_list", Materials: []jsonLibraryItem{}}
	for _, m := range list {
		if m.State == dialroom.MaterialReady && m.Pages > 0 {
			out.Materials = append(out.Materials, jsonLibraryItem{ID: m.ID, Name: m.Name, Pages: m.Pages})
		}
	}
	c.send(out)
	return nil
}

// selectMaterial shows a ready material of the room operator's library.
func (c *session) selectMaterial(id string) error {
	if !c.mayShareMaterial() {
		return dialroom.Errorf(dialroom.EDENIED, "Only the operator can share documents in this conference.")
	}
	if !validMaterialID(id) {
		return dialroom.Errorf(dialroom.ENOTFOUND, "There is no such material.")
	}
	m, err := c.srv.cfg.Store.Material(c.ctx, c.member.Room().Operator(), id)
	if err != nil {
		return err
	}
	if m.Room != "" && m.Room != c.member.Room().Number() {
		// Dropped into another of the operator's conferences (room_upload.go).
		return dialroom.Errorf(dialroom.ENOTFOUND, "There is no such material.")
	}
	if m.State != dialroom.MaterialReady || m.Pages < 1 {
		return dialroom.Errorf(dialroom.EINVALID, "%s is not ready to be shown.", m.Name)
	}
	return c.member.SelectMaterial(m.ID, m.Name, m.Pages)
}

// materialEvent translates the room's material events for the client.
func (c *session) materialEvent(ev bridge.Event) {
	switch ev := ev.(type) {
	case bridge.MaterialSelected:
		v := ev.View
		urls := make([]string, v.Pages)
		for i := range urls {
			urls[i] = pageURL(v.ID, i+1, c.pageToken)
		}
		shown := jsonShownMaterial{ID: v.ID, Name: v.Name, Pages: v.Pages, PageURLs: urls}
		if c.member != nil && c.member.Identity().Role == dialroom.RoleOperator {
			_, err := c.srv.cfg.Store.RoomMaterial(c.ctx, c.member.Room().Number(), v.ID)
			shown.RoomFile = err == nil
		}
		c.send(msgMaterialSelected{Type: "material_selected", Page: v.Page, Presenter: v.Presenter,
			Material: shown, Strokes: toJSONStrokes(ev.Strokes)})
	case bridge.MaterialPage:
		c.send(msgMaterialPage{Type: "material_page", Page: ev.Page, Presenter: ev.Presenter, Strokes: toJSONStrokes(ev.Strokes)})
	case bridge.MaterialClosed:
		c.send(msgType{Type: "material_closed"})
	case bridge.MaterialPolicy:
		c.send(msgMaterialPolicy{Type: "material_policy", GuestsMaySelect: ev.GuestsMaySelect})
	}
}

// handleRoomPage serves page {n} of material {id} to a member of the room
// that shows it, named by ?token=. Every failure is the same 404.
func (s *Server) handleRoomPage(w http.ResponseWriter, r *http.Request) {
	notFound := func() { s.writeError(w, r, dialroom.Errorf(dialroom.ENOTFOUND, "There is no such page.")) }
	id, token := r.PathValue("id"), r.URL.Query().Get("token")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || !validMaterialID(id) || !dialroom.IsRandomID(token) || s.lib.conv == nil {
		notFound()
		return
	}
	m := s.pages.member(token)
	if m == nil || !m.MayShow(id, n) {
		notFound()
		return
	}
	mat, err := s.cfg.Store.Material(r.Context(), m.Room().Operator(), id)
	if err != nil || mat.State != dialroom.MaterialReady || n > mat.Pages {
		notFound()
		return
	}
	path, err := s.lib.conv.PagePath(mat.Document, n)
	if err != nil {
		notFound()
		return
	}
	// Never cached: the answer depends on who is in the room right now, and
	// a member who left must not keep finding pages in a shared cache.
	if !s.servePageImage(w, r, path, "private, no-store") {
		notFound()
	}
}
