-- 0003: operators' business cards (issue 5). Only an operator's own card is
-- ever stored: guests' cards live in the conference's memory and never reach
-- the database. One card per operator; deleting the operator deletes it.
CREATE TABLE operator_cards (
	operator_id  INTEGER PRIMARY KEY REFERENCES operators (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	organization TEXT    NOT NULL,
	title        TEXT    NOT NULL,
	email        TEXT    NOT NULL,
	phone        TEXT    NOT NULL,
	-- The logo as the server re-encoded it (PNG or JPEG), NULL for none.
	logo         BLOB,
	logo_type    TEXT    NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;
