"""HTTPS: the development CA (`--tls-dev`), HTTP and HTTPS side by side, certificates given as files, and
clients that must refuse a certificate they do not trust. Each client is configured as its users do: the V2
SDK with an endpoint without a scheme (it means https) and SSL_CERT_FILE, oss2 with REQUESTS_CA_BUNDLE,
boto3 with `verify=`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import boto3
import oss2
import pytest
import requests
from botocore.config import Config

from tests.conftest import new_bucket_name
from tests.iam import allow, new_user, policy
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, int, Path]]:
    """HTTP on its port, HTTPS (the development certificate) on a second one; yields (server, https port,
    the CA file)."""
    root = tmp_path_factory.mktemp("tls")
    https_port = free_port()
    srv = ServerProcess(
        root / "data", free_port(), extra_args=("--tls-dev", "--https-address", f"127.0.0.1:{https_port}")
    ).start()
    yield srv, https_port, root / "data" / "certs" / "ca.crt"
    srv.stop()
    assert "Traceback" not in srv.log()


def test_the_banner_says_how_to_trust_the_development_ca(tls_server: tuple[ServerProcess, int, Path]) -> None:
    srv, https_port, ca = tls_server
    log = srv.log()
    assert f"ossbox serving OSS at http://127.0.0.1:{srv.port} and https://127.0.0.1:{https_port}" in log
    assert f"export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca} AWS_CA_BUNDLE={ca}" in log
    assert ca.exists() and (ca.parent / "private.key").stat().st_mode & 0o077 == 0


def test_v2_sdk_with_an_endpoint_without_scheme(tls_server: tuple[ServerProcess, int, Path]) -> None:
    """The V2 SDK turns `127.0.0.1:PORT` into https://; the user trusts the CA through SSL_CERT_FILE."""
    _, https_port, ca = tls_server
    keys = f"{ACCESS_KEY_ID!r}, {ACCESS_KEY_SECRET!r}"
    program = textwrap.dedent(
        f"""
        import alibabacloud_oss_v2 as oss
        cfg = oss.config.load_default()
        cfg.credentials_provider = oss.credentials.StaticCredentialsProvider({keys})
        cfg.region = {REGION!r}
        cfg.endpoint = "127.0.0.1:{https_port}"
        client = oss.Client(cfg)
        name = {new_bucket_name("v2tls")!r}
        client.put_bucket(oss.PutBucketRequest(bucket=name))
        client.put_object(oss.PutObjectRequest(bucket=name, key="k", body=b"over tls"))
        print(client.get_object(oss.GetObjectRequest(bucket=name, key="k")).body.read().decode())
        info = client.get_bucket_info(oss.GetBucketInfoRequest(bucket=name)).bucket_info
        print(info.extranet_endpoint)
        """
    )
    env = {**os.environ, "SSL_CERT_FILE": str(ca), "REQUESTS_CA_BUNDLE": str(ca)}
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    body, extranet = done.stdout.splitlines()
    assert body == "over tls"
    # The endpoint the bucket reports is the one the client reached it at.
    assert extranet == f"127.0.0.1:{https_port}"
    # Without the CA, the same program must refuse the server.
    untrusted = {k: v for k, v in env.items() if k not in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
    refused = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=untrusted, timeout=60
    )
    assert refused.returncode != 0
    assert "CERTIFICATE_VERIFY_FAILED" in refused.stderr or "certificate verify failed" in refused.stderr


def test_oss2_and_boto3_over_https(
    tls_server: tuple[ServerProcess, int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    srv, https_port, ca = tls_server
    endpoint = f"https://127.0.0.1:{https_port}"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    bucket = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), endpoint, new_bucket_name("tls"), region=REGION
    )
    bucket.create_bucket()
    big = os.urandom(3 << 20)
    bucket.put_object("big", big)  # oss2 checks CRC-64 both ways
    assert bucket.get_object("big").read() == big
    assert bucket.get_object("big", byte_range=(100, 199)).read() == big[100:200]
    # The same bucket over plain HTTP on the other port.
    plain = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), srv.endpoint, bucket.bucket_name, region=REGION
    )
    assert plain.get_object("big", byte_range=(0, 9)).read() == big[:10]
    assert plain.get_bucket_info().extranet_endpoint == f"127.0.0.1:{srv.port}"

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=ACCESS_KEY_SECRET,
        region_name=REGION,
        verify=str(ca),
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.put_object(Bucket=bucket.bucket_name, Key="boto", Body=b"boto3 over tls")
    assert s3.get_object(Bucket=bucket.bucket_name, Key="boto")["Body"].read() == b"boto3 over tls"
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket.bucket_name)["Contents"]]
    assert listed == ["big", "boto"]
    # The Location a completed upload names is one the client can use: the scheme it came in with.
    upload = s3.create_multipart_upload(Bucket=bucket.bucket_name, Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket=bucket.bucket_name, Key="mp", UploadId=upload, PartNumber=1, Body=b"x")[
        "ETag"
    ]
    done = s3.complete_multipart_upload(
        Bucket=bucket.bucket_name, Key="mp", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )  # fmt: skip
    assert done["Location"] == f"{endpoint}/{bucket.bucket_name}/mp"


