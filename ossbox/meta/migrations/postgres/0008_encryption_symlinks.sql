-- ossbox metadata on PostgreSQL, version 8: server-side encryption and symlinks.
--
-- sse: how an object's (or upload's) data is encrypted at rest, "<algorithm>|<data encryption>|<KMS key id>"
-- (ossbox/protocol/sse.py), '' when it is not. Every blob an encrypted object references is encrypted the
-- same way; copies between states rewrite the data instead of sharing blobs.
-- symlink_target: the key a Symlink object points to (NULL for every other object type).
ALTER TABLE objects ADD COLUMN sse TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN symlink_target TEXT;
ALTER TABLE object_versions ADD COLUMN sse TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE object_versions ADD COLUMN symlink_target TEXT;
ALTER TABLE uploads ADD COLUMN sse TEXT COLLATE "C" NOT NULL DEFAULT '';

-- The data key of each encrypted blob (file or inline), wrapped by a key encryption key kept outside the
-- database: kek '' is the master key, 'kms:<id>' the KMS key derived from it. A row goes with its blob.
CREATE TABLE blob_keys (
    blob_id TEXT COLLATE "C" PRIMARY KEY,
    cipher  TEXT COLLATE "C" NOT NULL,   -- AES256 | SM4 (CTR mode)
    kek     TEXT COLLATE "C" NOT NULL,
    wrapped BYTEA NOT NULL,   -- AES-256-GCM: 12-byte nonce, then the sealed data key
    iv      BYTEA NOT NULL    -- the CTR counter block at offset 0
);
