-- 0001_initial.sql in PostgreSQL's types (the comments there say what each column holds).
CREATE TABLE instances (
    name TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL
);
CREATE TABLE tables (
    table_id BIGSERIAL PRIMARY KEY,
    instance TEXT NOT NULL,
    name TEXT NOT NULL,
    meta TEXT NOT NULL,
    autoinc_last BIGINT NOT NULL DEFAULT 0,
    changes_trimmed_through BIGINT NOT NULL DEFAULT 0,
    UNIQUE (instance, name)
);
CREATE TABLE rows (
    table_id BIGINT NOT NULL,
    pk BYTEA NOT NULL,
    data BYTEA NOT NULL,
    write_ms BIGINT NOT NULL,
    oldest_ms BIGINT NOT NULL,
    most_versions BIGINT NOT NULL,
    PRIMARY KEY (table_id, pk)
);
CREATE TABLE changes (
    seq BIGSERIAL PRIMARY KEY,
    table_id BIGINT NOT NULL,
    ts_ms BIGINT NOT NULL,
    action INTEGER NOT NULL,
    record BYTEA NOT NULL
);
CREATE INDEX changes_by_table ON changes (table_id, seq);
