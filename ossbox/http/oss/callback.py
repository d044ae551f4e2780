"""Upload callbacks on the OSS wire: which requests ask for one, and the answer once the object is stored
(the application's JSON with 200, or 203 CallbackFailed). The delivery itself: ossbox/service/callbacks.py."""

from __future__ import annotations

import asyncio
import base64

from ossbox.core.errors import OSSError
from ossbox.http.oss.common import Call
from ossbox.http.server import Response
from ossbox.meta.types import ObjectMeta
from ossbox.service import callbacks
from ossbox.service.callbacks import Callback


def requested(call: Call, fields: dict[str, str] | None = None) -> Callback | None:
    """The callback a request (or a PostObject form's `callback` / `callback-var` fields) asks for, checked
    before anything is stored."""
    source = fields if fields is not None else {**call.q, **call.h}
    config = source.get("x-oss-callback") or source.get("callback")
    if config is None:
        return None
    return callbacks.parse(config, source.get("x-oss-callback-var") or source.get("callback-var"))


async def answer(
    call: Call, cb: Callback, o: ObjectMeta, operation: str, headers: list[tuple[str, str]]
) -> Response:
    values = {
        "bucket": o.bucket,
        "object": o.key,
        "etag": o.etag,
        "size": str(o.size),
        "mimeType": o.content_type,
        "crc64": str(o.crc64),
        "contentMd5": base64.b64encode(bytes.fromhex(o.etag)).decode() if "-" not in o.etag else "",
        "clientIp": call.http.client,
        "operation": operation,
    }
    body = callbacks.render(cb, values)
    signer = call.storage.callback_signer()
    key_url = call.origin + callbacks.PUBLIC_KEY_PATH
    loop = asyncio.get_running_loop()
    try:
        got = await loop.run_in_executor(
            call.storage.executor, callbacks.deliver, cb, body, signer, key_url, call.storage.callback_hosts
        )
    except OSSError as exc:
        exc.headers.update(dict(headers))
        raise
    return Response(200, [*headers, ("Content-Type", got.content_type)], got.body)
