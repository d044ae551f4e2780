-- Instances are created on first use; tables belong to one.
CREATE TABLE instances (
    name TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
);
-- meta: the schema and options as JSON (model.TableInfo).
CREATE TABLE tables (
    table_id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance TEXT NOT NULL,
    name TEXT NOT NULL,
    meta TEXT NOT NULL,
    autoinc_last INTEGER NOT NULL DEFAULT 0,
    changes_trimmed_through INTEGER NOT NULL DEFAULT 0,
    UNIQUE (instance, name)
);
-- One row per table row. pk: keys.encode_key (byte order = row order). data: a PlainBuffer row with
-- every version of every column. write_ms: the row's own timestamp (newest cell written, or the write time of a
-- write without columns), which keeps a row without columns
-- alive for the TTL. oldest_ms, most_versions: let reads skip TTL and version trimming when nothing applies.
CREATE TABLE rows (
    table_id INTEGER NOT NULL,
    pk BLOB NOT NULL,
    data BLOB NOT NULL,
    write_ms INTEGER NOT NULL,
    oldest_ms INTEGER NOT NULL,
    most_versions INTEGER NOT NULL,
    PRIMARY KEY (table_id, pk)
) WITHOUT ROWID;
-- The change log: every acknowledged put, update and delete, in commit order. action: 1 put, 2 update,
-- 3 delete (the stream API's ActionType). record: a PlainBuffer row change (cell types for deletions,
-- a delete marker for a deleted row).
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    table_id INTEGER NOT NULL,
    ts_ms INTEGER NOT NULL,
    action INTEGER NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX changes_by_table ON changes (table_id, seq);
