"""Vector search with Proxima CE's flags: nearest documents of each query, squared Euclidean distance.

    -doc_table T -doc_table_partition P -query_table Q -query_table_partition P
    -output_table O -output_table_partition P -data_type float -dimension N
    -topk K | K1,K2,... (the output holds the largest) -job_mode train:build:seek:recall
    -external_volume V (index files are written there) [-owner_id ...] [-exact_max_docs N]

Tables hold (pk STRING, vector STRING) with `~`-separated floats in the partition given (of the tables'
first partition column). The output table (pk, knn_result, score) PARTITIONED BY (pt) is created when
missing; each query gets its global top k, scores ascending. Up to `-exact_max_docs` documents (default
20,000) the search is exact (faiss IndexFlatL2); above, an HNSW graph (faiss IndexHNSWFlat, M=32), chosen by
measurement (docs/benchmarks.md). `recall` mode compares the result with an exact search and reports it.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ossbox.volumes import paths
from ossbox.volumes.catalog import Column, TableDef, now_ms
from ossbox.volumes.errors import VolumeError, invalid
from ossbox.volumes.grants import Caller
from ossbox.volumes.oss import oss_errors
from ossbox.volumes.sql.session import quote_ident, quote_str

if TYPE_CHECKING:
    from ossbox.volumes.service import ProjectService
    from ossbox.volumes.sql.engine import StatementRun

MODES = ("train", "build", "seek", "recall")
EXACT_MAX_DOCS = 20_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 100
RECALL_SAMPLE = 1000
_REQUIRED = (
    "doc_table",
    "doc_table_partition",
    "query_table",
    "query_table_partition",
    "output_table",
    "output_table_partition",
    "dimension",
    "topk",
    "external_volume",
)
_KNOWN = (*_REQUIRED, "data_type", "job_mode", "owner_id", "exact_max_docs")


def _params(flags: dict[str, Any]) -> dict[str, Any]:
    flags = {str(k).lstrip("-").lower(): str(v) for k, v in flags.items()}
    unknown = sorted(set(flags) - set(_KNOWN))
    if unknown:
        raise invalid(f"unknown flags: {', '.join('-' + u for u in unknown)}")
    missing = [f"-{k}" for k in _REQUIRED if not flags.get(k)]
    if missing:
        raise invalid(f"missing flags: {', '.join(missing)}")
    if flags.get("data_type", "float").lower() != "float":
        raise invalid("-data_type: only float vectors are supported")
    if not flags["dimension"].isdigit() or not 1 <= int(flags["dimension"]) <= 65536:
        raise invalid("-dimension takes a positive number")
    try:
        topks = [int(k) for k in flags["topk"].split(",")]
    except ValueError:
        raise invalid("-topk takes a number or a list of numbers (10,20,30)") from None
    if not topks or min(topks) < 1 or max(topks) > 1024:
        raise invalid("-topk must be between 1 and 1024")
    modes = [m.strip().lower() for m in flags.get("job_mode", "train:build:seek").split(":") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise invalid(f"-job_mode is a ':'-list of {', '.join(MODES)}")
    exact_max = flags.get("exact_max_docs", str(EXACT_MAX_DOCS))
    if not exact_max.isdigit():
        raise invalid("-exact_max_docs takes a number")
    return {
        **flags,
        "dimension": int(flags["dimension"]),
        "topk": max(topks),
        "modes": modes,
        "exact_max_docs": int(exact_max),
    }


def _read_vectors(
    run: StatementRun, table_name: str, partition: str, dimension: int
) -> tuple[list[str], np.ndarray]:
    table = run.expose(run.table_name(table_name))
    if table is None:
        raise VolumeError("NoSuchTable", f"Table not found - '{run.project}.{table_name}'.", 404)
    names = {c.name for c in table.columns}
    if not {"pk", "vector"} <= names:
        raise invalid(f"{table.name} must have the columns pk and vector")
    where = ""
    if table.partition_columns:
        where = f" WHERE {quote_ident(table.partition_columns[0].name)} = {quote_str(partition)}"
    source = (
        "SELECT CAST(pk AS VARCHAR) AS pk, CAST(vector AS VARCHAR) AS v "
        f"FROM {quote_ident(table.name)}{where}"
    )
    # DuckDB splits and converts the strings (12.8 million floats take seconds in Python, a fraction here);
    # TRY_CAST leaves NULL where a value is not a number, so the bad row can be named.
    parsed = (
        "SELECT pk, TRY_CAST(string_split(v, '~') AS FLOAT[]) AS x, len(string_split(v, '~')) AS n "
        f"FROM ({source})"
    )
    bad = run.query(
        f"SELECT pk, n FROM ({parsed}) "
        f"WHERE x IS NULL OR n != {dimension} OR list_aggregate(x, 'count') != n LIMIT 1"
    ).fetchone()
    if bad is not None:
        pk, count = bad
        if count != dimension:
            raise invalid(f"{table.name}: the vector of {pk} has {count} values, -dimension is {dimension}")
        raise invalid(f"{table.name}: the vector of {pk} is not '~'-separated numbers")
    result: Any = run.query(f"SELECT pk, x FROM ({parsed})").fetch_arrow_table()
    if result.num_rows == 0:
        raise VolumeError("EmptyTable", f"{table.name} has no rows in the partition {partition}.", 400)
    pks = [str(v) for v in result.column("pk").to_pylist()]
    flat = result.column("x").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    out = np.ascontiguousarray(flat.reshape(len(pks), dimension), dtype=np.float32)
    return pks, out


class _Index:
    """An exact (flat) or HNSW faiss index with the documents' keys."""

    def __init__(self, index: Any, pks: list[str], kind: str) -> None:
        self.index, self.pks, self.kind = index, pks, kind

    @staticmethod
    def build(vectors: np.ndarray, pks: list[str], exact_max: int, topk: int) -> _Index:
        import faiss

        dim = vectors.shape[1]
        index: Any
        if len(pks) <= exact_max:
            index = faiss.IndexFlatL2(dim)
            kind = "flat"
        else:
            index = faiss.IndexHNSWFlat(dim, HNSW_M)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = max(64, 2 * topk)
            kind = "hnsw"
        index.add(vectors)
        return _Index(index, pks, kind)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = max(self.index.hnsw.efSearch, 2 * k)
        scores, ids = self.index.search(queries, min(k, len(self.pks)))
        return scores, ids

    def to_files(self) -> dict[str, bytes]:
        import faiss

        meta = {"kind": self.kind, "count": len(self.pks), "metric": "squared_euclidean"}
        return {
            "index.faiss": faiss.serialize_index(self.index).tobytes(),
            "pks.json": json.dumps(self.pks).encode(),
            "meta.json": json.dumps(meta).encode(),
        }

    @staticmethod
    def from_files(files: dict[str, bytes]) -> _Index:
        import faiss

        meta = json.loads(files["meta.json"])
        index = faiss.deserialize_index(np.frombuffer(files["index.faiss"], dtype=np.uint8))
        return _Index(index, json.loads(files["pks.json"]), meta["kind"])


