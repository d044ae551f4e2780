"""Druid's oss input source: uris, prefixes or objects, wildcard filters, placeholders skipped, streams."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest

from ossbox.deepstorage import InputSourceError, ObjectChangedError, OssClients, OssInputSource
from ossbox.deepstorage.inputsource import glob_regex, wildcard_regex
from tests.deepstorage.conftest import raw_bucket
from tests.server import ServerProcess


@pytest.fixture
def data_bucket(server: ServerProcess, make_bucket: Callable[..., str]) -> str:
    bucket = make_bucket("in")
    raw = raw_bucket(server, bucket)
    for key, body in {
        "events/2024/01/a.json": b'{"a":1}\n',
        "events/2024/01/b.json.gz": gzip.compress(b'{"b":2}\n'),
        "events/2024/02/c.csv": b"c,3\n",
        "events/2024/02/": b"",  # Hadoop-style directory marker
        "events/2024/03_$folder$": b"",  # the other placeholder convention
        "events/empty.json": b"",
        "events-other/z.json": b"{}\n",
    }.items():
        raw.put_object(key, body)
    return bucket


def _paths(source: OssInputSource) -> list[str]:
    return [e.location.path for e in source.entities()]


def test_prefixes_skip_placeholders_and_empty_objects(clients: OssClients, data_bucket: str) -> None:
    source = OssInputSource(clients, prefixes=[f"oss://{data_bucket}/events/"], max_listing_length=2)
    assert _paths(source) == ["events/2024/01/a.json", "events/2024/01/b.json.gz", "events/2024/02/c.csv"]
    sizes = [e.size for e in source.entities()]
    assert sizes[0] == 8 and all(s and s > 0 for s in sizes)


def test_wildcard_filter_and_object_glob(clients: OssClients, data_bucket: str) -> None:
    prefix = [f"oss://{data_bucket}/events"]
    # A prefix without its '/' also covers events-other/, as in Druid (keys come in listing order).
    assert _paths(OssInputSource(clients, prefixes=prefix, filter="*.json")) == [
        "events-other/z.json",
        "events/2024/01/a.json",
    ]
    assert _paths(OssInputSource(clients, prefixes=prefix, filter="*.json*")) == [
        "events-other/z.json",
        "events/2024/01/a.json",
        "events/2024/01/b.json.gz",
    ]
    assert _paths(OssInputSource(clients, prefixes=prefix, object_glob="events/*/0?/*.csv")) == [
        "events/2024/02/c.csv"
    ]
    assert _paths(OssInputSource(clients, prefixes=prefix, object_glob="events/**.{json,gz}")) == [
        "events/2024/01/a.json",
        "events/2024/01/b.json.gz",
    ]


def test_uris_and_objects_are_taken_as_given(clients: OssClients, data_bucket: str) -> None:
    uris = [f"oss://{data_bucket}/events/2024/02/c.csv", f"oss://{data_bucket}/events/2024/01/a.json"]
    assert _paths(OssInputSource(clients, uris=uris)) == ["events/2024/02/c.csv", "events/2024/01/a.json"]
    spec = {
        "type": "oss",
        "objects": [{"bucket": data_bucket, "path": "events/2024/01/b.json.gz"}],
        "filter": "*.gz",
    }
    (entity,) = OssInputSource.from_spec(clients, spec).entities()
    assert entity.open_decompressed().read() == b'{"b":2}\n'
    assert entity.open().read()[:2] == b"\x1f\x8b"


def test_streams_from_an_offset_and_pinned(
    server: ServerProcess, clients: OssClients, data_bucket: str
) -> None:
    (entity,) = OssInputSource(clients, uris=[f"oss://{data_bucket}/events/2024/01/a.json"]).entities()
    assert entity.open(offset=2).read() == b'a":1}\n'
    stream = entity.open()
    raw_bucket(server, data_bucket).put_object("events/2024/01/a.json", b"replaced")
    with pytest.raises(ObjectChangedError):
        stream.read()


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"uris": ["oss://b/k"], "prefixes": ["oss://b/p"]},
        {"uris": ["s3://b/k"]},
        {"prefixes": ["oss:///nobucket"]},
        {"objects": [{"path": "k"}]},
        {"uris": ["oss://b/k"], "filter": "*", "object_glob": "*"},
        {"prefixes": ["oss://b/p"], "max_listing_length": 5000},
    ],
)
def test_specs_druid_rejects(clients: OssClients, kwargs: dict[str, object]) -> None:
    with pytest.raises(InputSourceError):
        OssInputSource(clients, **kwargs)  # type: ignore[arg-type]


def test_pattern_semantics() -> None:
    assert wildcard_regex("a*c").fullmatch("a/b/c") and not wildcard_regex("a?c").fullmatch("a//c")
    assert wildcard_regex("x.[y]").fullmatch("x.[y]")  # commons-io wildcards know only * and ?
    assert glob_regex("a/*.json").fullmatch("a/b.json") and not glob_regex("a/*.json").fullmatch("a/b/c.json")
    assert glob_regex("a/**.json").fullmatch("a/b/c.json")
    assert glob_regex("[!a]?").fullmatch("bz") and not glob_regex("[!a]?").fullmatch("az")
