"""Service and bucket operations."""

from __future__ import annotations

from ossbox.core.errors import OSSError
from ossbox.core.names import validate_bucket_name
from ossbox.http.oss import tagging
from ossbox.http.oss.common import (
    ACLS,
    MAX_XML_BODY,
    Call,
    acl_from,
    grant_xml,
    int_param,
    location,
    owner_xml,
    storage_class_from,
)
from ossbox.http.responses import xml
from ossbox.http.server import Response
from ossbox.protocol import sse
from ossbox.protocol import xml as X
from ossbox.protocol.configs import logging_status
from ossbox.protocol.times import iso8601


async def list_buckets(call: Call) -> Response:
    q = call.q
    prefix = q.get("prefix", "")
    marker = q.get("marker", "")
    max_keys = int_param(q, "max-keys", 100, 1, 1000)
    assert call.principal is not None
    found = call.storage.meta.list_buckets(call.principal.owner_id, prefix, marker, max_keys)
    if q.get("tag-key"):  # ListBuckets by tag: every bucket is looked at (an owner has at most 100)
        every = call.storage.meta.list_buckets(call.principal.owner_id, prefix, marker, 1000)
        found = tagging.filter_by_tag(call, every, q["tag-key"], q.get("tag-value"))[: max_keys + 1]
    truncated = len(found) > max_keys
    found = found[:max_keys]
    host = call.req.host
    items = "".join(
        "<Bucket>"
        + X.els(
            [
                ("CreationDate", iso8601(b.created_ms)),
                ("ExtranetEndpoint", host),
                ("IntranetEndpoint", host),
                ("Location", location(b.region)),
                ("Name", b.name),
                ("Region", b.region),
                ("StorageClass", b.storage_class),
            ]
        )
        + "</Bucket>"
        for b in found
    )
    inner = owner_xml(call.principal.owner_id)
    if prefix or marker or "max-keys" in q:
        inner += X.els([("Prefix", prefix), ("Marker", marker), ("MaxKeys", max_keys)])
        inner += X.el("IsTruncated", str(truncated).lower())
        if truncated:
            inner += X.el("NextMarker", found[-1].name)
    inner += f"<Buckets>{items}</Buckets>"
    return xml("ListAllMyBucketsResult", inner)


async def describe_regions(call: Call) -> Response:
    """The server's one region, with the endpoint the client reached it at for every kind (ossbox has no
    separate internal or accelerated network). `?regions=R` names one: `oss-cn-hangzhou` or `cn-hangzhou`."""
    wanted = call.q.get("regions", "")
    region = call.storage.region
    if wanted and wanted not in (location(region), region):
        raise OSSError(404, "NoSuchRegion", f"The specified region does not exist: {wanted}.")
    host = call.req.host
    info = X.els(
        [
            ("Region", location(region)),
            ("InternetEndpoint", host),
            ("InternalEndpoint", host),
            ("AccelerateEndpoint", host),
        ]
    )
    return xml("RegionInfoList", f"<RegionInfo>{info}</RegionInfo>")


async def put_bucket(call: Call) -> Response:
    name = call.req.bucket
    assert name is not None and call.principal is not None
    validate_bucket_name(name)
    acl = acl_from(call.h, ACLS, "x-oss-acl") or "private"
    storage_class = "Standard"
    # PutBucket may set the default encryption rule through the object headers' names.
    rule = sse.from_headers(call.h)
    body = await call.http.body.read_all(MAX_XML_BODY)
    if body.strip():
        doc = X.parse(body, "CreateBucketConfiguration")
        sc = X.child_text(doc, "StorageClass")
        if sc:
            storage_class = storage_class_from({"x-oss-storage-class": sc}) or "Standard"
    await call.storage.create_bucket(
        call.principal.owner_id, name, acl, storage_class, rule.encode() if rule else None
    )
    return Response(200, [("Location", f"/{name}")])


async def delete_bucket(call: Call) -> Response:
    await call.storage.delete_bucket(call.bkt.name)
    return Response(204)


