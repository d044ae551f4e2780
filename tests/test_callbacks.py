"""Upload callbacks with a real application server on loopback: the POST OSS sends (body, variables,
signature checked with the public key the request points at), the application's JSON handed back to oss2 and
the V2 SDK, and 203 CallbackFailed when the application fails, with the object stored either way."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

import alibabacloud_oss_v2 as oss
import oss2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from tests.conftest import new_bucket_name
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port
from tests.test_post_object import expires_in, post, v1_fields
from tests.v2sdk import v2_client


@dataclass
class App:
    """The application's callback server: records each POST and answers as `reply` says."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    reply: tuple[int, bytes] = (200, b'{"Status":"OK"}')

    def url(self, path: str = "/cb") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def app() -> Iterator[App]:
    state = App(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status, answer = state.reply
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def bucket(server: ServerProcess) -> Iterator[oss2.Bucket]:
    b = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), server.endpoint, new_bucket_name("cb"), region=REGION
    )
    b.create_bucket()
    yield b
    for u in oss2.MultipartUploadIterator(b):
        b.abort_multipart_upload(u.key, u.upload_id)
    for o in oss2.ObjectIterator(b):
        b.delete_object(o.key)
    b.delete_bucket()


def _b64(value: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def _verify_signature(request: dict[str, Any]) -> None:
    """What an application does (OSS's documented check): fetch the public key from x-oss-pub-key-url and
    verify Authorization over '<path>[?<query>]\\n<body>' with RSA-MD5."""
    key_url = base64.b64decode(request["headers"]["x-oss-pub-key-url"]).decode()
    with urllib.request.urlopen(key_url, timeout=5) as answer:
        public = serialization.load_pem_public_key(answer.read())
    path, _, query = request["path"].partition("?")
    signed = unquote(path).encode() + (b"?" + query.encode() if query else b"") + b"\n" + request["body"]
    signature = base64.b64decode(request["headers"]["Authorization"])
    public.verify(signature, signed, padding.PKCS1v15(), hashes.MD5())  # type: ignore[union-attr, call-arg]


def test_put_object_callback_reaches_the_application(bucket: oss2.Bucket, app: App) -> None:
    config = {
        "callbackUrl": app.url("/cb?from=oss"),
        "callbackBody": "bucket=${bucket}&object=${object}&size=${size}&etag=${etag}"
        "&mime=${mimeType}&u=${x:user}",
    }
    variables = {"x:user": "alice & bob"}
    data = b"uploaded with a callback"
    headers = {
        "x-oss-callback": _b64(config), "x-oss-callback-var": _b64(variables), "Content-Type": "text/plain",
    }  # fmt: skip
    r = bucket.put_object("dir/a file.txt", data, headers=headers)
    assert r.status == 200 and r.resp.read() == b'{"Status":"OK"}'
    assert r.etag == hashlib.md5(data).hexdigest().upper()
    [request] = app.received
    assert request["path"] == "/cb?from=oss"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    form = parse_qs(request["body"].decode())
    assert form == {
        "bucket": [bucket.bucket_name], "object": ["dir/a file.txt"], "size": [str(len(data))],
        "etag": [r.etag], "mime": ["text/plain"], "u": ["alice & bob"],
    }  # fmt: skip
    _verify_signature(request)
    assert bucket.get_object("dir/a file.txt").read() == data


def test_complete_multipart_with_a_json_callback_through_the_v2_sdk(
    server: ServerProcess, bucket: oss2.Bucket, app: App
) -> None:
    client = v2_client(server.endpoint)
    name = bucket.bucket_name
    upload = client.initiate_multipart_upload(
        oss.InitiateMultipartUploadRequest(bucket=name, key="mp")
    ).upload_id
    part = client.upload_part(
        oss.UploadPartRequest(bucket=name, key="mp", upload_id=upload, part_number=1, body=b"p" * 1000)
    )
    config = {
        "callbackUrl": f"http://127.0.0.1:{free_port()}/dead;{app.url()}",  # the first URL refuses
        "callbackBody": '{"object":"${object}","size":${size},"crc64":"${crc64}"}',
        "callbackBodyType": "application/json",
    }
    done = client.complete_multipart_upload(
        oss.CompleteMultipartUploadRequest(
            bucket=name, key="mp", upload_id=upload, callback=_b64(config),
            complete_multipart_upload=oss.CompleteMultipartUpload(
                parts=[oss.UploadPart(part_number=1, etag=part.etag)]
            ),
        )
    )  # fmt: skip
    assert json.loads(done.callback_result) == {"Status": "OK"}
    [request] = app.received
    body = json.loads(request["body"])
    head = bucket.head_object("mp")
    assert body == {"object": "mp", "size": 1000, "crc64": str(head.server_crc)}
    _verify_signature(request)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ((500, b'{"e":1}'), "Error status : 500."),
        ((200, b"not json"), "Response body is not valid json format."),
    ],
)
def test_a_failed_callback_answers_203_and_keeps_the_object(
    bucket: oss2.Bucket, app: App, reply: tuple[int, bytes], message: str
) -> None:
    app.reply = reply
    config = {"callbackUrl": app.url(), "callbackBody": "object=${object}"}
    r = bucket.put_object("kept", b"data", headers={"x-oss-callback": _b64(config)})
    answer = r.resp.read()
    assert r.status == 203 and b"<Code>CallbackFailed</Code>" in answer and message.encode() in answer
    assert r.etag == hashlib.md5(b"data").hexdigest().upper()
    assert bucket.get_object("kept").read() == b"data"
    assert len(app.received) == 1


