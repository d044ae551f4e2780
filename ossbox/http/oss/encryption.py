"""Bucket default encryption: PutBucketEncryption, GetBucketEncryption, DeleteBucketEncryption.

The rule is stored as a bucket configuration (in sse's stored form, a KMS rule without KMSMasterKeyID keeping
"" so that it follows the data directory's default key) and applied by the storage service to every write
that names no encryption of its own: PutObject, AppendObject's first append, InitiateMultipartUpload,
CopyObject, PostObject, and objects ossbox writes itself (access logs).
"""

from __future__ import annotations

from ossbox.http.oss.common import Call
from ossbox.http.responses import xml
from ossbox.http.server import Response
from ossbox.protocol import sse
from ossbox.service import bucket_configs
from ossbox.service.storage import ENCRYPTION_CONFIG


async def put_bucket_encryption(call: Call) -> Response:
    rule = sse.parse_rule(await call.raw_xml_body())
    await bucket_configs.put(call.storage, call.bkt.name, ENCRYPTION_CONFIG, rule.encode())
    return Response(200)


async def get_bucket_encryption(call: Call) -> Response:
    rule = call.storage.bucket_default_sse(call.bkt.name)
    if rule is None:
        raise sse.no_rule(call.bkt.name)
    inner = (
        f"<ApplyServerSideEncryptionByDefault>{sse.rule_fields(rule)}</ApplyServerSideEncryptionByDefault>"
    )
    return xml("ServerSideEncryptionRule", inner)


async def delete_bucket_encryption(call: Call) -> Response:
    await bucket_configs.delete(call.storage, call.bkt.name, ENCRYPTION_CONFIG)
    return Response(204)
