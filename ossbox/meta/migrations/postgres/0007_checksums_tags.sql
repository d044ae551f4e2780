-- ossbox metadata on PostgreSQL, version 7: S3's additional checksums and object tags.
-- checksum: "<ALGORITHM>:<base64>" (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) as the writer sent and ossbox
-- verified it; a multipart object's COMPOSITE checksum is "<ALGORITHM>:<base64>-<parts>". '' when none.
-- tagging: the object's tags in the x-oss-tagging / x-amz-tagging form, "k1=v1&k2=v2" (URL-encoded).
ALTER TABLE objects ADD COLUMN checksum TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN tagging TEXT COLLATE "C" NOT NULL DEFAULT '';
-- Noncurrent versions keep theirs (0003 made object_versions with the objects' columns).
ALTER TABLE object_versions ADD COLUMN checksum TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE object_versions ADD COLUMN tagging TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE parts ADD COLUMN checksum TEXT COLLATE "C" NOT NULL DEFAULT '';
-- "<ALGORITHM>:<COMPOSITE|FULL_OBJECT>" when the upload was started with a checksum algorithm.
ALTER TABLE uploads ADD COLUMN checksum_algorithm TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE uploads ADD COLUMN tagging TEXT COLLATE "C" NOT NULL DEFAULT '';
