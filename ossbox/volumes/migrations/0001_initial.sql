-- The project service's catalog (projects.sqlite3 in the data directory).
CREATE TABLE projects (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    warehouse TEXT NOT NULL,      -- oss://<endpoint>/<bucket>/<prefix>: where internal tables live
    role_arn TEXT NOT NULL,       -- the role the service assumes to reach the warehouse
    created_ms INTEGER NOT NULL
);
CREATE TABLE members (
    project TEXT NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
    principal TEXT NOT NULL,
    added_ms INTEGER NOT NULL,
    PRIMARY KEY (project, principal)
);
CREATE TABLE grants (
    project TEXT NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
    principal TEXT NOT NULL,
    object_type TEXT NOT NULL,    -- project, table, volume
    object_name TEXT NOT NULL,
    privilege TEXT NOT NULL,
    PRIMARY KEY (project, principal, object_type, object_name, privilege)
);
CREATE TABLE volumes (
    project TEXT NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (project, name)
);
CREATE TABLE tables (
    project TEXT NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,     -- JSON: columns, partition columns, external handler/location/properties
    owner TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (project, name)
);
CREATE TABLE partitions (
    project TEXT NOT NULL,
    table_name TEXT NOT NULL,
    spec TEXT NOT NULL,           -- 'pt=20230116/region=hz' in the table's partition-column order
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (project, table_name, spec),
    FOREIGN KEY (project, table_name) REFERENCES tables(project, name) ON DELETE CASCADE
);
-- The Parquet files of internal tables: readers see only what is listed here, so INSERT OVERWRITE and LOAD
-- write their files first and swap the list in one transaction (the old files are deleted afterwards).
CREATE TABLE files (
    project TEXT NOT NULL,
    table_name TEXT NOT NULL,
    spec TEXT NOT NULL,           -- '' for an unpartitioned table
    object_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    PRIMARY KEY (project, table_name, spec, object_key),
    FOREIGN KEY (project, table_name) REFERENCES tables(project, name) ON DELETE CASCADE
);
