-- The project service's catalog on PostgreSQL (schema ossbox_projects): 0001_initial.sql with 64-bit
-- integers and byte-order text (the order SQLite lists names in).
CREATE TABLE projects (
    name TEXT COLLATE "C" PRIMARY KEY,
    owner TEXT COLLATE "C" NOT NULL,
    warehouse TEXT COLLATE "C" NOT NULL,      -- oss://<endpoint>/<bucket>/<prefix>: where internal tables live
    role_arn TEXT COLLATE "C" NOT NULL,       -- the role the service assumes to reach the warehouse
    created_ms BIGINT NOT NULL
);
CREATE TABLE members (
    project TEXT COLLATE "C" NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
    principal TEXT COLLATE "C" NOT NULL,
    added_ms BIGINT NOT NULL,
    PRIMARY KEY (project, principal)
);
CREATE TABLE grants (
    project TEXT COLLATE "C" NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
    principal TEXT COLLATE "C" NOT NULL,
    object_type TEXT COLLATE "C" NOT NULL,    -- project, table, volume
    object_name TEXT COLLATE "C" NOT NULL,
    privilege TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (project, principal, object_type, object_name, privilege)
);
CREATE TABLE volumes (
    project TEXT COLLATE "C" NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    url TEXT COLLATE "C" NOT NULL,
    role_arn TEXT COLLATE "C" NOT NULL,
    owner TEXT COLLATE "C" NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (project, name)
);
CREATE TABLE tables (
    project TEXT COLLATE "C" NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    definition TEXT COLLATE "C" NOT NULL,     -- JSON: columns, partition columns, external handler/location/properties
    owner TEXT COLLATE "C" NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (project, name)
);
CREATE TABLE partitions (
    project TEXT COLLATE "C" NOT NULL,
    table_name TEXT COLLATE "C" NOT NULL,
    spec TEXT COLLATE "C" NOT NULL,           -- 'pt=20230116/region=hz' in the table's partition-column order
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (project, table_name, spec),
    FOREIGN KEY (project, table_name) REFERENCES tables(project, name) ON DELETE CASCADE
);
-- The Parquet files of internal tables: readers see only what is listed here, so INSERT OVERWRITE and LOAD
-- write their files first and swap the list in one transaction (the old files are deleted afterwards).
CREATE TABLE files (
    project TEXT COLLATE "C" NOT NULL,
    table_name TEXT COLLATE "C" NOT NULL,
    spec TEXT COLLATE "C" NOT NULL,           -- '' for an unpartitioned table
    object_key TEXT COLLATE "C" NOT NULL,
    size BIGINT NOT NULL,
    rows BIGINT NOT NULL,
    PRIMARY KEY (project, table_name, spec, object_key),
    FOREIGN KEY (project, table_name) REFERENCES tables(project, name) ON DELETE CASCADE
);
