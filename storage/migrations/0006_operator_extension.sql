-- 0006: operators' extension numbers (issue 4: a dialplan `extension` route
-- rings the operator's registered softphones). NULL means no extension;
-- the digits are checked by dialroom.ValidateExtension before they get here.
-- SQLite cannot add a UNIQUE column, so a partial unique index makes two
-- operators with one extension impossible.
ALTER TABLE operators ADD COLUMN extension TEXT;

CREATE UNIQUE INDEX operators_extension ON operators (extension) WHERE extension IS NOT NULL;