def run_vector_search(
    svc: ProjectService, caller: Caller, project: str, flags: dict[str, Any]
) -> dict[str, Any]:
    from ossbox.volumes.sql.engine import StatementRun

    p = _params(flags)
    svc.require_instance(caller, project)
    volume = svc.catalog.require_volume(project, paths.check_name("volume", p["external_volume"]))
    svc.guard.require(caller, project, "volume", volume.name, "Write", volume.owner)
    run = StatementRun(svc.engine(), caller, project, "", {})
    lines: list[str] = []
    try:
        return _run(svc, run, p, volume.name, lines)
    finally:
        run.close()


def _run(
    svc: ProjectService, run: StatementRun, p: dict[str, Any], volume: str, lines: list[str]
) -> dict[str, Any]:
    dim, topk, modes = p["dimension"], p["topk"], p["modes"]
    fs = svc.volume_fs(run.project, volume)
    index_dir = f"proxima_ce/{p['doc_table']}/{p['doc_table_partition']}"
    started = time.monotonic()
    index: _Index | None = None
    doc_vectors: np.ndarray | None = None
    if "build" in modes or "train" in modes:
        pks, doc_vectors = _read_vectors(run, p["doc_table"], p["doc_table_partition"], dim)
        index = _Index.build(doc_vectors, pks, p["exact_max_docs"], topk)
        with oss_errors(fs.role_arn, f"odps://{run.project}/{volume}/{index_dir}"):
            for name, data in index.to_files().items():
                fs.bucket.put_object(fs.location.key(f"{index_dir}/{name}"), data)
        lines.append(
            f"build: {len(pks)} documents, {index.kind} index, {time.monotonic() - started:.2f} s, "
            f"written to odps://{run.project}/{volume}/{index_dir}/"
        )
    if "seek" not in modes and "recall" not in modes:
        return {"lines": lines}
    if index is None:
        with oss_errors(fs.role_arn, f"odps://{run.project}/{volume}/{index_dir}"):
            try:
                files = {
                    n: fs.bucket.get_object(fs.location.key(f"{index_dir}/{n}")).read()
                    for n in ("index.faiss", "pks.json", "meta.json")
                }
            except Exception as exc:
                if getattr(exc, "status", 0) == 404:
                    raise VolumeError(
                        "NoSuchIndex",
                        f"no index at odps://{run.project}/{volume}/{index_dir}/: run with -job_mode build "
                        "first",
                        404,
                    ) from None
                raise
        index = _Index.from_files(files)
    qpks, queries = _read_vectors(run, p["query_table"], p["query_table_partition"], dim)
    seek_started = time.monotonic()
    scores, ids = index.search(queries, topk)
    seconds = time.monotonic() - seek_started
    lines.append(f"seek: {len(qpks)} queries, top {topk}, {len(qpks) / max(seconds, 1e-9):.0f} queries/s")
    _write_output(run, p, qpks, index.pks, scores, ids)
    if "recall" in modes:
        lines.append(_recall(run, p, queries, ids, doc_vectors, index))
    return {"lines": lines}


