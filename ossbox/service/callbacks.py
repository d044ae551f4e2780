"""Upload callbacks (`x-oss-callback`, `x-oss-callback-var`, PostObject's `callback` field): after an upload
is stored, POST a body built from the configuration to the application's callback URL, signed as OSS signs it,
and hand the application's answer back to the uploader.

As on OSS: up to five URLs (`;`-separated) are tried in order; the body is `callbackBody` with `${bucket}`,
`${object}`, `${etag}`, `${size}`, `${mimeType}`, `${crc64}`, `${contentMd5}`, `${clientIp}`, `${operation}`,
`${imageInfo.*}` (empty: ossbox does not read images) and the uploader's `${x:name}` variables replaced,
URL-encoded when the body type is the default `application/x-www-form-urlencoded`; the request carries
`Authorization: base64(RSA-MD5 signature of "<path>[?<query>]\\n<body>")` and `x-oss-pub-key-url:
base64(<where the public key is>)`. OSS's key lives at gosspublic.alicdn.com; ossbox makes its own RSA key on
first use (kept in the metadata, so every node signs with it) and serves the public half at
`PUBLIC_KEY_PATH` on its own port. The application must answer 200 with a JSON body within 5 seconds;
anything else makes the upload's answer 203 `CallbackFailed` (the object stays stored).

The URL is the uploader's to choose, as on OSS: ossbox follows no redirect and sends nothing but the one POST.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import http.client
import json
import re
import ssl
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ossbox.core.errors import OSSError, invalid_argument

PUBLIC_KEY_PATH = "/_ossbox/callback_pub_key_v1.pem"
KEY_SETTING = "callback_private_key"
_TIMEOUT_S = 5.0
_MAX_URLS = 5
_MAX_ANSWER = 3 << 20  # OSS passes at most 3 MiB of the application's answer back
_FORM = "application/x-www-form-urlencoded"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Callback:
    urls: tuple[str, ...]
    host: str  # the Host header to send ("" for the URL's)
    body: str
    body_type: str
    variables: dict[str, str]


def parse(config_b64: str, variables_b64: str | None) -> Callback:
    """The callback a request asks for; 400 InvalidArgument when it is not one (checked before storing)."""
    config = _decode(config_b64, "callback")
    urls = tuple(u.strip() for u in str(config.get("callbackUrl", "")).split(";") if u.strip())
    if not urls:
        raise invalid_argument("The callback configuration lacks callbackUrl.", "callback", "")
    if len(urls) > _MAX_URLS:
        raise invalid_argument("The callback configuration names more than 5 URLs.", "callback", "")
    for url in urls:
        if urlsplit(url if "://" in url else "http://" + url).scheme not in ("http", "https"):
            raise invalid_argument("The callback URL must be http or https.", "callback", url)
    body_type = str(config.get("callbackBodyType") or _FORM).lower()
    if body_type not in (_FORM, "application/json"):
        raise invalid_argument("The callbackBodyType is invalid.", "callback", body_type)
    variables = _decode(variables_b64, "callback-var") if variables_b64 else {}
    return Callback(
        urls, str(config.get("callbackHost", "")), str(config.get("callbackBody", "")), body_type,
        # Only x:<name> variables exist in a body; others are ignored, as OSS ignores them.
        {k: str(v) for k, v in variables.items() if k.startswith("x:")},
    )  # fmt: skip


def _decode(raw: str, name: str) -> dict[str, object]:
    try:
        value = json.loads(base64.b64decode(raw, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise invalid_argument(f"The {name} configuration is not json format.", name, "") from exc
    if not isinstance(value, dict):
        raise invalid_argument(f"The {name} configuration is not json format.", name, "")
    return value


def render(cb: Callback, values: dict[str, str]) -> bytes:
    """`callbackBody` with the upload's values and the uploader's variables in place (unknown: empty)."""
    every = {**values, **cb.variables}

    def one(m: re.Match[str]) -> str:
        value = every.get(m.group(1), "")
        return quote(value, safe="") if cb.body_type == _FORM else value

    return _VARIABLE.sub(one, cb.body).encode()


class Signer:
    """The RSA key callbacks are signed with (its PEM is stored by the caller, in the metadata)."""

    def __init__(self, private_pem: bytes) -> None:
        key = serialization.load_pem_private_key(private_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        self._key = key
        self.public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @staticmethod
    def new_private_pem() -> bytes:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def sign(self, path_and_query: str, body: bytes) -> str:
        path, _, query = path_and_query.partition("?")
        text = unquote(path).encode() + (b"?" + query.encode() if query else b"") + b"\n" + body
        return base64.b64encode(self._key.sign(text, padding.PKCS1v15(), hashes.MD5())).decode()


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str


def deliver(
    cb: Callback, body: bytes, signer: Signer, public_key_url: str, allowed_hosts: tuple[str, ...] = ("*",)
) -> Answer:
    """POST to each URL in turn until one answers 200 with JSON; CallbackFailed (203) when none does. A URL
    whose host matches none of `allowed_hosts` (shell patterns, `--callback-hosts`) is not contacted."""
    reasons = []
    for url in cb.urls:
        full = url if "://" in url else "http://" + url
        host = (urlsplit(full).hostname or "").lower()
        if not any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in allowed_hosts):
            reasons.append(f"The callback host {host} is not allowed by this server (--callback-hosts).")
            continue
        try:
            return _post(full, cb, body, signer, public_key_url)
        except _Failed as exc:
            reasons.append(str(exc))
    raise callback_failed("; ".join(reasons))


class _Failed(Exception):
    pass


def _post(url: str, cb: Callback, body: bytes, signer: Signer, public_key_url: str) -> Answer:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            host, parts.port, timeout=_TIMEOUT_S, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=_TIMEOUT_S)
    headers = {
        "Host": cb.host or parts.netloc,
        "Content-Type": cb.body_type,
        "Content-Length": str(len(body)),
        "Authorization": signer.sign(path, body),
        "x-oss-pub-key-url": base64.b64encode(public_key_url.encode()).decode(),
        "User-Agent": "ossbox-callback",
    }
    try:
        conn.request("POST", path, body, headers)
        resp = conn.getresponse()
        answer = resp.read(_MAX_ANSWER + 1)
    except (OSError, http.client.HTTPException) as exc:
        raise _Failed(f"{url}: {exc.__class__.__name__}: {exc}") from None
    finally:
        conn.close()
    if resp.status != 200:
        raise _Failed(f"Error status : {resp.status}.")
    if len(answer) > _MAX_ANSWER:
        raise _Failed("Response body is larger than 3 MB.")
    try:
        json.loads(answer)
    except ValueError:
        raise _Failed("Response body is not valid json format.") from None
    return Answer(answer, resp.getheader("Content-Type") or "application/json")


def callback_failed(detail: str) -> OSSError:
    """OSS's answer when the object is stored but the application did not accept the callback."""
    return OSSError(203, "CallbackFailed", detail or "The callback was not delivered.")
