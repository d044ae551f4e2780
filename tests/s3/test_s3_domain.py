"""A host configured as S3-only (--s3-domain): unsigned requests get S3 answers, buckets are addressed
virtual-hosted below it, anonymous access follows ACLs and bucket policies, and browser forms
(presigned POST) upload."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.s3.conftest import empty_and_delete, s3_client
from tests.server import ServerProcess, free_port

DOMAIN = "s3.localhost"


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("ossbox-s3")
    proc = ServerProcess(root / "data", free_port(), extra_args=("--s3-domain", DOMAIN)).start()
    yield proc
    proc.stop()


@pytest.fixture
def resolve_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """*.localhost names the loopback address (RFC 6761); this machine's resolver does not know it."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def client(s3_server: ServerProcess) -> Iterator[Any]:
    c = s3_client(s3_server.endpoint)
    c.create_bucket(Bucket="pub-bucket")
    yield c
    empty_and_delete(c, "pub-bucket")


def _anon(server: ServerProcess, path: str, method: str = "GET") -> requests.Response:
    return requests.request(
        method, f"{server.endpoint}{path}", headers={"Host": f"{DOMAIN}:{server.port}"}, timeout=10
    )


def test_virtual_hosted_style(s3_server: ServerProcess, client: Any, resolve_localhost: None) -> None:
    virtual = s3_client(f"http://{DOMAIN}:{s3_server.port}", s3={"addressing_style": "virtual"})
    virtual.put_object(Bucket="pub-bucket", Key="v/key", Body=b"virtual")
    assert virtual.get_object(Bucket="pub-bucket", Key="v/key")["Body"].read() == b"virtual"
    assert [o["Key"] for o in virtual.list_objects_v2(Bucket="pub-bucket")["Contents"]] == ["v/key"]
    assert client.get_object(Bucket="pub-bucket", Key="v/key")["Body"].read() == b"virtual"


def test_anonymous_access_by_acl(s3_server: ServerProcess, client: Any) -> None:
    client.put_object(Bucket="pub-bucket", Key="k", Body=b"secret")
    r = _anon(s3_server, "/pub-bucket/k")
    assert (
        r.status_code == 403 and b"<Code>AccessDenied</Code>" in r.content and "x-amz-request-id" in r.headers
    )
    client.put_bucket_acl(Bucket="pub-bucket", ACL="public-read")
    assert _anon(s3_server, "/pub-bucket/k").content == b"secret"
    r = _anon(s3_server, "/pub-bucket?list-type=2")
    assert r.status_code == 200 and b"<Key>k</Key>" in r.content
    assert _anon(s3_server, "/pub-bucket/k", "DELETE").status_code == 403
    r = _anon(s3_server, "/pub-bucket/missing")
    assert r.status_code == 404 and b"<Code>NoSuchKey</Code>" in r.content


def test_bucket_policy_grants_anonymous_reads(s3_server: ServerProcess, client: Any) -> None:
    client.put_object(Bucket="pub-bucket", Key="public/a", Body=b"open")
    client.put_object(Bucket="pub-bucket", Key="private/a", Body=b"closed")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::pub-bucket/public/*",
            }
        ],
    }
    client.put_bucket_policy(Bucket="pub-bucket", Policy=json.dumps(policy))
    assert _anon(s3_server, "/pub-bucket/public/a").content == b"open"
    assert _anon(s3_server, "/pub-bucket/private/a").status_code == 403
    bad = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:Teleport", "Resource": "*"}]}
    with pytest.raises(client.exceptions.ClientError) as err:
        client.put_bucket_policy(Bucket="pub-bucket", Policy=json.dumps(bad))
    assert err.value.response["Error"]["Code"] == "MalformedPolicy"


def test_presigned_post(s3_server: ServerProcess, client: Any, tmp_path: Path) -> None:
    post = client.generate_presigned_post(
        "pub-bucket",
        "uploads/${filename}",
        Fields={"Content-Type": "text/plain"},
        Conditions=[
            ["starts-with", "$key", "uploads/"],
            {"Content-Type": "text/plain"},
            ["content-length-range", 1, 1000],
        ],
        ExpiresIn=60,
    )
    r = requests.post(post["url"], data=post["fields"], files={"file": ("hello.txt", b"posted!")}, timeout=10)
    assert r.status_code == 204, r.text
    got = client.get_object(Bucket="pub-bucket", Key="uploads/hello.txt")
    assert got["Body"].read() == b"posted!" and got["ContentType"] == "text/plain"
    too_big = requests.post(
        post["url"], data=post["fields"], files={"file": ("big.txt", b"x" * 2000)}, timeout=10
    )
    assert too_big.status_code == 400 and b"EntityTooLarge" in too_big.content
    fields = dict(post["fields"], key="elsewhere/x")
    r = requests.post(post["url"], data=fields, files={"file": ("x", b"1")}, timeout=10)
    assert r.status_code == 403 and b"Policy Condition failed" in r.content
    fields = dict(post["fields"], **{"x-amz-signature": "0" * 64})
    r = requests.post(post["url"], data=fields, files={"file": ("hello.txt", b"1")}, timeout=10)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="pub-bucket")["Contents"]]
    assert keys == ["uploads/hello.txt"]