def _write_output(
    run: StatementRun,
    p: dict[str, Any],
    qpks: list[str],
    dpks: list[str],
    scores: np.ndarray,
    ids: np.ndarray,
) -> None:
    import pyarrow as pa

    name = run.table_name(p["output_table"])
    table = run.catalog.get_table(run.project, name)
    if table is None:
        run.guard.require(run.caller, run.project, "project", run.project, "CreateTable")
        table = TableDef(
            name,
            (Column("pk", "STRING"), Column("knn_result", "STRING"), Column("score", "DOUBLE")),
            (Column("pt", "STRING"),),
            owner=run.caller.principal,
            created_ms=now_ms(),
        )
        run.catalog.create_table(run.project, table, if_not_exists=True)
        table = run.catalog.require_table(run.project, name)
    run.require_table(table, "Write")
    out_q, out_d, out_s = [], [], []
    for qi, qpk in enumerate(qpks):
        for score, di in zip(scores[qi], ids[qi], strict=True):
            if di < 0:
                continue
            out_q.append(qpk)
            out_d.append(dpks[int(di)])
            out_s.append(float(score))
    arrow = pa.table({"pk": out_q, "knn_result": out_d, "score": out_s})
    run.session.con.register("__vector_result", arrow)
    spec = run.partition_spec(table, ((table.partition_columns[0].name, p["output_table_partition"]),), True)
    run.write(table, spec, "SELECT pk, knn_result, score FROM __vector_result", overwrite=True)


def _recall(
    run: StatementRun,
    p: dict[str, Any],
    queries: np.ndarray,
    ids: np.ndarray,
    docs: np.ndarray | None,
    index: _Index,
) -> str:
    import faiss

    topk = p["topk"]
    if docs is None:
        _, docs = _read_vectors(run, p["doc_table"], p["doc_table_partition"], p["dimension"])
    sample = min(len(queries), RECALL_SAMPLE)
    flat = faiss.IndexFlatL2(docs.shape[1])
    flat.add(docs)
    exact_scores, exact_ids = flat.search(queries[:sample], min(topk, len(docs)))
    del exact_scores
    hits = sum(
        len(set(found.tolist()) & set(truth.tolist()))
        for found, truth in zip(ids[:sample], exact_ids, strict=True)
    )
    recall = hits / (sample * min(topk, len(docs)))
    return f"recall@{topk}: {recall:.4f} ({index.kind} index vs exact, {sample} queries)"
