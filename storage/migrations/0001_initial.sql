-- 0001: the initial schema.
--
-- Times are INTEGER nanoseconds since the Unix epoch, UTC; NULL is "no time"
-- (a zero time.Time). See storage/db.go for why. Tables are STRICT so that a
-- value of the wrong type is an error, not silently stored.

CREATE TABLE operators (
	-- AUTOINCREMENT so that a deleted operator's id is never given to another
	-- operator: ids appear in logs.
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	login         TEXT    NOT NULL UNIQUE,
	display_name  TEXT    NOT NULL,
	password_hash TEXT    NOT NULL,
	fixed_stem    TEXT    NOT NULL,
	created_at    INTEGER NOT NULL
) STRICT;

-- Several rows may share digits (a number is issued again once revoked or
-- expired), but at most one of them is live. That rule depends on the time, so
-- no UNIQUE index can state it: CreateNumber checks it in a write transaction.
CREATE TABLE numbers (
	id             INTEGER PRIMARY KEY,
	digits         TEXT    NOT NULL,
	-- Deleting an operator deletes its numbers, so they stop routing and a
	-- later operator with the same login does not inherit their history.
	operator_login TEXT    NOT NULL REFERENCES operators (login) ON DELETE CASCADE,
	issued_at      INTEGER NOT NULL,
	expires_at     INTEGER,
	revoked_at     INTEGER
) STRICT;

-- Every guest join and inbound call looks a number up by its digits, newest
-- first; with issued_at in the index that needs no sort.
CREATE INDEX numbers_digits ON numbers (digits, issued_at);
-- The console lists an operator's numbers, newest first.
CREATE INDEX numbers_operator ON numbers (operator_login, issued_at);

CREATE TABLE sessions (
	token_hash     TEXT    PRIMARY KEY,
	operator_login TEXT    NOT NULL REFERENCES operators (login) ON DELETE CASCADE,
	created_at     INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_operator ON sessions (operator_login);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Call records have no foreign key: they are history and outlive the
-- operator and the number they were for. They hold only masked addresses.
CREATE TABLE call_records (
	id             INTEGER PRIMARY KEY,
	number         TEXT    NOT NULL,
	operator_login TEXT    NOT NULL,
	kind           TEXT    NOT NULL,
	role           TEXT    NOT NULL,
	party          TEXT    NOT NULL,
	outcome        TEXT    NOT NULL,
	reason         TEXT    NOT NULL,
	rule           TEXT    NOT NULL,
	started_at     INTEGER NOT NULL,
	admitted_at    INTEGER,
	ended_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX call_records_operator ON call_records (operator_login, started_at);
