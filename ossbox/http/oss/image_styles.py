"""Image styles (PutStyle, GetStyle, ListStyle, DeleteStyle: `?style&styleName=`), `x-oss-process=style/NAME`
on GET, and ProcessObject's `sys/saveas` (POST `?x-oss-process`), which stores a processed image as an
object. The pixels: ossbox/service/images.py."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from urllib.parse import parse_qs

from ossbox.core.errors import OSSError, invalid_argument
from ossbox.core.names import validate_object_key
from ossbox.http.oss.common import Call
from ossbox.http.responses import xml
from ossbox.http.server import Response
from ossbox.meta.types import ObjectMeta
from ossbox.protocol import xml as X
from ossbox.protocol.request import Access
from ossbox.protocol.times import iso8601
from ossbox.service import bucket_configs, images
from ossbox.service.storage import WriteAttrs

NAME = "style"
_MAX_STYLES = 50
_STYLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _styles(call: Call) -> dict[str, dict[str, object]]:
    stored = call.storage.meta.bucket_configs.get(call.bkt.name, NAME)
    return json.loads(stored) if stored else {}


def _name(call: Call) -> str:
    name = call.q.get("styleName", "")
    if not _STYLE_NAME.match(name):
        raise invalid_argument("The style name is invalid.", "styleName", name)
    return name


def _no_such_style(name: str) -> OSSError:
    return OSSError(404, "NoSuchStyle", f"The specified style does not exist: {name}.")


async def put_style(call: Call) -> Response:
    name = _name(call)
    content = (await call.xml_body("Style")).findtext("Content") or ""
    if not images.is_image_process(content):
        raise invalid_argument("A style's content is an image process (image/...).", "Content", content)
    images.check(content)  # a style that cannot run is refused now, not on every GET
    styles = _styles(call)
    if name not in styles and len(styles) >= _MAX_STYLES:
        raise invalid_argument("A bucket has at most 50 styles.", "styleName", name)
    now = call.storage.now_ms()
    created = styles.get(name, {}).get("created_ms", now)
    styles[name] = {"content": content, "created_ms": created, "modified_ms": now}
    await bucket_configs.put(call.storage, call.bkt.name, NAME, json.dumps(styles, sort_keys=True))
    return Response(200)


def _style_xml(name: str, style: dict[str, object]) -> str:
    return X.els(
        [
            ("Name", name),
            ("Content", str(style["content"])),
            ("CreateTime", iso8601(int(str(style["created_ms"])))),
            ("LastModifyTime", iso8601(int(str(style["modified_ms"])))),
        ]
    )


async def get_style(call: Call) -> Response:
    name = _name(call)
    style = _styles(call).get(name)
    if style is None:
        raise _no_such_style(name)
    return xml("Style", _style_xml(name, style))


async def list_styles(call: Call) -> Response:
    items = "".join(f"<Style>{_style_xml(n, s)}</Style>" for n, s in sorted(_styles(call).items()))
    return xml("StyleList", items)


async def delete_style(call: Call) -> Response:
    name = _name(call)
    styles = _styles(call)
    if styles.pop(name, None) is None:
        raise _no_such_style(name)
    if styles:
        await bucket_configs.put(call.storage, call.bkt.name, NAME, json.dumps(styles, sort_keys=True))
    else:
        await bucket_configs.delete(call.storage, call.bkt.name, NAME)
    return Response(204)


def resolve(call: Call, spec: str) -> str:
    """`style/<name>` as the style's image process; any other process as it is."""
    if not spec.startswith("style/"):
        return spec
    name = spec[len("style/") :]
    style = _styles(call).get(name)
    if style is None:
        raise _no_such_style(name)
    return str(style["content"])


async def process_object(call: Call, o: ObjectMeta, data: bytes) -> Response:
    """POST ?x-oss-process with `x-oss-process=image/...|sys/saveas,o_<b64 key>,b_<b64 bucket>` in the body:
    the processed image stored as an object (the caller needs PutObject on the target)."""
    body = await call.http.body.read_all(64 << 10)
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    spec = (form.get("x-oss-process") or [""])[0]
    process, sep, saveas = spec.partition("|")
    if not sep or not saveas.startswith("sys/saveas,"):
        raise invalid_argument("ProcessObject needs '<process>|sys/saveas,o_...'.", "x-oss-process", spec)
    params = dict(p.partition("_")[::2] for p in saveas[len("sys/saveas,") :].split(","))
    target_key = _b64(params.get("o", ""), "o")
    target_bucket = _b64(params["b"], "b") if params.get("b") else call.bkt.name
    validate_object_key(target_key)
    process = resolve(call, process)
    if not images.is_image_process(process):
        raise invalid_argument("Only image processes can be saved.", "x-oss-process", process)
    bucket = call.storage.bucket(target_bucket)
    call.authorize(Access.OBJECT_WRITE, "oss:PutObject", bucket, target_key)
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(call.storage.executor, images.process, data, process, o.size)
    chunks = [result.body]

    async def read_chunk() -> bytes:
        return chunks.pop() if chunks else b""

    attrs = WriteAttrs(content_type=result.content_type)
    saved = await call.storage.put_object(bucket, target_key, read_chunk, len(result.body), None, attrs)
    # OSS names the bucket only when the request did (b_): "" means the source's bucket.
    answer = {"bucket": bucket.name if params.get("b") else "", "fileSize": saved.size, "object": saved.key,
              "status": "OK"}  # fmt: skip
    return Response(200, [("Content-Type", "application/json")], json.dumps(answer).encode())


def _b64(value: str, name: str) -> str:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_argument(f"sys/saveas {name}_ is not URL-safe base64.", "x-oss-process", value) from exc
