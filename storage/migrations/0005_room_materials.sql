-- 0005: files dropped into a conference (issue 5, claims 11-12). Such a
-- material belongs to the conference on number `room` (NULL: the operator's
-- library) and is deleted with its files when the conference ends; the
-- operator may keep one, which clears `room`. `uploader` names the member
-- who dropped it, for display.
ALTER TABLE materials ADD COLUMN room TEXT;
ALTER TABLE materials ADD COLUMN uploader TEXT NOT NULL DEFAULT '';

-- A conference's files are found (and deleted) by room.
CREATE INDEX materials_room ON materials (room) WHERE room IS NOT NULL;
