"""S3 browser-form uploads signed the SigV2 way (AWSAccessKeyId, policy, signature = base64 HMAC-SHA1 of the
policy), as older SDKs and hand-written forms send them; told apart from OSS's form by AWSAccessKeyId."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import requests

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ServerProcess


def _form(bucket: str, secret: str = ACCESS_KEY_SECRET, **extra: str) -> dict[str, Any]:
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    policy = {
        "expiration": expires,
        "conditions": [
            {"bucket": bucket},
            ["starts-with", "$key", "up/"],
            {"acl": "private"},
            ["starts-with", "$Content-Type", "text/"],
            ["content-length-range", 0, 1024],
        ],
    }
    encoded = base64.b64encode(json.dumps(policy).encode())
    signature = base64.b64encode(hmac.new(secret.encode(), encoded, hashlib.sha1).digest())
    fields = {
        "key": "up/${filename}",
        "AWSAccessKeyId": ACCESS_KEY_ID,
        "acl": "private",
        "signature": signature.decode(),
        "policy": encoded.decode(),
        "Content-Type": "text/plain",
        **extra,
    }
    return {name: (None, value) for name, value in fields.items()}


def test_sigv2_form_upload(server: ServerProcess, s3: Any, bucket: str) -> None:
    url = f"{server.endpoint}/{bucket}"
    r = requests.post(url, files={**_form(bucket), "file": ("hello.txt", b"form body")}, timeout=10)
    assert r.status_code == 204, r.text
    got = s3.get_object(Bucket=bucket, Key="up/hello.txt")
    assert got["Body"].read() == b"form body" and got["ContentType"] == "text/plain"
    # A wrong signature, a policy broken by the form, an oversized file: refused, nothing stored.
    wrong = requests.post(url, files={**_form(bucket, "not-the-secret"), "file": ("w.txt", b"x")}, timeout=10)
    assert wrong.status_code == 403 and "SignatureDoesNotMatch" in wrong.text
    extra = requests.post(
        url, files={**_form(bucket, **{"x-amz-meta-a": "1"}), "file": ("e.txt", b"x")}, timeout=10
    )
    assert extra.status_code == 403 and "Extra input fields" in extra.text
    big = requests.post(url, files={**_form(bucket), "file": ("big.txt", b"x" * 2000)}, timeout=10)
    assert big.status_code == 400 and "EntityTooLarge" in big.text
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["up/hello.txt"]
