"""File names in a data directory that belong to the metadata store."""

SQLITE_FILE = "meta.sqlite3"
# The node's shared state (ossbox.meta.shared_state) when the metadata is on PostgreSQL; SQLite's sits
# next to its database file (meta.sqlite3.shared).
PG_SHARED_FILE = "meta.shared"
