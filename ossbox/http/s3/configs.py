"""Bucket configurations through S3's API, stored as the OSS dialect stores them, so that a rule set through
either dialect is the one both apply: CORS (Put/Get/DeleteBucketCors; S3's CORSConfiguration has OSS's
elements, plus an ID per rule that is not kept) and default encryption (Put/Get/DeleteBucketEncryption;
SSE-S3 is OSS's AES256 and aws:kms its KMS)."""

from __future__ import annotations

from ossbox.core.errors import malformed_xml
from ossbox.http.oss import cors as oss_cors
from ossbox.http.s3.common import MAX_XML_BODY, S3Call, no_configuration, strip_namespace, xml
from ossbox.http.server import Response
from ossbox.protocol import sse
from ossbox.protocol import xml as X
from ossbox.protocol.configs import cors
from ossbox.service import bucket_configs
from ossbox.service.storage import ENCRYPTION_CONFIG

_S3_KMS = "aws:kms"


# -- CORS ------------------------------------------------------------------------------------------------
async def put_bucket_cors(call: S3Call) -> Response:
    config = cors.parse(strip_namespace(await call.body().read_all(MAX_XML_BODY)))
    await bucket_configs.put(call.storage, call.bkt.name, oss_cors.NAME, cors.render(config))
    return Response(200)


async def get_bucket_cors(call: S3Call) -> Response:
    document = call.storage.meta.bucket_configs.get(call.bkt.name, oss_cors.NAME)
    if document is None:
        raise no_configuration(
            "NoSuchCORSConfiguration", "The CORS configuration does not exist", call.bkt.name
        )
    return xml("CORSConfiguration", cors.rules_xml(cors.load(document)))


async def delete_bucket_cors(call: S3Call) -> Response:
    await bucket_configs.delete(call.storage, call.bkt.name, oss_cors.NAME)
    return Response(204)


# -- default encryption ----------------------------------------------------------------------------------
async def put_bucket_encryption(call: S3Call) -> Response:
    doc = await call.xml_body("ServerSideEncryptionConfiguration")
    assert doc is not None
    rules = doc.findall("Rule")
    if len(rules) != 1:
        raise malformed_xml("A ServerSideEncryptionConfiguration holds exactly one Rule.")
    apply = rules[0].find("ApplyServerSideEncryptionByDefault")
    if apply is None:
        raise malformed_xml("ApplyServerSideEncryptionByDefault is missing.")
    algorithm = (X.child_text(apply, "SSEAlgorithm") or "").strip()
    key_id = (X.child_text(apply, "KMSMasterKeyID") or "").strip() or None
    if algorithm == sse.AES256:
        rule = sse.spec(sse.AES256, None, key_id, "KMSMasterKeyID")
    elif algorithm == _S3_KMS:
        rule = sse.spec(sse.KMS, None, key_id, "KMSMasterKeyID")
    else:
        raise malformed_xml("SSEAlgorithm must be AES256 or aws:kms.")
    await bucket_configs.put(call.storage, call.bkt.name, ENCRYPTION_CONFIG, rule.encode())
    return Response(200)


async def get_bucket_encryption(call: S3Call) -> Response:
    rule = call.storage.bucket_default_sse(call.bkt.name)
    if rule is None:
        raise no_configuration(
            "ServerSideEncryptionConfigurationNotFoundError",
            "The server side encryption configuration was not found",
            call.bkt.name,
        )
    inner = X.el("SSEAlgorithm", _S3_KMS if rule.algorithm == sse.KMS else rule.algorithm)
    if rule.kms_key_id:
        inner += X.el("KMSMasterKeyID", rule.kms_key_id)
    body = f"<Rule><ApplyServerSideEncryptionByDefault>{inner}</ApplyServerSideEncryptionByDefault>"
    body += "<BucketKeyEnabled>false</BucketKeyEnabled></Rule>"
    return xml("ServerSideEncryptionConfiguration", body)


async def delete_bucket_encryption(call: S3Call) -> Response:
    await bucket_configs.delete(call.storage, call.bkt.name, ENCRYPTION_CONFIG)
    return Response(204)