def test_a_malformed_callback_stores_nothing(bucket: oss2.Bucket) -> None:
    for bad in ("not base64 json", _b64({"callbackBody": "x"}), _b64({"callbackUrl": "ftp://x/y"})):
        with pytest.raises(oss2.exceptions.ServerError) as err:
            bucket.put_object("never", b"data", headers={"x-oss-callback": bad})
        assert (err.value.status, err.value.code) == (400, "InvalidArgument")
    assert not bucket.object_exists("never")


def test_post_object_callback_field(features_server: ServerProcess, app: App) -> None:
    """A browser upload (PostObject) names its callback in the form, as OSS's web direct-upload samples do."""
    b = oss2.Bucket(
        oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET), features_server.endpoint, new_bucket_name("cbf")
    )
    b.create_bucket()
    try:
        document = {"expiration": expires_in(600), "conditions": [{"bucket": b.bucket_name}]}
        callback = _b64({"callbackUrl": app.url(), "callbackBody": "object=${object}&size=${size}"})
        resp = post(b, {**v1_fields(document), "key": "from-form", "callback": callback})
        assert resp.status_code == 200 and resp.json() == {"Status": "OK"}
        assert parse_qs(app.received[0]["body"].decode()) == {"object": ["from-form"], "size": ["10"]}
        _verify_signature(app.received[0])
    finally:
        for o in oss2.ObjectIterator(b):
            b.delete_object(o.key)
        b.delete_bucket()


def test_a_host_outside_callback_hosts_is_never_contacted(bucket: oss2.Bucket, app: App) -> None:
    """Test servers allow loopback only (--callback-hosts 127.0.0.1,localhost): another host is refused
    before any lookup or connection, and the upload answers 203 with the reason."""
    config = {"callbackUrl": f"http://callback.example/;{app.url()}", "callbackBody": "object=${object}"}
    r = bucket.put_object("elsewhere", b"data", headers={"x-oss-callback": _b64(config)})
    assert r.status == 200 and len(app.received) == 1  # the second URL, on loopback, took it
    only_remote = {"callbackUrl": "http://callback.example/", "callbackBody": "object=${object}"}
    r = bucket.put_object("elsewhere", b"data", headers={"x-oss-callback": _b64(only_remote)})
    answer = r.resp.read()
    assert r.status == 203 and b"not allowed by this server" in answer
