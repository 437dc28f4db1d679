package dialroom

import (
	"context"
	"time"
)

// Material is a document in an operator's library (patent claims 7 and 9):
// an uploaded file and, once converted, its pages as images. Only the row is
// described here; the page images are files the converter owns
// (package materials), found through Document.
type Material struct {
	// ID is 32 random lowercase hex digits, made when the upload arrives: it
	// names the material in URLs and cannot be guessed or enumerated.
	ID       string
	Operator string // login of the owning operator
	Name     string // the uploaded file name, cleaned, for display only
	State    string // MaterialConverting, MaterialReady or MaterialFailed
	// Type is what the content turned out to be ("pdf", "png", "jpeg",
	// "docx" …); empty until ready.
	Type  string
	Pages int // number of page images; 0 until ready
	// Error is the message for the operator when State is MaterialFailed.
	Error string
	Bytes int64 // size of the uploaded file
	// Document is the converter's id of the page images; empty until ready.
	Document string
	Created  time.Time
	// Room is the number of the conference a member dropped this file into
	// (claims 11-12): it belongs to that conference, is not in the library,
	// and is deleted when the conference ends. Empty for library materials.
	Room string
	// Uploader is the display name of the member who dropped it; empty for
	// library materials.
	Uploader string
}

// States of a Material. A material is created converting and becomes ready
// or failed exactly once.
const (
	MaterialConverting = "converting"
	MaterialReady      = "ready"
	MaterialFailed     = "failed"
)

// MaterialStore keeps operators' libraries. Implementations are safe for
// concurrent use. A material of another operator is ENOTFOUND, exactly like
// one that does not exist, so nobody learns which ids exist.
type MaterialStore interface {
	// CreateMaterial stores m (State converting) and sets m.Created;
	// ENOTFOUND if there is no such operator, ECONFLICT if the id is taken.
	CreateMaterial(ctx context.Context, m *Material) error
	// Material returns the operator's material id, or ENOTFOUND.
	Material(ctx context.Context, operator, id string) (*Material, error)
	// ListMaterials returns the operator's materials, newest first.
	ListMaterials(ctx context.Context, operator string) ([]*Material, error)
	// FinishMaterial records a converting material as ready with its
	// converted document; ENOTFOUND if it is gone or no longer converting.
	FinishMaterial(ctx context.Context, id, document, typ string, pages int) error
	// FailMaterial records a converting material as failed with a message
	// for the operator; ENOTFOUND if it is gone or no longer converting.
	FailMaterial(ctx context.Context, id, message string) error
	// FailConvertingMaterials marks every converting material failed with
	// message (conversions a stopped server left unfinished) and returns
	// how many there were.
	FailConvertingMaterials(ctx context.Context, message string) (int, error)
	// DeleteMaterial deletes the operator's material and returns it (its
	// Document says which files to remove); ENOTFOUND if there is none.
	DeleteMaterial(ctx context.Context, operator, id string) (*Material, error)
	// RoomMaterial returns material id if it belongs to the conference on
	// number room, or ENOTFOUND.
	RoomMaterial(ctx context.Context, room, id string) (*Material, error)
	// CountRoomMaterials returns how many files the conference on number
	// room holds, converting and failed ones included.
	CountRoomMaterials(ctx context.Context, room string) (int, error)
	// DeleteRoomMaterials deletes the files of the conference on number
	// room, or of every conference when room is empty (leftovers of a
	// stopped server), and returns them so that the caller removes their
	// page images.
	DeleteRoomMaterials(ctx context.Context, room string) ([]*Material, error)
	// KeepMaterial moves a file of the conference on number room into its
	// operator's library; ENOTFOUND if there is no such file in that room.
	KeepMaterial(ctx context.Context, operator, room, id string) (*Material, error)
}
