-- IF NOT EXISTS: databases made before numbered migrations already hold these tables.
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    instance TEXT NOT NULL,
    table_name TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (instance, name)
);
-- The committed progress of a task (Progress as JSON): written only in a commit or, with nothing staged,
-- to move the sync time.
CREATE TABLE IF NOT EXISTS progress (
    task_id TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
-- The last failure of a task, cleared by the next success.
CREATE TABLE IF NOT EXISTS errors (
    task_id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    detail TEXT NOT NULL,
    since_ms INTEGER NOT NULL
);
-- A staged batch: the progress to commit once every one of its files is in the bucket.
CREATE TABLE IF NOT EXISTS staged (
    task_id TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS staged_files (
    task_id TEXT NOT NULL,
    object_key TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (task_id, object_key)
);
