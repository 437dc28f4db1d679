package webclient

import (
	"context"
	"net/http"
	"time"

	"github.com/dialroom/dialroom"
	"github.com/dialroom/dialroom/bridge"
)

// Files dropped into a conference (claims 11-12; docs/api.md "Files
// dropped into a conference"). A member uploads with its page token (guests
// have no cookie); the file is converted by the library's queue and workers
// like a library upload, but its row names the room: it is not in the
// operator's library, and it is deleted, rows and page images, when the
// conference ends (RoomEnded) or, for leftovers of a stopped server, when
// the next one starts. The uploader's page polls the upload's state and,
// once ready, selects it with material_select like any library material.
// The operator may keep a dropped file, which moves it into the library.

func (s *Server) roomUploadRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /api/room/uploads", s.handleRoomUpload)
	m.HandleFunc("GET /api/room/uploads/{id}", s.handleRoomUploadState)
	m.HandleFunc("POST /api/room/uploads/{id}/keep", s.handleKeepRoomUpload)
}

// roomJobKey is the key a conference's uploads queue under in the library:
// they share the PerOperator bound per conference, apart from the
// operator's own library uploads.
func roomJobKey(number string) string { return "room " + number }

// maxDropsPerMember bounds one member's files waiting or converting at
// once: one converting and one more arriving is all a person dropping files
// by hand needs, and one guest cannot take the whole conference's queue.
const maxDropsPerMember = 2

// reserveDrop reserves a conversion for a file member (a key unique among
// conferences) drops into the conference on number room: under the
// library's bounds per conference (PerOperator) and in all, and at most
// maxDropsPerMember for the member. The caller enqueues or releases it.
func (l *library) reserveDrop(room, member, name string) (*conversion, error) {
	j, err := l.reserve(roomJobKey(room), name)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	j.member = member
	mine := 0
	for _, o := range l.jobs {
		if o.member == member {
			mine++
		}
	}
	l.mu.Unlock()
	// Two racing requests each count the other: both may be refused, but
	// the bound is never exceeded.
	if mine > maxDropsPerMember {
		l.release(j)
		return nil, dialroom.Errorf(dialroom.ETHROTTLED, "Your last files are still being converted; drop the next one once they are shown.")
	}
	return j, nil
}

// tokenMember returns the member whose page token the request carries
// (?token=), if it is still in its room; nil otherwise.
func (s *Server) tokenMember(r *http.Request) *bridge.Member {
	token := r.URL.Query().Get("token")
	if !dialroom.IsRandomID(token) {
		return nil
	}
	m := s.pages.member(token)
	if m == nil || !m.InRoom() {
		return nil
	}
	return m
}

// errNotMember answers a request without a member's valid token: 404, the
// same as for a room file that does not exist, so that nobody learns which
// tokens or files exist.
func errNotMember() error {
	return dialroom.Errorf(dialroom.ENOTFOUND, "There is no such conference file.")
}

// mayDrop reports whether the member may drop a file now: the operator
// always, guests while the room lets guests share documents.
func mayDrop(m *bridge.Member) error {
	if m.Identity().Role == dialroom.RoleOperator || m.Room().GuestsMaySelect() {
		return nil
	}
	return dialroom.Errorf(dialroom.EDENIED, "Only the operator can share documents in this conference, so you cannot drop a file here.")
}

