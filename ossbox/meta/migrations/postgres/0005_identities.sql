-- ossbox metadata on PostgreSQL, version 5: identities and policies (RAM users, groups, roles, custom policies and their
-- attachments), temporary credentials issued by AssumeRole, and bucket policies. Names of users, groups,
-- roles and policies are case-insensitive, as in RAM.
-- user_name NULL: a key of the account owner. service: set for the key of a cloud service (such as
-- odps.aliyuncs.com) that may only assume roles whose trust policy names that service.
ALTER TABLE access_keys ADD COLUMN user_name TEXT;
ALTER TABLE access_keys ADD COLUMN service TEXT;

CREATE TABLE ram_users (
    name       TEXT COLLATE nocase PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL UNIQUE,   -- the numeric id a bucket policy's Principal names
    created_ms BIGINT NOT NULL,
    comment    TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE TABLE ram_groups (
    name       TEXT COLLATE nocase PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    comment    TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE TABLE ram_group_members (
    group_name TEXT COLLATE nocase NOT NULL,
    user_name  TEXT COLLATE nocase NOT NULL,
    PRIMARY KEY (group_name, user_name)
);
CREATE INDEX ram_group_members_by_user ON ram_group_members (user_name);

CREATE TABLE ram_roles (
    name              TEXT COLLATE nocase PRIMARY KEY,
    role_id           TEXT COLLATE "C" NOT NULL UNIQUE,
    trust_policy      TEXT COLLATE "C" NOT NULL,     -- who may assume the role (JSON)
    max_session_s     BIGINT NOT NULL,
    created_ms        BIGINT NOT NULL,
    comment           TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE TABLE ram_policies (
    name       TEXT COLLATE nocase PRIMARY KEY,
    document   TEXT COLLATE "C" NOT NULL,
    created_ms BIGINT NOT NULL,
    comment    TEXT COLLATE "C" NOT NULL DEFAULT ''
);

CREATE TABLE ram_attachments (
    policy_name TEXT COLLATE nocase NOT NULL,  -- a custom policy or a system one (System:...)
    target_type TEXT COLLATE "C" NOT NULL,                 -- user | group | role
    target_name TEXT COLLATE nocase NOT NULL,
    PRIMARY KEY (target_type, target_name, policy_name)
);

CREATE TABLE sts_sessions (
    access_key_id  TEXT COLLATE "C" PRIMARY KEY,
    secret         TEXT COLLATE "C" NOT NULL,
    token_sha256   TEXT COLLATE "C" NOT NULL,
    role_name      TEXT COLLATE nocase NOT NULL,
    session_name   TEXT COLLATE "C" NOT NULL,
    session_policy TEXT COLLATE "C",                       -- JSON, or NULL
    caller_arn     TEXT COLLATE "C" NOT NULL,
    created_ms     BIGINT NOT NULL,
    expires_ms     BIGINT NOT NULL
);
CREATE INDEX sts_sessions_by_expiry ON sts_sessions (expires_ms);

CREATE TABLE bucket_policies (
    bucket   TEXT COLLATE "C" PRIMARY KEY,
    document TEXT COLLATE "C" NOT NULL
);
