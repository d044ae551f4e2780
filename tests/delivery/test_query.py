"""Delivered files are queryable in place by analytics engines: DuckDB reads them with Hive partitioning.

The files are fetched with oss2 into a directory of the same layout and read there: ossbox's own oss://
filesystem is not in this tree yet, and ossfs (the fsspec filesystem for OSS on PyPI) pins an older oss2
than ossbox does, so DuckDB cannot read oss:// here directly.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import duckdb
from tablestore import Row

from ossbox.delivery.model import TaskConfig
from tests.delivery.conftest import Env, objects


def download(env: Env, prefix: str, into: Path) -> None:
    for key in objects(env.bucket, prefix):
        path = into / key
        path.parent.mkdir(parents=True, exist_ok=True)
        env.bucket.get_object_to_file(key, str(path))


def test_duckdb_queries_the_partitioned_files(env: Env, tmp_path: Path) -> None:
    expected_total = 0.0
    for i in range(40):
        amount = i * 2.5
        expected_total += amount
        env.ots.put_row(env.table, Row([("id", f"s{i:03d}")], [("amount", amount), ("shop", f"shop{i % 3}")]))
    config = TaskConfig(bucket=env.bucket.bucket_name, prefix="sales/year=$yyyy/month=$MM/day=$dd")
    env.delivery.create(env.table, "sales", config)
    d = env.wait_rows("sales", 40)
    download(env, "sales/", tmp_path)
    files = str(tmp_path / "sales" / "**" / "*")
    con = duckdb.connect()
    source = f"read_parquet('{files}', hive_partitioning = true)"
    count, total, shops, year = con.execute(
        f"SELECT count(*), sum(amount), count(DISTINCT shop), min(year) FROM {source}"
    ).fetchone()
    assert (count, total, shops) == (40, expected_total, 3)
    assert int(year) == datetime.datetime.fromtimestamp(d.created_ms / 1000, datetime.UTC).year
    by_shop = con.execute(f"SELECT shop, count(*) FROM {source} GROUP BY shop ORDER BY shop").fetchall()
    assert by_shop == [("shop0", 14), ("shop1", 13), ("shop2", 13)]
    # The columns DuckDB sees are the statement's columns plus the partition columns.
    described = con.execute(f"DESCRIBE SELECT * FROM {source}")
    columns = [r[0] for r in described.fetchall()]
    assert columns[:3] == ["id", "amount", "shop"] and sorted(columns[3:]) == ["day", "month", "year"]
    for name in ("id", "amount", "shop"):
        assert f"`{name}`" in d.create_table_statement
    assert "PARTITIONED BY (`year` STRING, `month` STRING, `day` STRING)" in d.create_table_statement
