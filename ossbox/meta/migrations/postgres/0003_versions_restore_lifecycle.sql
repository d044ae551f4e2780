-- ossbox metadata on PostgreSQL, version 3: versioning, restore of archived objects, lifecycle rules.
--
-- `objects` stays the table of current, live versions: what GET, HEAD and ListObjects read, one row per key.
-- Noncurrent versions and delete markers live in `object_versions`; ListObjectVersions merges both.
-- Every row of either table holds references (blobs.refs) to the blobs its extents point into.
--
-- Versions of a key are ordered by `vseq`, taken from the `version_seq` counter when a version is
-- written in a bucket whose versioning was ever configured (0 for objects written before: such an object
-- gets its number when it stops being current). Version ids are derived from vseq; '' is the "null"
-- version (written while versioning was never enabled or was suspended).
ALTER TABLE buckets ADD COLUMN versioning TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN version_id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN vseq BIGINT NOT NULL DEFAULT 0;
-- A restore of an Archive / ColdArchive / DeepColdArchive object: readable from restore_ready_ms until
-- restore_expiry_ms; NULL when none was asked for. The state follows from these and the clock.
ALTER TABLE objects ADD COLUMN restore_ready_ms BIGINT;
ALTER TABLE objects ADD COLUMN restore_expiry_ms BIGINT;
ALTER TABLE objects ADD COLUMN restore_tier TEXT;

CREATE TABLE object_versions (
    bucket            TEXT COLLATE "C" NOT NULL,
    key               TEXT COLLATE "C" NOT NULL,
    vseq              BIGINT NOT NULL,
    version_id        TEXT COLLATE "C" NOT NULL,
    delete_marker     BIGINT NOT NULL,  -- 1: a delete marker (no data; size 0, no extents)
    noncurrent_ms     BIGINT NOT NULL,  -- when a newer version (or delete marker) replaced it
    size              BIGINT NOT NULL,
    etag              TEXT COLLATE "C" NOT NULL,
    crc64             BIGINT NOT NULL,
    mtime_ms          BIGINT NOT NULL,
    object_type       TEXT COLLATE "C" NOT NULL,
    storage_class     TEXT COLLATE "C" NOT NULL,
    acl               TEXT COLLATE "C" NOT NULL,
    content_type      TEXT COLLATE "C" NOT NULL,
    headers           TEXT COLLATE "C" NOT NULL,
    user_meta         TEXT COLLATE "C" NOT NULL,
    extents           TEXT COLLATE "C" NOT NULL,
    restore_ready_ms  BIGINT,
    restore_expiry_ms BIGINT,
    restore_tier      TEXT COLLATE "C",
    -- Newest first within a key, which is the order ListObjectVersions returns.
    PRIMARY KEY (bucket, key, vseq)
);
CREATE INDEX object_versions_newest_first ON object_versions (bucket, key, vseq DESC);

CREATE TABLE counters (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters VALUES ('version_seq', 0);

-- The bucket's lifecycle rules as JSON (see ossbox/service/lifecycle.py), replaced as a whole.
CREATE TABLE bucket_lifecycle (
    bucket     TEXT COLLATE "C" PRIMARY KEY,
    rules      TEXT COLLATE "C" NOT NULL,
    updated_ms BIGINT NOT NULL
);
-- PostgreSQL numbers versions from a sequence (nodes writing versions at once do not queue on one row);
-- the counters row stays, unused, so that both engines have the same tables.
CREATE SEQUENCE version_seq;
