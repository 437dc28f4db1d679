-- 0004: operators' libraries of materials (issue 5). A row per uploaded
-- document; the page images are files under DATA_DIR/materials, named by
-- document_id. Deleting the operator deletes the rows (the files are removed
-- by the server, which knows where they are).
CREATE TABLE materials (
	-- 32 random hex digits, made at upload: unguessable, used in URLs.
	id             TEXT    PRIMARY KEY,
	operator_login TEXT    NOT NULL REFERENCES operators (login) ON DELETE CASCADE,
	name           TEXT    NOT NULL,
	state          TEXT    NOT NULL CHECK (state IN ('converting', 'ready', 'failed')),
	kind           TEXT    NOT NULL DEFAULT '',
	pages          INTEGER NOT NULL DEFAULT 0,
	error          TEXT    NOT NULL DEFAULT '',
	bytes          INTEGER NOT NULL,
	-- The converter's id of the page images; NULL until ready.
	document_id    TEXT,
	created_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The console lists an operator's library, newest first.
CREATE INDEX materials_operator ON materials (operator_login, created_at);
