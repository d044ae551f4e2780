"""GetObjectTagging, PutObjectTagging and DeleteObjectTagging (of the current version, or of `versionId`).

Tags written with x-oss-tagging (PutObject, the first AppendObject, InitiateMultipartUpload, PutSymlink,
CopyObject with x-oss-tagging-directive: REPLACE) are the same stored tags (protocol/object_tags.py).
Changing tags does not change Last-Modified, as in OSS.
"""

from __future__ import annotations

from ossbox.core.names import validate_object_key
from ossbox.core.versions import wire_version_id
from ossbox.http.oss.common import Call
from ossbox.http.oss.objects import read_target
from ossbox.http.responses import xml
from ossbox.http.server import Response
from ossbox.protocol import object_tags


def _version_header(call: Call, version_id: str) -> list[tuple[str, str]]:
    return [("x-oss-version-id", wire_version_id(version_id))] if call.bkt.versioning else []


async def get_object_tagging(call: Call) -> Response:
    validate_object_key(call.key)
    o, _ = read_target(call, False)
    call.check_object_read(call.bkt, o, call.grant)
    return xml("Tagging", object_tags.tag_set_xml(o.tagging), headers=_version_header(call, o.version_id))


async def put_object_tagging(call: Call) -> Response:
    validate_object_key(call.key)
    stored = object_tags.from_xml(await call.raw_xml_body())
    version_id = await call.storage.set_object_tagging(
        call.bkt.name, call.key, stored, call.q.get("versionId")
    )
    return Response(200, _version_header(call, version_id))


async def delete_object_tagging(call: Call) -> Response:
    validate_object_key(call.key)
    version_id = await call.storage.set_object_tagging(call.bkt.name, call.key, "", call.q.get("versionId"))
    return Response(204, _version_header(call, version_id))
