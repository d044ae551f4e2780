"""Vector search: the document's Proxima CE example through the console, an HNSW index above the threshold."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np

from tests.volumes.conftest import Project
from tests.volumes.test_sql import script, table_rows

DOC_EXPECTED = {
    "q1.nid": [("2.nid", 4.0), ("1.nid", 4.0), ("3.nid", 20.0)],
    "q2.nid": [("4.nid", 4.0), ("3.nid", 4.0), ("2.nid", 20.0)],
    "q3.nid": [("7.nid", 32.0), ("8.nid", 40.0), ("6.nid", 40.0)],
}
TABLES = """\
CREATE TABLE doc_table_float_smoke(pk STRING, vector STRING) PARTITIONED BY (pt STRING);
CREATE TABLE query_table_float_smoke(pk STRING, vector STRING) PARTITIONED BY (pt STRING);
ALTER TABLE doc_table_float_smoke ADD PARTITION(pt='20230116');
INSERT OVERWRITE TABLE doc_table_float_smoke PARTITION (pt='20230116') VALUES
('1.nid','1~1~1~1~1~1~1~1'),
('2.nid','2~2~2~2~2~2~2~2'),
('3.nid','3~3~3~3~3~3~3~3'),
('4.nid','4~4~4~4~4~4~4~4'),
('5.nid','5~5~5~5~5~5~5~5'),
('6.nid','6~6~6~6~6~6~6~6'),
('7.nid','7~7~7~7~7~7~7~7'),
('8.nid','8~8~8~8~8~8~8~8'),
('9.nid','9~9~9~9~9~9~9~9'),
('10.nid','10~10~10~10~10~10~10~10');
ALTER TABLE query_table_float_smoke ADD PARTITION(pt='20230116');
INSERT OVERWRITE TABLE query_table_float_smoke PARTITION (pt='20230116') VALUES
('q1.nid','1~1~1~1~2~2~2~2'),
('q2.nid','4~4~4~4~3~3~3~3'),
('q3.nid','9~9~9~9~5~5~5~5');
"""


def _grouped(rows: list[list[str]]) -> dict[str, list[tuple[str, float]]]:
    out: dict[str, list[tuple[str, float]]] = {}
    for pk, knn, score, pt in rows:
        assert pt == "20230116"
        out.setdefault(pk, []).append((knn, float(score)))
    return out


def _same_up_to_ties(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> bool:
    """Equal scores in ascending order; rows tied on score may come in either order."""
    return [s for _, s in got] == [s for _, s in want] and sorted(got) == sorted(want)


def test_proxima_ce_document_example(project: Project, tmp_path: Path) -> None:
    p = project
    owner = p.make_user("vec" + uuid.uuid4().hex[:6])
    for privilege in ("CreateInstance", "CreateTable", "CreateVolume", "List", "Read", "Write"):
        p.owner.sql(f"GRANT {privilege} ON PROJECT {p.name} TO USER {owner.name};")
    owner.sql(
        f"vfs -create shanghai_vol_ceshi -storage_provider oss -url {p.volume_url('proxima')} -acd true"
        f" -role_arn {p.role_arn};"
    )
    # the document's statements; test_sql made tables of the same names in this project, hence the suffix
    owner.sql_file(script(tmp_path, TABLES.replace("_smoke", "_smoke_v")))
    run = """\
