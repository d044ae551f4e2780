-- ossbox metadata, version 5: identities and policies (RAM users, groups, roles, custom policies and their
-- attachments), temporary credentials issued by AssumeRole, and bucket policies. Names of users, groups,
-- roles and policies are case-insensitive, as in RAM.
-- user_name NULL: a key of the account owner. service: set for the key of a cloud service (such as
-- odps.aliyuncs.com) that may only assume roles whose trust policy names that service.
ALTER TABLE access_keys ADD COLUMN user_name TEXT;
ALTER TABLE access_keys ADD COLUMN service TEXT;

CREATE TABLE ram_users (
    name       TEXT PRIMARY KEY COLLATE NOCASE,
    user_id    TEXT NOT NULL UNIQUE,   -- the numeric id a bucket policy's Principal names
    created_ms INTEGER NOT NULL,
    comment    TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE ram_groups (
    name       TEXT PRIMARY KEY COLLATE NOCASE,
    created_ms INTEGER NOT NULL,
    comment    TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE ram_group_members (
    group_name TEXT NOT NULL COLLATE NOCASE,
    user_name  TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (group_name, user_name)
) WITHOUT ROWID;
CREATE INDEX ram_group_members_by_user ON ram_group_members (user_name);

CREATE TABLE ram_roles (
    name              TEXT PRIMARY KEY COLLATE NOCASE,
    role_id           TEXT NOT NULL UNIQUE,
    trust_policy      TEXT NOT NULL,     -- who may assume the role (JSON)
    max_session_s     INTEGER NOT NULL,
    created_ms        INTEGER NOT NULL,
    comment           TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE ram_policies (
    name       TEXT PRIMARY KEY COLLATE NOCASE,
    document   TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    comment    TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE ram_attachments (
    policy_name TEXT NOT NULL COLLATE NOCASE,  -- a custom policy or a system one (System:...)
    target_type TEXT NOT NULL,                 -- user | group | role
    target_name TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (target_type, target_name, policy_name)
) WITHOUT ROWID;

CREATE TABLE sts_sessions (
    access_key_id  TEXT PRIMARY KEY,
    secret         TEXT NOT NULL,
    token_sha256   TEXT NOT NULL,
    role_name      TEXT NOT NULL COLLATE NOCASE,
    session_name   TEXT NOT NULL,
    session_policy TEXT,                       -- JSON, or NULL
    caller_arn     TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    expires_ms     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sts_sessions_by_expiry ON sts_sessions (expires_ms);

CREATE TABLE bucket_policies (
    bucket   TEXT PRIMARY KEY,
    document TEXT NOT NULL
) WITHOUT ROWID;
