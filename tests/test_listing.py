"""ListObjects v1 and v2 through oss2 and raw requests: prefixes, delimiters, paging, url encoding."""

from __future__ import annotations

import oss2
import pytest

KEYS = ["a", "a/", "a/b", "a/b/c", "a/c", "b/1", "b/2", "c", "d/e/f", "é/x", "z z"]


@pytest.fixture
def filled(bucket: oss2.Bucket) -> oss2.Bucket:
    for k in KEYS:
        bucket.put_object(k, k.encode())
    return bucket


def test_flat_listing_pages(filled: oss2.Bucket) -> None:
    assert [o.key for o in oss2.ObjectIterator(filled, max_keys=3)] == sorted(KEYS, key=str.encode)
    assert [o.key for o in oss2.ObjectIteratorV2(filled, max_keys=2)] == sorted(KEYS, key=str.encode)


def test_delimiter(filled: oss2.Bucket) -> None:
    r = filled.list_objects(delimiter="/")
    assert [o.key for o in r.object_list] == ["a", "c", "z z"]
    assert r.prefix_list == ["a/", "b/", "d/", "é/"]
    r2 = filled.list_objects_v2(prefix="a/", delimiter="/")
    assert [o.key for o in r2.object_list] == ["a/", "a/b", "a/c"]
    assert r2.prefix_list == ["a/b/"]


def test_delimiter_paging_counts_prefixes(filled: oss2.Bucket) -> None:
    items = []
    for page_item in oss2.ObjectIterator(filled, delimiter="/", max_keys=2):
        items.append(page_item.key)
    assert items == ["a", "a/", "b/", "c", "d/", "z z", "é/"]


def test_marker_and_start_after(filled: oss2.Bucket) -> None:
    assert [o.key for o in filled.list_objects(marker="b/1").object_list][:2] == ["b/2", "c"]
    assert filled.list_objects_v2(start_after="d").object_list[0].key == "d/e/f"


def test_v2_key_count_and_owner(filled: oss2.Bucket) -> None:
    r = filled.list_objects_v2(prefix="b/", fetch_owner=True)
    assert len(r.object_list) == 2
    raw = filled._do("GET", filled.bucket_name, "", params={"list-type": "2", "prefix": "b/"}).read()
    assert b"<KeyCount>2</KeyCount>" in raw
    assert r.object_list[0].owner is not None and r.object_list[0].owner.id
    r2 = filled.list_objects_v2(prefix="b/")
    assert r2.object_list[0].owner is None


def test_bad_continuation_token(filled: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.ServerError) as err:
        filled.list_objects_v2(continuation_token="!!!not-a-token!!!")
    assert err.value.code == "InvalidArgument"


def test_max_keys_bounds(filled: oss2.Bucket) -> None:
    with pytest.raises(oss2.exceptions.ServerError) as err:
        filled.list_objects(max_keys=1001)
    assert err.value.code == "InvalidArgument"


def test_url_encoding(filled: oss2.Bucket) -> None:
    # oss2 asks for encoding-type=url and decodes; the keys must come back exactly.
    r = filled.list_objects(prefix="z", headers=None)
    assert [o.key for o in r.object_list] == ["z z"]
    resp = filled._do("GET", filled.bucket_name, "", params={"prefix": "z", "encoding-type": "url"})
    body = resp.read().decode()
    assert "<Key>z%20z</Key>" in body and "<EncodingType>url</EncodingType>" in body


def test_xml_shape(filled: oss2.Bucket) -> None:
    resp = filled._do("GET", filled.bucket_name, "", params={"prefix": "a/b/", "max-keys": "1"})
    body = resp.read().decode()
    assert "xmlns" not in body
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>')
    assert "<LastModified>" in body and ".000Z</LastModified>" in body
    assert "<IsTruncated>false</IsTruncated>" in body
