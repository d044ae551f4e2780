"""Bucket tagging: PutBucketTagging, GetBucketTagging, DeleteBucketTagging, and ListBuckets by tag."""

from __future__ import annotations

from collections.abc import Sequence

from ossbox.http.oss.common import Call, xml_document
from ossbox.http.server import Response
from ossbox.meta.types import Bucket
from ossbox.protocol.configs import tagging
from ossbox.service import bucket_configs

NAME = "tagging"


async def put_bucket_tagging(call: Call) -> Response:
    tags = tagging.parse(await call.raw_xml_body(), tagging.BUCKET_TAGS)
    await bucket_configs.put(call.storage, call.bkt.name, NAME, tagging.render(tags))
    return Response(200)


async def get_bucket_tagging(call: Call) -> Response:
    document = call.storage.meta.bucket_configs.get(call.bkt.name, NAME)
    return xml_document(document or tagging.render(()))


async def delete_bucket_tagging(call: Call) -> Response:
    """Every tag, or with `?tagging=k1,k2` only those keys."""
    wanted = {k for k in call.q.get("tagging", "").split(",") if k}

    def change(_txn: object, current: str | None) -> tuple[str | None, None]:
        if not wanted or current is None:
            return None, None
        kept = tuple((k, v) for k, v in tagging.load(current) if k not in wanted)
        return (tagging.render(kept) if kept else None), None

    await bucket_configs.update(call.storage, call.bkt.name, NAME, change)
    return Response(204)


def filter_by_tag(call: Call, buckets: Sequence[Bucket], key: str, value: str | None) -> list[Bucket]:
    """ListBuckets' tag-key / tag-value filter."""
    out = []
    for b in buckets:
        document = call.storage.meta.bucket_configs.get(b.name, NAME)
        tags = dict(tagging.load(document)) if document else {}
        if key in tags and (value is None or tags[key] == value):
            out.append(b)
    return out
