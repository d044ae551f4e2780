-- ossbox metadata on PostgreSQL, version 1 (the same numbers as the SQLite migrations, ../sqlite). Text columns
-- use the "C" collation: bytewise (UTF-8) order, which is the order OSS lists keys in, and the order SQLite
-- gives. `nocase` is the case-insensitive equality of RAM names (SQLite's COLLATE NOCASE, used from 0005).
CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

CREATE TABLE settings (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);

CREATE TABLE access_keys (
    access_key_id TEXT COLLATE "C" PRIMARY KEY,
    secret        TEXT COLLATE "C" NOT NULL,
    owner_id      TEXT COLLATE "C" NOT NULL,
    is_root       BIGINT NOT NULL DEFAULT 0,
    created_ms    BIGINT NOT NULL,
    description   TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE TABLE buckets (
    name          TEXT COLLATE "C" PRIMARY KEY,
    owner_id      TEXT COLLATE "C" NOT NULL,
    created_ms    BIGINT NOT NULL,
    region        TEXT COLLATE "C" NOT NULL,
    acl           TEXT COLLATE "C" NOT NULL DEFAULT 'private',
    storage_class TEXT COLLATE "C" NOT NULL DEFAULT 'Standard'
);

-- Reference-counted data files. A blob is shared by every object or part whose extents point into it.
CREATE TABLE blobs (
    blob_id TEXT COLLATE "C" PRIMARY KEY,
    size    BIGINT NOT NULL,
    refs    BIGINT NOT NULL
);

CREATE TABLE objects (
    bucket        TEXT COLLATE "C" NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    size          BIGINT NOT NULL,
    etag          TEXT COLLATE "C" NOT NULL,
    crc64         BIGINT NOT NULL,      -- unsigned 64-bit value stored as its signed two's complement
    mtime_ms      BIGINT NOT NULL,
    object_type   TEXT COLLATE "C" NOT NULL,         -- Normal | Appendable | Multipart
    storage_class TEXT COLLATE "C" NOT NULL,
    acl           TEXT COLLATE "C" NOT NULL,         -- default | private | public-read | public-read-write
    content_type  TEXT COLLATE "C" NOT NULL,
    headers       TEXT COLLATE "C" NOT NULL,         -- JSON object of stored standard headers
    user_meta     TEXT COLLATE "C" NOT NULL,         -- JSON object of x-oss-meta-* (names lower-cased)
    extents       TEXT COLLATE "C" NOT NULL,         -- JSON [[blob_id, offset, length], ...]
    PRIMARY KEY (bucket, key)
);

CREATE TABLE uploads (
    upload_id     TEXT COLLATE "C" PRIMARY KEY,      -- sorts by initiation time
    bucket        TEXT COLLATE "C" NOT NULL,
    key           TEXT COLLATE "C" NOT NULL,
    initiated_ms  BIGINT NOT NULL,
    storage_class TEXT COLLATE "C" NOT NULL,
    acl           TEXT COLLATE "C" NOT NULL,
    content_type  TEXT COLLATE "C" NOT NULL,
    headers       TEXT COLLATE "C" NOT NULL,
    user_meta     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);

CREATE TABLE parts (
    upload_id   TEXT COLLATE "C" NOT NULL,
    part_number BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    etag        TEXT COLLATE "C" NOT NULL,
    crc64       BIGINT NOT NULL,
    mtime_ms    BIGINT NOT NULL,
    extents     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (upload_id, part_number)
);
