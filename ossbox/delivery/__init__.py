"""Delivery tasks: a table's rows copied into an OSS bucket as Parquet files, as Tablestore's "deliver data
to OSS" does (docs/delivery.md).

A client of OSS like the other platform packages: files go out through the official SDK (oss2) with
temporary credentials of a RAM role obtained from STS, so the destination may be this server or real OSS.
The table is read through the read-only interfaces of ossbox.tables (`changelog`, `snapshot`).

Modules that need pyarrow (`parquet`, `worker`) are imported only when delivery runs; `model`, `naming`,
`store` and `wire` do not need it, so the server answers the delivery API without it.
"""
