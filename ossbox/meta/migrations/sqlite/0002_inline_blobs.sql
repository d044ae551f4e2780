-- ossbox metadata, version 2. Small bodies are stored in the database itself, written in the same
-- transaction as the object that references them, so one WAL fsync makes data and metadata durable
-- together. Their blob ids start with "i-" (file blob ids are hex only); they are reference-counted
-- in `blobs` like any other blob.
CREATE TABLE blob_data (
    blob_id TEXT PRIMARY KEY,
    data    BLOB NOT NULL
);
