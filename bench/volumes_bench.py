#!/usr/bin/env python3
"""Benchmark the project service (results: docs/benchmarks.md, section "Volumes and SQL").

  LOAD / UNLOAD   a CSV of `--csv-mib` MiB (default 1024; ambulance-like rows) in a volume: LOAD OVERWRITE
                  into
                  an internal table, then UNLOAD of the table to CSV, through the real server (2 workers). The
                  peer is DuckDB on the same machine reading the same local file into Parquet, and writing the
                  same Parquet back to CSV: the engine the service runs, without OSS, STS or HTTP.
  vector search   --docs x 128 float vectors (clustered Gaussian), --queries queries, top 10: through the
                  service with the HNSW index and with an exact index in the same run (queries/s and
                  recall@10 vs exact, as the service reports them); then the candidate ANN libraries on the
                  same vectors in-process (faiss HNSW, and usearch / hnswlib when installed).

Usage: python bench/volumes_bench.py [--csv-mib 1024] [--docs 100000] [--queries 1000]
Only 127.0.0.1 is contacted. Writes bench/results/volumes_bench-<UTC time>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import oss2  # noqa: E402

from ossbox.volumes.client import ProjectClient, load_config  # noqa: E402
from ossbox.volumes.console import Console  # noqa: E402
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess, free_port  # noqa: E402

TRUST = {
    "Version": "1",
    "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["odps.aliyuncs.com"]}}
    ],
}
COLUMNS = (
    "vehicleId INT, recordId INT, patientId INT, calls INT, locationLatitute DOUBLE, locationLongtitue "
    "DOUBLE,"
    " recordTime STRING, direction STRING"
)
DUCK_COLUMNS = {
    "vehicleid": "INTEGER",
    "recordid": "INTEGER",
    "patientid": "INTEGER",
    "calls": "INTEGER",
    "locationlatitute": "DOUBLE",
    "locationlongtitue": "DOUBLE",
    "recordtime": "VARCHAR",
    "direction": "VARCHAR",
}


def ossbox(server: ServerProcess, *args: str) -> str:
    env = {**os.environ, "OSSBOX_DATA_DIR": str(server.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "ossbox", *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def make_csv(path: Path, mib: int) -> int:
    rows = mib * (1 << 20) // 52
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT (i % 500)::INT AS v, i::INT AS r, (i * 7 % 100)::INT AS p, 1 AS c,
                 46.81006 + (i % 1000) / 1e5 AS lat, -92.08174 - (i % 777) / 1e5 AS lon,
                 '9/14/2014 ' || (i % 24)::VARCHAR || ':' || lpad((i % 60)::VARCHAR, 2, '0') AS t,
                 ['N','NE','E','SE','S','SW','W','NW'][(i % 8) + 1] AS d
               FROM range({rows}) t(i)) TO '{path}' (FORMAT csv, HEADER false)"""
    )
    return path.stat().st_size


def timed(label: str, fn, results: list[str]):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.2f} s", flush=True)
    return seconds, value


