"""The document's statements through `ossbox sql -f` against the real server (placeholders filled in)."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.volumes.conftest import Project, User

CSV = "com.aliyun.odps.CsvStorageHandler"
AMBULANCE_CSV = """\
1,1,51,1,46.81006,-92.08174,9/14/2014 0:00,S
1,2,13,1,46.81006,-92.08174,9/14/2014 0:01,NE
1,3,48,1,46.81006,-92.08174,9/14/2014 0:02,NE
1,4,30,1,46.81006,-92.08174,9/14/2014 0:03,W
1,5,47,1,46.81006,-92.08174,9/14/2014 0:04,S
"""
AMBULANCE_CSV_2 = """\
1,6,9,1,46.81006,-92.08174,9/14/2014 0:05,S
1,7,53,1,46.81006,-92.08174,9/14/2014 0:06,N
1,8,63,1,46.81006,-92.08174,9/14/2014 0:07,SW
1,9,4,1,46.81006,-92.08174,9/14/2014 0:08,NE
1,10,31,1,46.81006,-92.08174,9/14/2014 0:09,N
"""
# The document's example result, as odpscmd prints it (one table, header then rows).
AMBULANCE_ROWS = [
    line.split()
    for line in """\
1 1 51 1 46.81006 -92.08174 9/14/2014 0:00 S
1 2 13 1 46.81006 -92.08174 9/14/2014 0:01 NE
1 3 48 1 46.81006 -92.08174 9/14/2014 0:02 NE
1 4 30 1 46.81006 -92.08174 9/14/2014 0:03 W
1 5 47 1 46.81006 -92.08174 9/14/2014 0:04 S
1 6 9 1 46.81006 -92.08174 9/14/2014 0:05 S
1 7 53 1 46.81006 -92.08174 9/14/2014 0:06 N
1 8 63 1 46.81006 -92.08174 9/14/2014 0:07 SW
1 9 4 1 46.81006 -92.08174 9/14/2014 0:08 NE
1 10 31 1 46.81006 -92.08174 9/14/2014 0:09 N""".splitlines()
]


def table_rows(output: str) -> list[list[str]]:
    """The cells of every odpscmd-style table line in the output (headers included)."""
    lines = [line for line in output.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def make_volume(p: Project, user: User, name: str, directory: str) -> None:
    user.sql(
        f"vfs -create {name} -storage_provider oss -url {p.volume_url(directory)} -acd true -role_arn "
        f"{p.role_arn};"
    )


def script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"s{uuid.uuid4().hex[:6]}.sql"
    path.write_text(text)
    return path


def test_proxima_tables(project: Project, tmp_path: Path) -> None:
    out = project.alice.sql_file(
        script(
            tmp_path,
            """\
-- Create a base table and a query table
CREATE TABLE doc_table_float_smoke(pk STRING, vector STRING) PARTITIONED BY (pt STRING);
CREATE TABLE query_table_float_smoke(pk STRING, vector STRING) PARTITIONED BY (pt STRING);
-- Insert data into the base table
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
-- Insert data into the query table
ALTER TABLE query_table_float_smoke ADD PARTITION(pt='20230116');
INSERT OVERWRITE TABLE query_table_float_smoke PARTITION (pt='20230116') VALUES
('q1.nid','1~1~1~1~2~2~2~2'),
('q2.nid','4~4~4~4~3~3~3~3'),
('q3.nid','9~9~9~9~5~5~5~5');
SELECT * FROM query_table_float_smoke WHERE pt='20230116' ORDER BY pk;
SHOW PARTITIONS doc_table_float_smoke;
SELECT count(*) AS n FROM doc_table_float_smoke;
""",
        )
    ).stdout
    assert "| q1.nid | 1~1~1~1~2~2~2~2 | 20230116 |" in out, out
    assert "pt=20230116" in out
    assert "| 10 |" in out, out
    # INSERT OVERWRITE replaces the partition; INSERT INTO adds to it
    out = project.alice.sql(
        "INSERT OVERWRITE TABLE query_table_float_smoke PARTITION (pt='20230116') VALUES ('q9.nid','0~0');"
        " INSERT INTO TABLE query_table_float_smoke PARTITION (pt='20230116') SELECT pk, vector FROM"
        " doc_table_float_smoke WHERE pk = '1.nid';"
        " SELECT pk FROM query_table_float_smoke ORDER BY pk;"
    ).stdout
    assert table_rows(out)[1:] == [["1.nid"], ["q9.nid"]], out


def test_ambulance_load_select_unload(project: Project, tmp_path: Path) -> None:
    p = project
    p.bucket.put_object("ambulance/part-0001.csv", AMBULANCE_CSV)
    p.bucket.put_object("ambulance/part-0002.csv", AMBULANCE_CSV_2)
    p.bucket.put_object("ambulance/_SUCCESS", b"")
    make_volume(p, p.alice, "volume_external", "ambulance")
    make_volume(p, p.alice, "volume_external_unload", "ambulance-unload")
    doc = f"""\
