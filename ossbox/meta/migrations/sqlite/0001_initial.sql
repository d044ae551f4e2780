-- ossbox metadata, version 1. Keys are stored verbatim as TEXT; SQLite compares TEXT bytewise (UTF-8),
-- which is the order OSS lists keys in.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    secret        TEXT NOT NULL,
    owner_id      TEXT NOT NULL,
    is_root       INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL,
    description   TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE buckets (
    name          TEXT PRIMARY KEY,
    owner_id      TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    region        TEXT NOT NULL,
    acl           TEXT NOT NULL DEFAULT 'private',
    storage_class TEXT NOT NULL DEFAULT 'Standard'
) WITHOUT ROWID;

-- Reference-counted data files. A blob is shared by every object or part whose extents point into it.
CREATE TABLE blobs (
    blob_id TEXT PRIMARY KEY,
    size    INTEGER NOT NULL,
    refs    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE objects (
    bucket        TEXT NOT NULL,
    key           TEXT NOT NULL,
    size          INTEGER NOT NULL,
    etag          TEXT NOT NULL,
    crc64         INTEGER NOT NULL,      -- unsigned 64-bit value stored as its signed two's complement
    mtime_ms      INTEGER NOT NULL,
    object_type   TEXT NOT NULL,         -- Normal | Appendable | Multipart
    storage_class TEXT NOT NULL,
    acl           TEXT NOT NULL,         -- default | private | public-read | public-read-write
    content_type  TEXT NOT NULL,
    headers       TEXT NOT NULL,         -- JSON object of stored standard headers
    user_meta     TEXT NOT NULL,         -- JSON object of x-oss-meta-* (names lower-cased)
    extents       TEXT NOT NULL,         -- JSON [[blob_id, offset, length], ...]
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;

CREATE TABLE uploads (
    upload_id     TEXT PRIMARY KEY,      -- sorts by initiation time
    bucket        TEXT NOT NULL,
    key           TEXT NOT NULL,
    initiated_ms  INTEGER NOT NULL,
    storage_class TEXT NOT NULL,
    acl           TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    headers       TEXT NOT NULL,
    user_meta     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);

CREATE TABLE parts (
    upload_id   TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    etag        TEXT NOT NULL,
    crc64       INTEGER NOT NULL,
    mtime_ms    INTEGER NOT NULL,
    extents     TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
