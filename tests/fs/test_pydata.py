"""pandas, pyarrow, polars and Dask reading and writing oss:// paths on a real ossbox server, with the
storage options users already pass to ossfs (endpoint, key, secret)."""

from __future__ import annotations

from typing import Any

import dask.dataframe as dd
import oss2
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess


@pytest.fixture
def opts(server: ServerProcess) -> dict[str, Any]:
    return {"endpoint": server.endpoint, "key": ACCESS_KEY_ID, "secret": ACCESS_KEY_SECRET}


def frame(n: int = 1000) -> Any:
    return pd.DataFrame(
        {"id": range(n), "name": [f"row{i}" for i in range(n)], "x": [i * 0.5 for i in range(n)]}
    )


def test_pandas_parquet_and_csv(opts: dict[str, Any], oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    df = frame()
    df.to_parquet(f"oss://{b}/pandas/x.parquet", storage_options=opts)
    back = pd.read_parquet(f"oss://{b}/pandas/x.parquet", storage_options=opts)
    pd.testing.assert_frame_equal(back, df)
    df.to_csv(f"oss://{b}/pandas/x.csv", index=False, storage_options=opts)
    pd.testing.assert_frame_equal(pd.read_csv(f"oss://{b}/pandas/x.csv", storage_options=opts), df)
    assert oss_bucket.head_object("pandas/x.parquet").content_length > 0


def test_pyarrow_dataset_of_parquet_files(opts: dict[str, Any], oss_bucket: oss2.Bucket) -> None:
    from ossbox.fs import OssFileSystem

    fs = OssFileSystem(**opts)
    b = oss_bucket.bucket_name
    table = pa.table({"part": ["a", "a", "b", "c"] * 250, "v": list(range(1000))})
    pq.write_to_dataset(table, f"{b}/ds", partition_cols=["part"], filesystem=fs)
    # Hive-style layout as Hadoop/Alluxio would lay it out: part=a/..., part=b/...
    assert sorted(p.rsplit("/", 1)[0] for p in fs.find(f"{b}/ds")) == sorted(
        [f"{b}/ds/part=a", f"{b}/ds/part=b", f"{b}/ds/part=c"]
    )
    dataset = pads.dataset(f"{b}/ds", filesystem=fs, format="parquet", partitioning="hive")
    got = dataset.to_table().sort_by("v")
    assert got.column("v").to_pylist() == list(range(1000))
    assert got.filter(pads.field("part") == "b").num_rows == 250


def test_polars_reads_and_writes(opts: dict[str, Any], oss_bucket: oss2.Bucket) -> None:
    import fsspec

    b = oss_bucket.bucket_name
    df = pl.DataFrame({"a": list(range(500)), "b": [str(i) for i in range(500)]})
    with fsspec.open(f"oss://{b}/polars/x.parquet", "wb", **opts) as f:
        df.write_parquet(f)
    with fsspec.open(f"oss://{b}/polars/x.parquet", "rb", **opts) as f:
        back = pl.read_parquet(f)
    assert back.equals(df)
    with fsspec.open(f"oss://{b}/polars-csv/x.csv", "wb", **opts) as f:
        df.write_csv(f)
    with fsspec.open(f"oss://{b}/polars-csv/x.csv", "rb", **opts) as f:
        assert pl.read_csv(f, schema=df.schema).equals(df)
    # Lazy scans over a directory of Parquet files go through a pyarrow dataset on the oss:// filesystem
    # (polars' own cloud readers have no OSS backend, and polars 2 no longer hands URLs to fsspec).
    from ossbox.fs import OssFileSystem

    dataset = pads.dataset(f"{b}/polars", filesystem=OssFileSystem(**opts), format="parquet")
    lazy = pl.scan_pyarrow_dataset(dataset).filter(pl.col("a") >= 490).select(pl.col("a").sum())
    assert lazy.collect().item() == sum(range(490, 500))


def test_dask_dataframe_roundtrip(opts: dict[str, Any], oss_bucket: oss2.Bucket) -> None:
    b = oss_bucket.bucket_name
    df = frame(2000)
    ddf = dd.from_pandas(df, npartitions=4)
    ddf.to_parquet(f"oss://{b}/dask/out", storage_options=opts)
    back = dd.read_parquet(f"oss://{b}/dask/out", storage_options=opts).compute()
    # dask reads strings back as pyarrow-backed strings: compare values, not the string dtype flavour
    pd.testing.assert_frame_equal(back.sort_values("id").reset_index(drop=True), df, check_dtype=False)
    ddf.to_csv(f"oss://{b}/dask/csv/part-*.csv", index=False, storage_options=opts)
    back_csv = dd.read_csv(f"oss://{b}/dask/csv/part-*.csv", storage_options=opts).compute()
    assert len(back_csv) == 2000