-- Create the sink table ambulance_data_csv_load
create table ambulance_data_csv_load (
vehicleId INT,
recordId INT,
patientId INT,
calls INT,
locationLatitute DOUBLE,
locationLongtitue DOUBLE,
recordTime STRING,
direction STRING );

-- Run the load command
load overwrite table ambulance_data_csv_load
from
location 'odps://{p.name}/volume_external/'
stored by 'com.aliyun.odps.CsvStorageHandler'
with serdeproperties (
  'odps.properties.rolearn'='{p.role_arn}',
  'odps.text.option.delimiter'=','
);
-- Query
SELECT * from ambulance_data_csv_load ORDER BY recordid;
"""
    out = p.alice.sql_file(script(tmp_path, doc)).stdout
    rows = table_rows(out)
    header = [
        "vehicleid",
        "recordid",
        "patientid",
        "calls",
        "locationlatitute",
        "locationlongtitue",
        "recordtime",
        "direction",
    ]
    assert rows[0] == header, out
    assert [" ".join(r).split() for r in rows[1:]] == AMBULANCE_ROWS, out

    unload = f"""\
set odps.stage.mapper.split.size=256;
unload from
(select * from ambulance_data_csv_load)
into
location 'odps://{p.name}/volume_external_unload'
stored by 'com.aliyun.odps.CsvStorageHandler'
with serdeproperties ('odps.text.option.delimiter'=',');
-- This is equivalent to the following statements.
set odps.stage.mapper.split.size=256;
unload from ambulance_data_csv_load
into
location 'odps://{p.name}/volume_external_unload'
stored by 'com.aliyun.odps.CsvStorageHandler'
with serdeproperties ('odps.properties.rolearn'='{p.role_arn}', 'odps.text.option.delimiter'=',');
"""
    p.alice.sql_file(script(tmp_path, unload))
    files = [o.key for o in p.bucket.list_objects("ambulance-unload/").object_list if o.key.endswith(".csv")]
    assert len(files) == 2, files
    for key in files:
        lines = sorted(
            p.bucket.get_object(key).read().decode().splitlines(), key=lambda s: int(s.split(",")[1])
        )
        assert lines == sorted(
            (AMBULANCE_CSV + AMBULANCE_CSV_2).splitlines(), key=lambda s: int(s.split(",")[1])
        )
    # the round trip: what was unloaded loads back into an equal table
    out = p.alice.sql(
        "CREATE TABLE ambulance_again AS SELECT * FROM ambulance_data_csv_load WHERE false;"
        f" LOAD INTO TABLE ambulance_again FROM LOCATION 'odps://{p.name}/volume_external_unload/'"
        " STORED BY 'com.aliyun.odps.CsvStorageHandler';"
        " SELECT count(*) AS n FROM (SELECT * FROM ambulance_again EXCEPT ALL"
        " (SELECT * FROM ambulance_data_csv_load UNION ALL SELECT * FROM ambulance_data_csv_load)) AS d;"
        " SELECT count(*) AS n FROM ambulance_again;"
    ).stdout
    assert [r for r in table_rows(out) if r != ["n"]] == [["0"], ["20"]], out


def test_external_tables_csv_and_parquet(project: Project, tmp_path: Path) -> None:
    p = project
    p.bucket.put_object("demo3/a.csv", "a,b,c\nd,e,f\n")
    p.bucket.put_object("demo3/sub/b.csv", "g,h,i\n")
    make_volume(p, p.alice, "demo_volume3", "demo3")
    out = p.alice.sql(
        f"""create external table ext_tbl_onvolume