jar -libjars proxima-ce-aliyun-1.0.0.jar
-classpath proxima-ce-aliyun-1.0.0.jar com.alibaba.proxima2.ce.ProximaCERunner
-doc_table doc_table_float_smoke_v
-doc_table_partition 20230116
-query_table query_table_float_smoke_v
-query_table_partition 20230116
-output_table output_table_float_smoke
-output_table_partition 20230116
-data_type float
-dimension 8
-topk 3
-job_mode train:build:seek:recall
-external_volume shanghai_vol_ceshi
-owner_id 1248953xxx
;
SELECT * FROM output_table_float_smoke WHERE pt='20230116';
"""
    out = owner.sql_file(script(tmp_path, run)).stdout
    rows = table_rows(out)
    assert rows[0] == ["pk", "knn_result", "score", "pt"], out
    got = _grouped(rows[1:])
    assert list(got) == ["q1.nid", "q2.nid", "q3.nid"], out
    for query, want in DOC_EXPECTED.items():
        assert _same_up_to_ties(got[query], want), (query, got[query])
    assert "recall@3: 1.0000 (flat index" in out, out
    index = json.loads(
        p.bucket.get_object("proxima/proxima_ce/doc_table_float_smoke_v/20230116/meta.json").read()
    )
    assert index == {"kind": "flat", "count": 10, "metric": "squared_euclidean"}
    # -topk as a list: the output holds the largest; seek alone reuses the index on the volume
    out = owner.sql(
        "jar -classpath x com.alibaba.proxima2.ce.ProximaCERunner -doc_table doc_table_float_smoke_v"
        " -doc_table_partition 20230116 -query_table query_table_float_smoke_v -query_table_partition "
        "20230116"
        " -output_table output_table_float_smoke -output_table_partition 20230117 -data_type float "
        "-dimension 8"
        " -topk 1,2 -job_mode seek -external_volume shanghai_vol_ceshi;"
        " SELECT pk, count(*) AS n FROM output_table_float_smoke WHERE pt='20230117' GROUP BY pk ORDER BY pk;"
    ).stdout
    assert table_rows(out)[1:] == [["q1.nid", "2"], ["q2.nid", "2"], ["q3.nid", "2"]], out


def test_hnsw_index_above_threshold_and_bad_flags(project: Project, tmp_path: Path) -> None:
    p, alice = project, project.alice
    rng = np.random.default_rng(7)
    docs = rng.normal(size=(400, 16)).astype("float32")
    queries = docs[:20] + rng.normal(scale=0.01, size=(20, 16)).astype("float32")

    def values(prefix: str, m: np.ndarray) -> str:
        return ",\n".join(f"('{prefix}{i}','{'~'.join(f'{x:.5f}' for x in row)}')" for i, row in enumerate(m))

    alice.sql_file(
        script(
            tmp_path,
            "CREATE TABLE hd (pk STRING, vector STRING) PARTITIONED BY (pt STRING);\n"
            "CREATE TABLE hq (pk STRING, vector STRING) PARTITIONED BY (pt STRING);\n"
            f"INSERT OVERWRITE TABLE hd PARTITION (pt='1') VALUES {values('d', docs)};\n"
            f"INSERT OVERWRITE TABLE hq PARTITION (pt='1') VALUES {values('q', queries)};\n"
            f"INSERT OVERWRITE TABLE hd PARTITION (pt='bad') VALUES ('d0', '{'~'.join(['1'] * 15)}~x');\n"
            f"vfs -create hnsw_vol -storage_provider oss -url {p.volume_url('hnsw')} -acd true -role_arn "
            f"{p.role_arn};\n",
        )
    )
    flags = (
        "jar -classpath x com.alibaba.proxima2.ce.ProximaCERunner -doc_table hd -doc_table_partition 1"
        " -query_table hq -query_table_partition 1 -output_table ho -output_table_partition 1 -data_type "
        "float"
        " -dimension 16 -topk 5 -job_mode build:seek:recall -external_volume hnsw_vol -exact_max_docs 100;"
    )
    out = alice.sql(flags + " SELECT knn_result FROM ho WHERE pk = 'q7' ORDER BY score LIMIT 1;").stdout
    assert "hnsw index" in out and "recall@5:" in out, out
    recall = float(out.split("recall@5: ")[1].split()[0])
    assert recall >= 0.9, out
    assert table_rows(out)[-1] == ["d7"], out
    for bad, message in (
        (flags.replace("-dimension 16", "-dimension 8"), "has 16 values, -dimension is 8"),
        (flags.replace("-data_type float", "-data_type int8"), "only float"),
        (flags.replace("-topk 5", "-topk x"), "-topk takes a number"),
        (flags.replace("-doc_table hd", "-doc_table nosuch"), "Table not found"),
        (
            flags.replace("-doc_table_partition 1", "-doc_table_partition bad"),
            "of d0 is not '~'-separated numbers",
        ),
        (flags.replace(" -external_volume hnsw_vol", ""), "missing flags: -external_volume"),
    ):
        result = alice.sql(bad, check=False)
        assert result.returncode == 1 and message in result.stdout, (bad, result.stdout)
    result = project.bob.sql(flags, check=False)
    assert result.returncode == 1 and "AccessDenied" in result.stdout
