"""Hand-made S3 requests signed by botocore's own SigV4 signer, for what the SDKs never send."""

from __future__ import annotations

from typing import Any

import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION


class _Signer(S3SigV4Auth):
    """botocore's S3 signer, with the payload hash chosen by the test when it says so."""

    def __init__(self, credentials: Credentials, region: str, payload_hash: str | None) -> None:
        super().__init__(credentials, "s3", region)
        self._payload_hash = payload_hash

    def payload(self, request: Any) -> str:
        return self._payload_hash or str(super().payload(request))


def sign(
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    region: str = REGION,
    secret: str = ACCESS_KEY_SECRET,
    key_id: str = ACCESS_KEY_ID,
    payload_hash: str | None = None,
) -> tuple[str, dict[str, str]]:
    """(url, headers) of a SigV4-signed request; the payload hash is the body's SHA-256 unless given."""
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    _Signer(Credentials(key_id, secret), region, payload_hash).add_auth(req)
    prepared = req.prepare()
    return prepared.url, dict(prepared.headers)


def send(method: str, url: str, body: bytes = b"", **kw: Any) -> requests.Response:
    signed_url, headers = sign(method, url, body, **kw)
    return requests.request(method, signed_url, data=body, headers=headers, timeout=30)
