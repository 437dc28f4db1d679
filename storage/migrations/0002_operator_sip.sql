-- Softphone credentials of operators (the SIP registrar, issue 4): the digest
-- HA1 values for MD5 and SHA-256 and the realm they were computed for. The
-- password itself is never stored. Empty strings mean no credentials.
ALTER TABLE operators ADD COLUMN sip_realm      TEXT NOT NULL DEFAULT '';
ALTER TABLE operators ADD COLUMN sip_ha1_md5    TEXT NOT NULL DEFAULT '';
ALTER TABLE operators ADD COLUMN sip_ha1_sha256 TEXT NOT NULL DEFAULT '';