// handleRoomUpload takes a dropped file as the request body (?token= the
// member's page token, ?name= the file name), spools it, stores it as a
// converting file of the member's room and answers 202 with its state;
// the conversion runs in the background. Refusals: 404 without a member's
// token, 403 when the room lets only the operator share, 413 too large,
// 429 when the room holds PerRoom files or its queue is full.
func (s *Server) handleRoomUpload(w http.ResponseWriter, r *http.Request) {
	member := s.tokenMember(r)
	if member == nil {
		s.writeError(w, r, errNotMember())
		return
	}
	if err := mayDrop(member); err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := s.lib.limits.MaxBytes
	if r.ContentLength > limit {
		s.writeTooLarge(w, r, limit)
		return
	}
	room := member.Room()
	n, err := s.cfg.Store.CountRoomMaterials(r.Context(), room.Number())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if n >= s.lib.limits.PerRoom {
		s.writeError(w, r, dialroom.Errorf(dialroom.ETHROTTLED, "This conference holds %d dropped files already, the most it may.", n))
		return
	}
	name := materialName(r.URL.Query().Get("name"))
	j, err := s.lib.reserveDrop(room.Number(), room.Number()+" "+member.ID(), name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	size, ok := s.receiveUpload(w, r, j, limit)
	if !ok {
		return
	}
	mat := &dialroom.Material{ID: j.id, Operator: room.Operator(), Name: name, Bytes: size,
		Room: room.Number(), Uploader: member.Identity().Name}
	if err := s.cfg.Store.CreateMaterial(r.Context(), mat); err != nil {
		s.lib.release(j)
		s.writeError(w, r, err)
		return
	}
	// The conference may have ended while the file arrived, after RoomEnded
	// deleted its files: this one must not stay behind.
	if !member.InRoom() {
		s.deleteRoomMaterial(mat)
		s.lib.release(j)
		s.writeError(w, r, errNotMember())
		return
	}
	if err := s.lib.enqueue(j); err != nil {
		s.deleteRoomMaterial(mat)
		s.lib.release(j)
		s.writeError(w, r, err)
		return
	}
	s.log.Info("file dropped into a conference", "room", room.Number(), "material", mat.ID, "bytes", size)
	writeJSON(w, http.StatusAccepted, s.toJSONMaterial(mat))
}

// roomMaterial returns the request's {id} if it is a file of the room of
// the token's member, with that member; ENOTFOUND otherwise.
func (s *Server) roomMaterial(r *http.Request) (*bridge.Member, *dialroom.Material, error) {
	member := s.tokenMember(r)
	id := r.PathValue("id")
	if member == nil || !validMaterialID(id) {
		return nil, nil, errNotMember()
	}
	mat, err := s.cfg.Store.RoomMaterial(r.Context(), member.Room().Number(), id)
	if err != nil {
		return nil, nil, err
	}
	return member, mat, nil
}

// handleRoomUploadState answers a dropped file's state (as GET
// /api/materials/{id} does for the library, without the thumbnail) to any
// member of its room.
func (s *Server) handleRoomUploadState(w http.ResponseWriter, r *http.Request) {
	_, mat, err := s.roomMaterial(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j := s.toJSONMaterial(mat)
	j.Thumb = "" // library thumbnails need the operator's session
	writeJSON(w, http.StatusOK, j)
}

// handleKeepRoomUpload moves a ready file of the room into the operator's
// library: only the room's operator (by their page token) may; 403 for a
// guest, 404 for a file not (or no longer) in this room.
func (s *Server) handleKeepRoomUpload(w http.ResponseWriter, r *http.Request) {
	member, mat, err := s.roomMaterial(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if member.Identity().Role != dialroom.RoleOperator {
		s.writeError(w, r, dialroom.Errorf(dialroom.EDENIED, "Only the operator can keep a file in their library."))
		return
	}
	if mat.State != dialroom.MaterialReady {
		s.writeError(w, r, dialroom.Errorf(dialroom.EINVALID, "%s is not ready yet.", mat.Name))
		return
	}
	kept, err := s.cfg.Store.KeepMaterial(r.Context(), member.Room().Operator(), member.Room().Number(), mat.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("dropped file kept in the library", "room", member.Room().Number(), "material", kept.ID)
	writeJSON(w, http.StatusOK, s.toJSONMaterial(kept))
}

// RoomEnded deletes the files dropped into the conference on number, rows
// and page images, on a goroutine of the server's (it never blocks the
// caller). Wire it to bridge.Config.RoomEnded. After Close it does nothing:
// the next start removes the leftovers.
func (s *Server) RoomEnded(number string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		s.deleteRoomMaterials(number)
	}()
}

// deleteRoomMaterials deletes the files of the conference on number, or of
// every conference when number is empty (at start: leftovers of a server
// that stopped while conferences ran).
func (s *Server) deleteRoomMaterials(number string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := s.cfg.Store.DeleteRoomMaterials(ctx, number)
	if err != nil {
		s.log.Error("materials: deleting a conference's files", "room", number, "err", err)
		return
	}
	for _, m := range list {
		s.removeMaterialFiles(m)
	}
	if len(list) > 0 {
		s.log.Info("materials: conference files deleted", "room", number, "count", len(list))
	}
}

// deleteRoomMaterial deletes one dropped file whose row was just created.
func (s *Server) deleteRoomMaterial(m *dialroom.Material) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.cfg.Store.DeleteMaterial(ctx, m.Operator, m.ID); err != nil && dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
		s.log.Error("materials: deleting a dropped file", "material", m.ID, "err", err)
	}
}

// removeMaterialFiles stops the conversion of a deleted material, if one
// is queued or running (its worker then removes what it made), and removes
// its page images.
func (s *Server) removeMaterialFiles(m *dialroom.Material) {
	s.lib.cancelJob(m.ID)
	if m.Document != "" && s.lib.conv != nil {
		if err := s.lib.conv.Remove(m.Document); err != nil && dialroom.ErrorCode(err) != dialroom.ENOTFOUND {
			s.log.Error("materials: removing pages", "material", m.ID, "err", err)
		}
	}
}