(
 col1 string,
 col2 string,
 col3 string
)
stored by 'com.aliyun.odps.CsvStorageHandler'
with serdeproperties (
 'odps.properties.rolearn'='{p.role_arn}'
)
location 'odps://{p.name}/demo_volume3/';
-- Query the external table
SELECT * from ext_tbl_onvolume ORDER BY col1;"""
    ).stdout
    assert table_rows(out)[1:] == [["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]], out

    table = pa.table(
        {"id": pa.array([1, 2, 3], pa.int64()), "name": ["x", "y", "z"], "score": [0.5, 1.5, 2.5]}
    )
    for pt in ("2024", "2025"):
        buf = io.BytesIO()
        pq.write_table(table, buf)
        p.bucket.put_object(f"pq/year={pt}/part-0.parquet", buf.getvalue())
    make_volume(p, p.alice, "pq_volume", "pq")
    out = p.alice.sql(
        "CREATE EXTERNAL TABLE IF NOT EXISTS ext_pq (id BIGINT, name STRING, score DOUBLE)"
        f" PARTITIONED BY (year STRING) STORED AS PARQUET LOCATION 'odps://{p.name}/pq_volume/';"
        " SELECT year, count(*) AS n, sum(score) AS s FROM ext_pq GROUP BY year ORDER BY year;"
        " DESC ext_pq;"
    ).stdout
    assert table_rows(out)[1:3] == [["2024", "3", "4.5"], ["2025", "3", "4.5"]], out
    assert "| year  | string | partition |" in out, out


def test_load_malformed_csv_keeps_table(project: Project, tmp_path: Path) -> None:
    p = project
    p.bucket.put_object("malformed/good.csv", "1,a\n2,b\n")
    make_volume(p, p.alice, "vol_malformed", "malformed")
    p.alice.sql(
        "CREATE TABLE mal (id INT, name STRING);"
        f" LOAD OVERWRITE TABLE mal FROM LOCATION 'odps://{p.name}/vol_malformed/'"
        " STORED BY 'com.aliyun.odps.CsvStorageHandler';"
    )
    p.bucket.put_object("malformed/bad.csv", "3,c\nfour,d\n")
    result = p.alice.sql(
        f"LOAD OVERWRITE TABLE mal FROM LOCATION 'odps://{p.name}/vol_malformed/'"
        " STORED BY 'com.aliyun.odps.CsvStorageHandler';",
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert (
        "LOAD failed, mal is unchanged" in result.stdout
        and f"odps://{p.name}/vol_malformed/bad.csv" in result.stdout
    )
    assert "sessions" not in result.stdout  # no local paths of the server
    out = p.alice.sql("SELECT * FROM mal ORDER BY id;").stdout
    assert table_rows(out)[1:] == [["1", "a"], ["2", "b"]], out


def test_errors_with_line_and_column(project: Project, tmp_path: Path) -> None:
    result = project.alice.sql_file(
        script(tmp_path, "SELECT 1 AS a;\n\nSELECT *\n  FORM nothing;\n"), check=False
    )
    assert result.returncode == 1
    assert "FAILED: SyntaxError at line 4, column 8" in result.stdout, result.stdout
    result = project.alice.sql_file(script(tmp_path, "\nSELECT * FROM no_such_table;"), check=False)
    assert "NoSuchTable at line 2, column 15" in result.stdout, result.stdout
    assert f"Table not found - '{project.name}.no_such_table'" in result.stdout
    result = project.alice.sql_file(script(tmp_path, "CREATE TABLE t1 (a INTEGERX);"), check=False)
    assert "SyntaxError at line 1, column 20" in result.stdout and "unknown type" in result.stdout, (
        result.stdout
    )
    result = project.alice.sql_file(script(tmp_path, "INSERT INTO nosuch VALUES (1);"), check=False)
    assert "NoSuchTable" in result.stdout


def test_reader_without_read_grant(project: Project) -> None:
    p, bob = project, project.bob
    p.alice.sql("CREATE TABLE private_t (x INT); INSERT INTO private_t VALUES (42);")
    p.owner.sql(f"GRANT CreateInstance ON PROJECT {p.name} TO USER {bob.name};")
    result = bob.sql("SELECT * FROM private_t;", check=False)
    assert result.returncode == 1 and "NO privilege 'Read'" in result.stdout, result.stdout
    p.alice.sql(f"GRANT Select ON TABLE private_t TO USER {bob.name};")
    assert "| 42 |" in bob.sql("SELECT * FROM private_t;").stdout
    assert "NO privilege 'Write'" in bob.sql("INSERT INTO private_t VALUES (1);", check=False).stdout
    shown = bob.sql(f"SHOW GRANTS FOR {bob.name};").stdout
    assert f"projects/{p.name}/tables/private_t: Select" in shown, shown


def test_interactive_console_reads_multi_line_statements(project: Project) -> None:
    import subprocess
    import sys

    typed = (
        "CREATE TABLE typed_in\n(a INT,\n b STRING);\n"
        "INSERT INTO typed_in\nVALUES (1, 'x;y');\nSELECT * FROM typed_in;\nquit\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "ossbox", "sql"],
        input=typed,
        capture_output=True,
        text=True,
        env={**project.alice.env, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "| 1 | x;y |" in result.stdout, result.stdout


def test_load_with_a_role_without_oss_rights(project: Project, tmp_path: Path) -> None:
    import json

    from tests.volumes.conftest import TRUST_ODPS, ossbox

    p = project
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(TRUST_ODPS))
    role = "loadnorights" + uuid.uuid4().hex[:6]
    ossbox(p.server, "ram", "role", "create", role, "--trust-policy", str(trust))
    arn = f"acs:ram::{p.account_id}:role/{role}"
    p.bucket.put_object("norights/a.csv", "1\n")
    make_volume(p, p.alice, "vol_norights", "norights")
    result = p.alice.sql(
        "CREATE TABLE nr (x INT);"
        f" LOAD INTO TABLE nr FROM LOCATION 'odps://{p.name}/vol_norights/' STORED BY"
        f" 'com.aliyun.odps.CsvStorageHandler' WITH SERDEPROPERTIES ('odps.properties.rolearn'='{arn}');",
        check=False,
    )
    assert result.returncode == 1 and f"The role {arn} may not access" in result.stdout, result.stdout
    assert "| 0 |" in p.alice.sql("SELECT count(*) AS n FROM nr;").stdout


def test_unload_split_size_sets_the_number_of_files(project: Project) -> None:
    p = project
    make_volume(p, p.alice, "vol_split", "split")
    out = p.alice.sql(
        "CREATE TABLE big AS SELECT i AS id, md5(CAST(i AS VARCHAR)) AS h FROM range(200000) t(i);"
        " set odps.stage.mapper.split.size=1;"
        f" unload from big into location 'odps://{p.name}/vol_split/a' stored by '{CSV}';"
        " set odps.stage.mapper.split.size=256;"
        f" unload from big into location 'odps://{p.name}/vol_split/b' stored by '{CSV}';"
    ).stdout
    small = [o for o in p.bucket.list_objects("split/a/").object_list if o.key.endswith(".csv")]
    large = [o for o in p.bucket.list_objects("split/b/").object_list if o.key.endswith(".csv")]
    assert len(large) == 1 and len(small) > 3, out
    rows = sum(len(p.bucket.get_object(o.key).read().splitlines()) for o in small)
    assert rows == 200000


def test_maxcompute_types_round_trip(project: Project) -> None:
    out = project.alice.sql(
        "CREATE TABLE typed (s STRING, bi BIGINT, i INT, d DOUBLE, b BOOLEAN, dt DATETIME, dec DECIMAL(10,2),"
        " day DATE, v VARCHAR(10), arr ARRAY<BIGINT>);"
        " INSERT INTO typed VALUES ('x', 9007199254740993, -7, 0.25, true, '2014-09-14 00:01:00', 12.5,"
        " '2024-02-29', 'short', [1, 2]);"
        " INSERT INTO typed (s) VALUES ('only s');"
        " SELECT * FROM typed ORDER BY s; DESC typed;"
    ).stdout
    rows = table_rows(out)
    assert rows[1] == ["only s", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL", "NULL"], out
    assert rows[2] == [
        "x",
        "9007199254740993",
        "-7",
        "0.25",
        "true",
        "2014-09-14 00:01:00",
        "12.50",
        "2024-02-29",
        "short",
        "[1, 2]",
    ], out
    assert ["dec", "decimal(10,2)", "", ""] in rows and ["arr", "array<bigint>", "", ""] in rows, out
    bad = project.alice.sql("INSERT INTO typed (i) VALUES ('not a number');", check=False)
    assert bad.returncode == 1 and "InvalidData" in bad.stdout, bad.stdout


def test_only_the_owner_creates_projects(project: Project) -> None:
    from tests.volumes.conftest import ossbox

    alice = project.alice
    result = ossbox(
        project.server,
        "project",
        "create",
        "alices_own",
        "--warehouse",
        project.volume_url("alice"),
        "--role-arn",
        project.role_arn,
        env={
            "ODPS_ENDPOINT": project.server.endpoint,
            "ODPS_ACCESS_ID": alice.key_id,
            "ODPS_ACCESS_KEY": alice.secret,
        },
        check=False,
    )
    assert result.returncode == 1 and "Only the account owner may create projects" in result.stderr, (
        result.stderr
    )
