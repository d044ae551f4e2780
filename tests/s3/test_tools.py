"""The data tools that speak only S3, each against the real server: s3fs, pyarrow's S3FileSystem, DuckDB's
httpfs (installed from its wheel, no download), polars (Rust object_store) and the minio client."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess

MiB = 1 << 20


def _table(n: int = 1000) -> pa.Table:
    return pa.table({"id": list(range(n)), "name": [f"row-{i}" for i in range(n)]})


def test_s3fs(server: ServerProcess, s3: Any, bucket: str) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(
        key=ACCESS_KEY_ID,
        secret=ACCESS_KEY_SECRET,
        client_kwargs={"endpoint_url": server.endpoint, "region_name": REGION},
    )
    fs.pipe(f"{bucket}/dir/small.bin", b"abc" * 100)
    with fs.open(f"{bucket}/dir/big.bin", "wb", block_size=5 * MiB) as f:
        for _ in range(3):
            f.write(b"q" * (4 * MiB))
    assert sorted(fs.ls(f"{bucket}/dir")) == [f"{bucket}/dir/big.bin", f"{bucket}/dir/small.bin"]
    assert fs.info(f"{bucket}/dir/big.bin")["size"] == 12 * MiB
    assert fs.cat(f"{bucket}/dir/small.bin") == b"abc" * 100
    with fs.open(f"{bucket}/dir/big.bin", "rb") as f:
        f.seek(5 * MiB)
        assert f.read(4) == b"qqqq"
    fs.rm(f"{bucket}/dir", recursive=True)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_pyarrow_s3filesystem(server: ServerProcess, bucket: str) -> None:
    """pyarrow (the AWS C++ SDK) streams its multipart parts as aws-chunked with CRC64NVME trailers."""
    from pyarrow import fs as pafs

    host = urlparse(server.endpoint).netloc
    s3 = pafs.S3FileSystem(
        access_key=ACCESS_KEY_ID,
        secret_key=ACCESS_KEY_SECRET,
        endpoint_override=host,
        scheme="http",
        region=REGION,
    )
    table = _table(50000)
    pq.write_table(table, f"{bucket}/t/data.parquet", filesystem=s3)
    assert pq.read_table(f"{bucket}/t/data.parquet", filesystem=s3).equals(table)
    infos = s3.get_file_info(pafs.FileSelector(f"{bucket}/t", recursive=True))
    assert [i.path for i in infos] == [f"{bucket}/t/data.parquet"]
    with s3.open_output_stream(f"{bucket}/t/stream.bin") as out:
        out.write(b"s" * (6 * MiB))
    with s3.open_input_file(f"{bucket}/t/stream.bin") as f:
        assert f.size() == 6 * MiB and f.read_at(3, 6 * MiB - 3) == b"sss"


def _duckdb(server: ServerProcess) -> Any:
    import duckdb
    import duckdb_ext

    con = duckdb.connect(
        config={
            # The httpfs build from the duckdb-ext-httpfs wheel: nothing is downloaded.
            "extension_directory": f"{next(iter(duckdb_ext.__path__))}/extensions",
            "autoinstall_known_extensions": False,
        }
    )
    con.execute("LOAD httpfs")
    host = urlparse(server.endpoint).netloc
    con.execute(
        f"CREATE SECRET ossbox (TYPE s3, KEY_ID '{ACCESS_KEY_ID}', SECRET '{ACCESS_KEY_SECRET}', "
        f"ENDPOINT '{host}', URL_STYLE 'path', USE_SSL false, REGION '{REGION}')"
    )
    return con


def test_duckdb_httpfs_reads_and_writes_parquet(server: ServerProcess, bucket: str) -> None:
    con = _duckdb(server)
    con.execute(f"COPY (SELECT range AS i, range * 2 AS j FROM range(200000)) TO 's3://{bucket}/d/a.parquet'")
    con.execute(f"COPY (SELECT range AS i, 0 AS j FROM range(10)) TO 's3://{bucket}/d/b.parquet'")
    assert con.execute(f"SELECT count(*), sum(j) FROM 's3://{bucket}/d/a.parquet'").fetchall() == [
        (200000, 39999800000)
    ]
    assert con.execute(f"SELECT count(*) FROM 's3://{bucket}/d/*.parquet'").fetchall() == [(200010,)]
    files = sorted(r[0] for r in con.execute(f"SELECT file FROM glob('s3://{bucket}/**')").fetchall())
    assert files == [f"s3://{bucket}/d/a.parquet", f"s3://{bucket}/d/b.parquet"]


def test_polars(server: ServerProcess, bucket: str) -> None:
    import polars as pl

    opts = {
        "aws_access_key_id": ACCESS_KEY_ID,
        "aws_secret_access_key": ACCESS_KEY_SECRET,
        "aws_endpoint_url": server.endpoint,
        "aws_region": REGION,
        "aws_allow_http": "true",
    }
    df = pl.DataFrame({"a": list(range(10000)), "b": [str(i) for i in range(10000)]})
    df.write_parquet(f"s3://{bucket}/p/df.parquet", storage_options=opts)
    assert pl.read_parquet(f"s3://{bucket}/p/df.parquet", storage_options=opts).equals(df)
    lazy = pl.scan_parquet(f"s3://{bucket}/p/*.parquet", storage_options=opts)
    assert lazy.select(pl.col("a").sum()).collect().item() == sum(range(10000))


@pytest.mark.parametrize("region", [REGION, None], ids=["region", "no-region"])
def test_minio_client(server: ServerProcess, s3: Any, bucket: str, region: str | None) -> None:
    from minio import Minio

    m = Minio(
        urlparse(server.endpoint).netloc,
        access_key=ACCESS_KEY_ID,
        secret_key=ACCESS_KEY_SECRET,
        secure=False,
        region=region,
    )
    assert m.bucket_exists(bucket)
    m.put_object(bucket, "m/small", io.BytesIO(b"minio"), 5, metadata={"x-amz-meta-k": "v"})
    m.put_object(bucket, "m/big", io.BytesIO(b"b" * (11 * MiB)), -1, part_size=5 * MiB)
    assert m.get_object(bucket, "m/small").read() == b"minio"
    stat = m.stat_object(bucket, "m/big")
    assert stat.size == 11 * MiB and stat.etag.endswith("-3")
    assert sorted(o.object_name for o in m.list_objects(bucket, prefix="m/", recursive=True)) == [
        "m/big",
        "m/small",
    ]
    assert s3.head_object(Bucket=bucket, Key="m/small")["Metadata"] == {"k": "v"}
    m.remove_object(bucket, "m/small")
    assert [o.object_name for o in m.list_objects(bucket, prefix="m/")] == ["m/big"]
