-- 0001_initial.sql in PostgreSQL's types (the comments there say what each table holds).
CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    table_name TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (instance, name)
);
CREATE TABLE progress (
    task_id TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE errors (
    task_id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    detail TEXT NOT NULL,
    since_ms BIGINT NOT NULL
);
CREATE TABLE staged (
    task_id TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE staged_files (
    task_id TEXT NOT NULL,
    object_key TEXT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (task_id, object_key)
);
