-- ossbox metadata, version 3: versioning, restore of archived objects, lifecycle rules.
--
-- `objects` stays the table of current, live versions: what GET, HEAD and ListObjects read, one row per key.
-- Noncurrent versions and delete markers live in `object_versions`; ListObjectVersions merges both.
-- Every row of either table holds references (blobs.refs) to the blobs its extents point into.
--
-- Versions of a key are ordered by `vseq`, taken from the `version_seq` counter when a version is
-- written in a bucket whose versioning was ever configured (0 for objects written before: such an object
-- gets its number when it stops being current). Version ids are derived from vseq; '' is the "null"
-- version (written while versioning was never enabled or was suspended).
ALTER TABLE buckets ADD COLUMN versioning TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN version_id TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN vseq INTEGER NOT NULL DEFAULT 0;
-- A restore of an Archive / ColdArchive / DeepColdArchive object: readable from restore_ready_ms until
-- restore_expiry_ms; NULL when none was asked for. The state follows from these and the clock.
ALTER TABLE objects ADD COLUMN restore_ready_ms INTEGER;
ALTER TABLE objects ADD COLUMN restore_expiry_ms INTEGER;
ALTER TABLE objects ADD COLUMN restore_tier TEXT;

CREATE TABLE object_versions (
    bucket            TEXT NOT NULL,
    key               TEXT NOT NULL,
    vseq              INTEGER NOT NULL,
    version_id        TEXT NOT NULL,
    delete_marker     INTEGER NOT NULL,  -- 1: a delete marker (no data; size 0, no extents)
    noncurrent_ms     INTEGER NOT NULL,  -- when a newer version (or delete marker) replaced it
    size              INTEGER NOT NULL,
    etag              TEXT NOT NULL,
    crc64             INTEGER NOT NULL,
    mtime_ms          INTEGER NOT NULL,
    object_type       TEXT NOT NULL,
    storage_class     TEXT NOT NULL,
    acl               TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    headers           TEXT NOT NULL,
    user_meta         TEXT NOT NULL,
    extents           TEXT NOT NULL,
    restore_ready_ms  INTEGER,
    restore_expiry_ms INTEGER,
    restore_tier      TEXT,
    -- Newest first within a key, which is the order ListObjectVersions returns.
    PRIMARY KEY (bucket, key, vseq DESC)
) WITHOUT ROWID;

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters VALUES ('version_seq', 0);

-- The bucket's lifecycle rules as JSON (see ossbox/service/lifecycle.py), replaced as a whole.
CREATE TABLE bucket_lifecycle (
    bucket     TEXT PRIMARY KEY,
    rules      TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
) WITHOUT ROWID;