def setup(server: ServerProcess) -> tuple[ProjectClient, str, str, oss2.Bucket]:
    account = ossbox(server, "ram", "account").strip()
    trust = server.data_dir.parent / "trust.json"
    trust.write_text(json.dumps(TRUST))
    ossbox(server, "ram", "role", "create", "aliyunodpsdefaultrole", "--trust-policy", str(trust))
    ossbox(server, "ram", "policy", "attach", "AliyunOSSFullAccess", "--role", "aliyunodpsdefaultrole")
    role = f"acs:ram::{account}:role/aliyunodpsdefaultrole"
    auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    for name in ("warehouse", "bench-data"):
        oss2.Bucket(auth, server.endpoint, name).create_bucket()
    client = ProjectClient(load_config(server.endpoint, "bench", ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    client.call(
        "POST",
        "projects",
        {"name": "bench", "warehouse": f"oss://127.0.0.1:{server.port}/warehouse/bench", "role_arn": role},
    )
    return (
        client,
        role,
        f"oss://127.0.0.1:{server.port}/bench-data",
        oss2.Bucket(auth, server.endpoint, "bench-data"),
    )


def run_sql(console: Console, text: str) -> list[str]:
    lines: list[str] = []
    console.echo = lines.append
    if not console.run_script(text):
        raise SystemExit("\n".join(lines))
    return lines


def bench_load_unload(
    console: Console, url: str, bucket: oss2.Bucket, work: Path, mib: int, out: list[str]
) -> None:
    csv = work / "ambulance.csv"
    size = make_csv(csv, mib)
    mb = size / 1e6
    oss2.resumable_upload(
        bucket,
        "ambulance/part-0.csv",
        str(csv),
        multipart_threshold=64 << 20,
        part_size=64 << 20,
        num_threads=4,
        store=oss2.ResumableStore(root=str(work)),
    )
    run_sql(
        console,
        f"vfs -create volume_external -storage_provider oss -url {url}/ambulance -acd true;"
        f" vfs -create volume_external_unload -storage_provider oss -url {url}/unload -acd true;"
        f" CREATE TABLE ambulance_data_csv_load ({COLUMNS});",
    )
    load_s, lines = timed(
        "LOAD",
        lambda: run_sql(
            console,
            "load overwrite table ambulance_data_csv_load from location 'odps://bench/volume_external/' "
            "stored by 'com.aliyun.odps.CsvStorageHandler' "
            "with serdeproperties ('odps.text.option.delimiter'=',');",
        ),
        out,
    )
    unload_s, _ = timed(
        "UNLOAD",
        lambda: run_sql(
            console,
            "set odps.stage.mapper.split.size=256; unload from ambulance_data_csv_load into location "
            "'odps://bench/volume_external_unload' stored by 'com.aliyun.odps.CsvStorageHandler' "
            "with serdeproperties ('odps.text.option.delimiter'=',');",
        ),
        out,
    )
    print(lines[-1])
    files = [o for o in oss2.ObjectIterator(bucket, prefix="unload/") if o.key.endswith(".csv")]
    unloaded = sum(o.size for o in files) / 1e6
    con = duckdb.connect(config={"threads": 2})
    parquet = work / "local.parquet"
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in DUCK_COLUMNS.items()) + "}"
    local_load, _ = timed(
        "DuckDB local CSV -> Parquet",
        lambda: con.execute(
            f"COPY (SELECT * FROM read_csv('{csv}', columns={cols}, header=false, auto_detect=false)) TO "
            f"'{parquet}' (FORMAT parquet, COMPRESSION zstd)"
        ),
        out,
    )
    local_unload, _ = timed(
        "DuckDB local Parquet -> CSV",
        lambda: con.execute(
            f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{work / 'local.csv'}' (FORMAT csv, HEADER "
            "false)"
        ),
        out,
    )
    out += [
        "| step | ossbox (MB/s) | DuckDB locally (MB/s) | ratio |",
        "|---|---|---|---|",
        f"| LOAD {mb:.0f} MB CSV -> table | {mb / load_s:.0f} | {mb / local_load:.0f} | "
        f"{local_load / load_s:.2f} |",
        f"| UNLOAD table -> {unloaded:.0f} MB CSV in {len(files)} files | {unloaded / unload_s:.0f} | "
        f"{unloaded / local_unload:.0f} | {local_unload / unload_s:.2f} |",
        "",
    ]


def vectors(n: int, q: int, d: int = 128) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(100, d)).astype("float32") * 4
    base = (centers[rng.integers(0, 100, n)] + rng.normal(size=(n, d))).astype("float32")
    queries = (centers[rng.integers(0, 100, q)] + rng.normal(size=(q, d))).astype("float32")
    return base, queries


def bench_vectors(console: Console, url: str, bucket: oss2.Bucket, n: int, q: int, out: list[str]) -> None:
    base, queries = vectors(n, q)
    for name, matrix, prefix in (("docs", base, "d"), ("queries", queries, "q")):
        text = "\n".join(f"{prefix}{i},{'~'.join(f'{x:.4f}' for x in row)}" for i, row in enumerate(matrix))
        bucket.put_object(f"vectors/{name}/part-0.csv", text.encode())
    run_sql(
        console,
        f"vfs -create vec_vol -storage_provider oss -url {url}/vectors -acd true;"
        " CREATE TABLE vdoc (pk STRING, vector STRING) PARTITIONED BY (pt STRING);"
        " CREATE TABLE vquery (pk STRING, vector STRING) PARTITIONED BY (pt STRING);"
        " LOAD OVERWRITE TABLE vdoc PARTITION (pt='1') FROM LOCATION 'odps://bench/vec_vol/docs/';"
        " LOAD OVERWRITE TABLE vquery PARTITION (pt='1') FROM LOCATION 'odps://bench/vec_vol/queries/';",
    )
    flags = (
        "jar -classpath x com.alibaba.proxima2.ce.ProximaCERunner -doc_table vdoc -doc_table_partition 1"
        " -query_table vquery -query_table_partition 1 -output_table vout -output_table_partition {pt}"
        " -data_type float -dimension 128 -topk 10 -job_mode build:seek:recall -external_volume vec_vol"
        " -exact_max_docs {exact};"
    )
    out += ["| index (through the service) | build s | queries/s | recall@10 vs exact |", "|---|---|---|---|"]
    for label, exact, pt in (("HNSW (faiss, M=32)", 0, "hnsw"), ("exact (faiss flat)", 10**9, "exact")):
        lines = run_sql(console, flags.format(pt=pt, exact=exact))
        build = next(line for line in lines if line.startswith("build:")).split(", ")[2]
        qps = next(line for line in lines if line.startswith("seek:")).split(", ")[2]
        recall = next(line for line in lines if line.startswith("recall@"))
        out.append(f"| {label} | {build} | {qps.split()[0]} | {recall.split()[1]} |")
    out += ["", "| library, in-process, 2 threads | build s | queries/s | recall@10 |", "|---|---|---|---|"]
    out += compare_libraries(base, queries)
    out.append("")