async def head_bucket(call: Call) -> Response:
    return Response(200, [("x-oss-bucket-region", call.bkt.region)], b"", content_length=0, head=True)


async def get_bucket_acl(call: Call) -> Response:
    b = call.bkt
    return xml("AccessControlPolicy", owner_xml(b.owner_id) + grant_xml(b.acl))


async def put_bucket_acl(call: Call) -> Response:
    acl = acl_from(call.h, ACLS, "x-oss-acl")
    if acl is None:
        raise OSSError(400, "MissingArgument", "Missing x-oss-acl header.")
    await call.storage.set_bucket_acl(call.bkt.name, acl)
    return Response(200)


async def get_bucket_info(call: Call) -> Response:
    b = call.bkt
    host = call.req.host
    inner = X.els(
        [
            ("AccessMonitor", "Disabled"),
            ("CreationDate", iso8601(b.created_ms)),
            ("ExtranetEndpoint", host),
            ("IntranetEndpoint", host),
            ("Location", location(b.region)),
            ("StorageClass", b.storage_class),
            ("TransferAcceleration", "Disabled"),
            ("CrossRegionReplication", "Disabled"),
            ("DataRedundancyType", "LRS"),
            ("Name", b.name),
            ("Region", b.region),
            ("ResourceGroupId", ""),
            ("Comment", ""),
            ("BlockPublicAccess", "false"),  # not a setting ossbox has: public ACLs and policies apply
            *([("Versioning", b.versioning)] if b.versioning else []),
        ]
    )
    inner += owner_xml(b.owner_id) + grant_xml(b.acl)
    rule = sse.rule_fields(call.storage.bucket_default_sse(b.name))
    inner += f"<ServerSideEncryptionRule>{rule}</ServerSideEncryptionRule>"
    logging = call.storage.meta.bucket_configs.get(b.name, "logging")
    target = logging_status.load(logging) if logging else logging_status.LoggingStatus("", "")
    inner += "<BucketPolicy>" + X.els(
        [("LogBucket", target.target_bucket), ("LogPrefix", target.target_prefix)]
    )
    inner += "</BucketPolicy>"
    return xml("BucketInfo", f"<Bucket>{inner}</Bucket>")


async def get_bucket_location(call: Call) -> Response:
    return xml("LocationConstraint", X.esc(location(call.bkt.region)))


async def get_bucket_stat(call: Call) -> Response:
    s = call.storage.meta.bucket_stat(call.bkt.name)
    fields: list[tuple[str, object]] = [
        ("Storage", s.storage),
        ("ObjectCount", s.object_count),
        ("MultipartUploadCount", s.multipart_upload_count),
        ("LiveChannelCount", 0),
        ("LastModifiedTime", s.last_modified_ms // 1000),
    ]
    standard_bytes, standard_count = s.by_class.get("Standard", (0, 0))
    fields += [("StandardStorage", standard_bytes), ("StandardObjectCount", standard_count)]
    # Billed ("real") storage is reported equal to the stored bytes: ossbox bills nothing.
    for storage_class, name in (
        ("IA", "InfrequentAccess"),
        ("Archive", "Archive"),
        ("ColdArchive", "ColdArchive"),
        ("DeepColdArchive", "DeepColdArchive"),
    ):
        size, count = s.by_class.get(storage_class, (0, 0))
        fields += [(f"{name}Storage", size), (f"{name}RealStorage", size), (f"{name}ObjectCount", count)]
    fields.append(("DeleteMarkerCount", s.delete_marker_count))
    return xml("BucketStat", X.els(fields))


async def list_live_channels(call: Call) -> Response:
    q = call.q
    inner = X.els(
        [
            ("Prefix", q.get("prefix", "")),
            ("Marker", q.get("marker", "")),
            ("MaxKeys", int_param(q, "max-keys", 100, 1, 1000)),
            ("IsTruncated", "false"),
            ("NextMarker", ""),
        ]
    )
    return xml("ListLiveChannelResult", inner)
