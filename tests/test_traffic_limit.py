"""x-oss-traffic-limit: transfers with a cap are measurably slower (coarse bounds: at 100 KB/s, 150 KiB
cannot take under a second), out-of-range values are refused and store nothing."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests

from tests.conftest import empty_and_delete, new_bucket_name
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess
from tests.v2sdk import v2_client

LIMIT = 819200  # bit/s, the smallest OSS accepts: 100 KiB/s
BODY = b"t" * (150 << 10)  # 1.5 s at the limit


@pytest.fixture
def bucket(server: ServerProcess) -> Iterator[oss2.Bucket]:
    b = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_bucket_name("tl"), region=REGION
    )
    b.create_bucket()
    yield b
    empty_and_delete(b)


def timed(fn: object) -> float:
    start = time.monotonic()
    fn()  # type: ignore[operator]
    return time.monotonic() - start


def test_limited_upload_and_download_are_paced(server: ServerProcess, bucket: oss2.Bucket) -> None:
    limit = {"x-oss-traffic-limit": str(LIMIT)}
    fast_put = timed(lambda: bucket.put_object("free", BODY))
    slow_put = timed(lambda: bucket.put_object("paced", BODY, headers=limit))
    assert slow_put >= 1.0 > fast_put, (slow_put, fast_put)
    fast_get = timed(lambda: bucket.get_object("paced").read())
    slow_get = timed(lambda: bucket.get_object("paced", headers=limit).read())
    assert slow_get >= 1.0 > fast_get, (slow_get, fast_get)
    assert bucket.get_object("paced").read() == BODY

    # A presigned URL carries the limit as a query parameter; the V2 SDK has a field for it.
    url = bucket.sign_url("GET", "paced", 300, params={"x-oss-traffic-limit": str(LIMIT)})
    assert timed(lambda: requests.get(url, timeout=30).raise_for_status()) >= 1.0
    v2 = v2_client(server.endpoint)
    request = oss.AppendObjectRequest(
        bucket=bucket.bucket_name, key="appended", position=0, body=BODY, traffic_limit=LIMIT
    )
    assert timed(lambda: v2.append_object(request)) >= 1.0
    assert bucket.head_object("appended").content_length == len(BODY)


def test_out_of_range_limits_are_refused(bucket: oss2.Bucket) -> None:
    for value in ["819199", "838860801", "fast", "-1"]:
        with pytest.raises(oss2.exceptions.InvalidArgument) as err:
            bucket.put_object("k", b"data", headers={"x-oss-traffic-limit": value})
        assert err.value.name == "x-oss-traffic-limit"
        url = bucket.sign_url("GET", "k", 300, params={"x-oss-traffic-limit": value})
        resp = requests.get(url, timeout=10)
        assert resp.status_code == 400
        assert ET.fromstring(resp.content).findtext("Code") == "InvalidArgument"
    assert [o.key for o in oss2.ObjectIterator(bucket)] == []
    bucket.put_object("k", b"data", headers={"x-oss-traffic-limit": "838860800"})
    assert bucket.get_object("k").read() == b"data"
