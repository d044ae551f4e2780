"""SelectObject and CreateSelectObjectMeta through oss2 and the V2 SDK: SQL over CSV and JSON objects,
answers checked against the same query done in Python, and bad statements, data and requests."""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import random

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from oss2.exceptions import SelectOperationFailed, ServerError

from tests.server import ServerProcess
from tests.v2sdk import v2_client

HEADER = ["Year", "State", "City", "Population", "Measure", "Value"]
MEASURES = ["High blood pressure among adults aged >=18 Years", "Obesity", "Sleeping less than 7 hours"]


def _rows(n: int, seed: int = 7) -> list[list[str]]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        city = rnd.choice(["Austin", "Boston", "", 'Quoted "City", TX', "Line\nbreak"])
        value = "" if i % 11 == 0 else f"{rnd.uniform(0, 100):.1f}"
        rows.append([str(2014 + i % 3), rnd.choice(["TX", "MA", "CA"]), city, str(rnd.randint(1, 10**6))])
        rows[-1] += [rnd.choice(MEASURES), value]
    return rows


def _csv_bytes(rows: list[list[str]], header: bool = True) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    if header:
        w.writerow(HEADER)
    w.writerows(rows)
    return out.getvalue().encode()


def _csv_lines(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _select(bucket: oss2.Bucket, key: str, sql: str, params: dict[str, object] | None = None) -> bytes:
    result = bucket.select_object(key, sql, None, params)
    assert result.status == 206
    return b"".join(result)


@pytest.fixture
def table(v1_bucket: oss2.Bucket) -> list[list[str]]:
    rows = _rows(3000)
    v1_bucket.put_object("t.csv", _csv_bytes(rows))
    return rows


USE = {"CsvHeaderInfo": "Use"}


def test_where_like_and_numbers_as_python_computes_them(
    v1_bucket: oss2.Bucket, table: list[list[str]]
) -> None:
    got = _select(
        v1_bucket,
        "t.csv",
        "select Year, city, Value from ossobject where Measure like '%blood pressure%Years' and value > 50",
        USE,
    )
    want = [[r[0], r[2], r[5]] for r in table if "blood pressure" in r[4] and r[5] and float(r[5]) > 50]
    assert got == _csv_lines(want)
    assert len(want) > 100


def test_aggregates_and_cast(v1_bucket: oss2.Bucket, table: list[list[str]]) -> None:
    got = _select(
        v1_bucket,
        "t.csv",
        "select count(*), avg(cast(year as int)), max(cast(Value as double)), sum(cast(Value as double)) "
        "from ossobject where year = 2015",
        USE,
    )
    chosen = [r for r in table if r[0] == "2015"]
    values = [float(r[5]) for r in chosen if r[5]]
    total = 0.0
    for v in values:
        total += v
    count, avg, best, summed = got.decode().strip().split(",")
    assert (int(count), avg, float(best), float(summed)) == (len(chosen), "2015", max(values), total)


def test_positional_columns_limit_and_star(v1_bucket: oss2.Bucket, table: list[list[str]]) -> None:
    assert _select(v1_bucket, "t.csv", "select _3, _1 from ossobject limit 5", USE) == _csv_lines(
        [[r[2], r[0]] for r in table[:5]]
    )
    # SELECT * with no header reproduces the object, quoted fields and embedded newlines included.
    assert _select(v1_bucket, "t.csv", "select * from ossobject") == _csv_bytes(table)


def test_line_range_and_byte_range(v1_bucket: oss2.Bucket, table: list[list[str]]) -> None:
    got = _select(v1_bucket, "t.csv", "select _1, _2 from ossobject", {**USE, "LineRange": (10, 50)})
    assert got == _csv_lines([[r[0], r[1]] for r in table[10:50]])
    v1_bucket.put_object("lines.csv", b"test\nabc\nxyz\n")
    ranged = v1_bucket.select_object(
        "lines.csv", "select * from ossobject", None, {"AllowQuotedRecordDelimiter": False}, (0, 1)
    )
    assert b"".join(ranged) == b"test\n"
    ranged = v1_bucket.select_object(
        "lines.csv", "select * from ossobject", None, {"AllowQuotedRecordDelimiter": False}, (4, 6)
    )
    assert b"".join(ranged) == b"abc\n"


def test_output_options(v1_bucket: oss2.Bucket) -> None:
    v1_bucket.put_object("o.csv", b"name,job\nabc,def\n")
    out = {"OutputRecordDelimiter": "\r\n", "OutputFieldDelimiter": "|"}
    assert _select(v1_bucket, "o.csv", "select _1, _2 from ossobject", out) == b"name|job\r\nabc|def\r\n"
    assert (
        _select(v1_bucket, "o.csv", "select _1 from ossobject", {"KeepAllColumns": "true"})
        == b"name,\nabc,\n"
    )
    assert _select(v1_bucket, "o.csv", "select job from ossobject", {**USE, "OutputHeader": "true"}) == (
        b"job\ndef\n"
    )
    assert _select(v1_bucket, "o.csv", "select * from ossobject where true", {"EnablePayloadCrc": True}) == (
        b"name,job\nabc,def\n"
    )
    raw = v1_bucket.select_object("o.csv", "select _2 from ossobject", None, {"OutputRawData": "true"})
    assert raw.resp.headers["x-oss-select-output-raw"] == "true"
    assert b"".join(raw) == b"job\ndef\n"


def test_gzip_and_large_object_across_chunks(v1_bucket: oss2.Bucket) -> None:
    rows = _rows(60_000, seed=3)  # ~4 MiB: many read chunks, records cut between them
    data = _csv_bytes(rows, header=False)
    v1_bucket.put_object("big.csv.gz", gzip.compress(data))
    v1_bucket.put_object("big.csv", data)
    for key, params in (("big.csv", {}), ("big.csv.gz", {"CompressionType": "GZIP"})):
        assert _select(v1_bucket, key, "select * from ossobject", params) == data
        counted = _select(v1_bucket, key, "select count(*) from ossobject where _2 = 'TX'", params)
        assert int(counted) == sum(1 for r in rows if r[1] == "TX")


def test_json_document_and_lines(v1_bucket: oss2.Bucket) -> None:
    people = [
        {"person": {"first": f"n{i}", "last": "Doe" if i % 3 else "Roe", "born": f"19{50 + i % 40}-01-02"}}
        | {"party": ["D", "R"][i % 2], "n": i, "tags": [i, i + 1]}
        for i in range(500)
    ]
    v1_bucket.put_object("doc.json", json.dumps({"objects": people}).encode())
    v1_bucket.put_object("lines.json", "\n".join(json.dumps(p) for p in people).encode())
    doc = {"Json_Type": "DOCUMENT", "OutputRecordDelimiter": ","}
    got = _select(v1_bucket, "doc.json", "select * from ossobject.objects[*] where party = 'D'", doc)
    assert json.loads(b"[" + got[:-1] + b"]") == [p for p in people if p["party"] == "D"]
    got = _select(
        v1_bucket,
        "lines.json",
        "select s.person.first, s.person.last as surname, s.tags[1] from ossobject s "
        "where s.person.born like '1959%' and n > 100",
        {"Json_Type": "LINES"},
    )
    want = [
        {"first": p["person"]["first"], "surname": p["person"]["last"], "_3": p["tags"][1]}  # type: ignore[index]
        for p in people
        if p["person"]["born"].startswith("1959") and p["n"] > 100  # type: ignore[index, operator]
    ]
    assert [json.loads(line) for line in got.splitlines()] == want
    got = _select(v1_bucket, "doc.json", "select max(n), count(*) from ossobject.objects[*]", doc)
    assert got == b'{"_1":499,"_2":500},'
    partial = _select(
        v1_bucket, "lines.json", "select n, missing from ossobject limit 2", {"Json_Type": "LINES"}
    )
    assert partial == b'{"n":0}\n{"n":1}\n'


def test_create_select_object_meta(v1_bucket: oss2.Bucket, table: list[list[str]]) -> None:
    meta = v1_bucket.create_select_object_meta("t.csv")
    assert (meta.rows, meta.splits) == (len(table) + 1, (len(table) + 1 + 999) // 1000)
    v1_bucket.put_object("l.json", b'{"a":1}\n{"a":2}\n{"a":3}\n')
    meta = v1_bucket.create_select_object_meta("l.json", {"Json_Type": "LINES"})
    assert (meta.rows, meta.splits) == (3, 1)
    # Splits are the unit of split-range.
    got = _select(v1_bucket, "t.csv", "select count(*) from ossobject", {"SplitRange": (1, 2)})
    assert int(got) == 1000


@pytest.mark.parametrize(
    "sql",
    [
        "",
        "select * from ossobject where avg(cast(year as int)) > 2016",
        "select year || city from ossobject",
        "select * from ossobject group by city",
        "select * from ossobject order by _1",
        "select * from ossobject oss join s3object s3 on oss.city = s3.city",
        "select nosuchcolumn from ossobject",
        "select year, count(*) from ossobject",
        "select * from elsewhere",
        "select unknown_function(year) from ossobject",
        "select 'unterminated from ossobject where",
    ],
)
def test_bad_statements_get_400(
    server: ServerProcess, v1_bucket: oss2.Bucket, table: list[list[str]], sql: str
) -> None:
    with pytest.raises(ServerError) as err:
        v1_bucket.select_object("t.csv", sql, None, USE)
    assert err.value.status == 400
    assert err.value.request_id


def test_bad_data_ends_the_stream_with_an_error(v1_bucket: oss2.Bucket) -> None:
    good = _csv_bytes(_rows(20_000), header=False)
    v1_bucket.put_object("bad.csv", good + b'1,"never closed\n2,x\n')
    result = v1_bucket.select_object("bad.csv", "select _1 from ossobject", None, None)
    received = b""
    with pytest.raises(SelectOperationFailed) as err:
        for chunk in result:
            received += chunk
    assert err.value.status == 400 and received  # rows before the bad line arrived first
    # Partial records: skipped up to MaxSkippedRecordsAllowed, then an error.
    v1_bucket.put_object("short.csv", b"abc,def\nefg\n")
    params: dict[str, object] = {"SkipPartialDataRecord": "true"}
    assert _select(
        v1_bucket, "short.csv", "select _1, _2 from ossobject", {**params, "MaxSkippedRecordsAllowed": 1}
    ) == (b"abc,def\n")
    with pytest.raises(SelectOperationFailed):
        _select(v1_bucket, "short.csv", "select _1, _2 from ossobject", params)
    v1_bucket.put_object("bad.json", b"this is not json")
    with pytest.raises(ServerError) as bad_json:
        v1_bucket.select_object("bad.json", "select * from ossobject", None, {"Json_Type": "DOCUMENT"})
    assert bad_json.value.status == 400


def test_bad_requests(server: ServerProcess, v1_bucket: oss2.Bucket, table: list[list[str]]) -> None:
    url = v1_bucket.sign_url("POST", "t.csv", 60, params={"x-oss-process": "csv/select"})
    for body, code in ((b"<SelectRequest><Expression>", "MalformedXML"), (b"<Other/>", "MalformedXML")):
        answer = requests.post(url, data=body, timeout=10)
        assert answer.status_code == 400 and f"<Code>{code}</Code>" in answer.text
    not_b64 = b"<SelectRequest><Expression>!!</Expression></SelectRequest>"
    answer = requests.post(url, data=not_b64, timeout=10)
    assert answer.status_code == 400 and "<Code>InvalidArgument</Code>" in answer.text
    with pytest.raises(oss2.exceptions.NoSuchKey):
        v1_bucket.select_object("missing.csv", "select * from ossobject")
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), server.endpoint, v1_bucket.bucket_name)
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.select_object("t.csv", "select * from ossobject")
    meta_gzip = "<CsvMetaRequest><InputSerialization><CompressionType>R1pJUA==</CompressionType>"
    meta_url = v1_bucket.sign_url("POST", "t.csv", 60, params={"x-oss-process": "csv/meta"})
    answer = requests.post(meta_url, data=meta_gzip + "</InputSerialization></CsvMetaRequest>", timeout=10)
    assert answer.status_code == 400


def test_v2_sdk_select(server: ServerProcess, v1_bucket: oss2.Bucket, table: list[list[str]]) -> None:
    client = v2_client(server.endpoint)
    expression = base64.b64encode(b"select _1, _3 from ossobject limit 3").decode()
    result = client.select_object(
        oss.SelectObjectRequest(
            bucket=v1_bucket.bucket_name,
            key="t.csv",
            process="csv/select",
            select_request=oss.SelectRequest(
                expression=expression,
                input_serialization=oss.InputSerialization(csv=oss.CSVInput(file_header_info="Use")),
                output_serialization=oss.OutputSerialization(enable_payload_crc=True),
            ),
        )
    )
    assert result.body is not None
    assert result.body.read() == _csv_lines([[r[0], r[2]] for r in table[:3]])
