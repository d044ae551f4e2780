"""MaxCompute-style projects over OSS: external volumes, grants, odps:// paths, SQL over DuckDB, jobs and
vector search (docs/volumes.md).

The project service runs inside the ossbox server process but is a *client* of OSS: it reaches buckets only
through oss2 with the temporary credentials of a volume's RAM role (AssumeRole through the official STS SDK),
so the same code works against ossbox and against real OSS. Users sign their calls with their own access keys,
which need no OSS rights: the service checks project grants and acts through the role.

Heavy dependencies (duckdb, pyarrow, faiss) are imported only inside this package, where they are used.
"""