def test_a_client_refuses_a_certificate_it_does_not_trust(
    tls_server: tuple[ServerProcess, int, Path], tmp_path: Path
) -> None:
    _, https_port, ca = tls_server
    url = f"https://127.0.0.1:{https_port}/"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, timeout=10)  # certifi's roots only
    # Another development CA (another data directory's) does not vouch for this server either.
    other = tmp_path / "other"
    from ossbox.http.tls import make_dev_certs

    other_ca = make_dev_certs(other).dev_ca
    assert other_ca is not None
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, timeout=10, verify=str(other_ca))
    # Plain HTTP spoken to the HTTPS port gets no answer from the application, and the server keeps going.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{https_port}/", timeout=10)
    # Trusting the right CA, the same request reaches the application (anonymous: AccessDenied).
    assert requests.get(url, timeout=10, verify=str(ca)).status_code == 403


def test_https_on_the_main_address_with_given_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--tls-cert/--tls-key make --address itself HTTPS; the project service and delivery keep reaching
    the server over a loopback HTTP listener of its own."""
    from ossbox.http.tls import make_dev_certs

    files = make_dev_certs(tmp_path / "pki")
    srv = ServerProcess(
        tmp_path / "data",
        free_port(),
        extra_args=("--tls-cert", str(files.cert), "--tls-key", str(files.key)),
    ).start()
    try:
        assert f"ossbox serving OSS at https://127.0.0.1:{srv.port}" in srv.log()
        endpoint = f"https://127.0.0.1:{srv.port}"
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(files.dev_ca))
        auth = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
        bucket = oss2.Bucket(auth, endpoint, new_bucket_name("main"), region=REGION)
        bucket.create_bucket()
        bucket.put_object("k", b"v")
        assert bucket.get_object("k").read() == b"v"
    finally:
        srv.stop()
    assert "Traceback" not in srv.log()


def _start_fails(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ossbox", "server", "--address", f"127.0.0.1:{free_port()}",
         "--data-dir", str(tmp_path / "d"), *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out
    return out


def test_unusable_certificates_get_a_clear_message(tmp_path: Path) -> None:
    from ossbox.http.tls import make_dev_certs

    a = make_dev_certs(tmp_path / "a")
    b = make_dev_certs(tmp_path / "b")
    assert "--tls-cert and --tls-key go together" in _start_fails(tmp_path, "--tls-cert", str(a.cert))
    mismatched = _start_fails(tmp_path, "--tls-cert", str(a.cert), "--tls-key", str(b.key))
    assert f"cannot use the certificate {a.cert} with the key {b.key}" in mismatched
    assert "BEGIN PRIVATE KEY" not in mismatched
    missing = tmp_path / "nope.pem"
    assert f"no such file: {missing}" in _start_fails(
        tmp_path, "--tls-cert", str(missing), "--tls-key", str(a.key)
    )
    assert "--https-address needs a certificate" in _start_fails(tmp_path, "--https-address", "127.0.0.1:1")


def test_secure_transport_is_true_on_the_https_listener_only(
    tls_server: tuple[ServerProcess, int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A RAM policy on acs:SecureTransport: the same user reads over HTTPS and is refused over HTTP."""
    srv, https_port, ca = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    owner = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), srv.endpoint, new_bucket_name("st"), region=REGION
    )
    owner.create_bucket()
    owner.put_object("k", b"only over tls")
    _, auth = new_user(
        srv, policy(allow("oss:GetObject", Condition={"Bool": {"acs:SecureTransport": "true"}}))
    )
    secure = oss2.Bucket(auth, f"https://127.0.0.1:{https_port}", owner.bucket_name, region=REGION)
    assert secure.get_object("k").read() == b"only over tls"
    plain = oss2.Bucket(auth, srv.endpoint, owner.bucket_name, region=REGION)
    with pytest.raises(oss2.exceptions.AccessDenied):
        plain.get_object("k")