def compare_libraries(base: np.ndarray, queries: np.ndarray, k: int = 10) -> list[str]:
    import faiss

    faiss.omp_set_num_threads(2)
    d = base.shape[1]
    flat = faiss.IndexFlatL2(d)
    flat.add(base)
    started = time.perf_counter()
    _, truth = flat.search(queries, k)
    exact_qps = len(queries) / (time.perf_counter() - started)

    def recall(found: np.ndarray) -> float:
        return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, truth, strict=True)]))

    rows = [f"| faiss IndexFlatL2 (exact) | 0 | {exact_qps:.0f} | 1.000 |"]
    started = time.perf_counter()
    h = faiss.IndexHNSWFlat(d, 32)
    h.hnsw.efConstruction = 100
    h.add(base)
    build = time.perf_counter() - started
    h.hnsw.efSearch = 64
    started = time.perf_counter()
    _, found = h.search(queries, k)
    rows.append(
        f"| faiss IndexHNSWFlat M=32 ef=64 | {build:.1f} | "
        f"{len(queries) / (time.perf_counter() - started):.0f} | {recall(found):.3f} |"
    )
    try:
        from usearch.index import Index

        started = time.perf_counter()
        u = Index(ndim=d, metric="l2sq", dtype="f32", connectivity=32, expansion_add=100)
        u.add(np.arange(len(base)), base, threads=2)
        build = time.perf_counter() - started
        u.expansion_search = 64
        started = time.perf_counter()
        m = u.search(queries, k, threads=2)
        rows.append(
            f"| usearch M=32 ef=64 | {build:.1f} | {len(queries) / (time.perf_counter() - started):.0f} | "
            f"{recall(m.keys):.3f} |"
        )
    except ImportError:
        rows.append("| usearch | not installed | | |")
    try:
        import hnswlib

        started = time.perf_counter()
        p = hnswlib.Index(space="l2", dim=d)
        p.init_index(max_elements=len(base), ef_construction=100, M=32)
        p.set_num_threads(2)
        p.add_items(base)
        build = time.perf_counter() - started
        p.set_ef(64)
        started = time.perf_counter()
        labels, _ = p.knn_query(queries, k)
        rows.append(
            f"| hnswlib M=32 ef=64 | {build:.1f} | {len(queries) / (time.perf_counter() - started):.0f} | "
            f"{recall(labels):.3f} |"
        )
    except ImportError:
        rows.append("| hnswlib | not installed | | |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv-mib", type=int, default=1024)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--skip-vectors", action="store_true")
    args = parser.parse_args()
    out = [
        f"# volumes_bench {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"`python bench/volumes_bench.py --csv-mib {args.csv_mib} --docs {args.docs} --queries "
        f"{args.queries}`",
        "",
    ]
    with tempfile.TemporaryDirectory(prefix="volumes-bench-") as tmp:
        work = Path(tmp)
        server = ServerProcess(work / "data", free_port(), extra_args=("--workers", "2")).start()
        try:
            client, _role, url, bucket = setup(server)
            console = Console(client, print)
            bench_load_unload(console, url, bucket, work, args.csv_mib, out)
            if not args.skip_vectors:
                bench_vectors(console, url, bucket, args.docs, args.queries, out)
        finally:
            server.stop()
    text = "\n".join(out)
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"volumes_bench-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
