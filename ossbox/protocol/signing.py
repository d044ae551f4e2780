"""String-to-sign construction for OSS signatures V1, V2 and V4 (header and presigned). Pure functions."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from urllib.parse import quote

# Sub-resources that enter the V1 canonical resource. The two official SDKs use different lists, so a
# signature is accepted if it matches under either.
OSS2_SUBRESOURCES = frozenset(
    [
        "response-content-type",
        "response-content-language",
        "response-cache-control",
        "logging",
        "response-content-encoding",
        "acl",
        "uploadId",
        "uploads",
        "partNumber",
        "group",
        "link",
        "delete",
        "website",
        "location",
        "objectInfo",
        "objectMeta",
        "response-expires",
        "response-content-disposition",
        "cors",
        "lifecycle",
        "restore",
        "qos",
        "referer",
        "stat",
        "bucketInfo",
        "append",
        "position",
        "security-token",
        "live",
        "comp",
        "status",
        "vod",
        "startTime",
        "endTime",
        "x-oss-process",
        "symlink",
        "callback",
        "callback-var",
        "tagging",
        "encryption",
        "versions",
        "versioning",
        "versionId",
        "policy",
        "requestPayment",
        "x-oss-traffic-limit",
        "qosInfo",
        "asyncFetch",
        "x-oss-request-payer",
        "sequential",
        "inventory",
        "inventoryId",
        "continuation-token",
        "worm",
        "wormId",
        "wormExtend",
        "replication",
        "replicationLocation",
        "replicationProgress",
        "transferAcceleration",
        "cname",
        "metaQuery",
        "x-oss-ac-source-ip",
        "x-oss-ac-subnet-mask",
        "x-oss-ac-vpc-id",
        "x-oss-ac-forward-allow",
        "resourceGroup",
        "style",
        "styleName",
        "x-oss-async-process",
        "regionList",
        "x-oss-write-get-object-response",
        "bucketArchiveDirectRead",
        "httpsConfig",
        "redundancyTransition",
        "x-oss-target-redundancy-type",
        "x-oss-redundancy-transition-taskid",
        "accessPoint",
        "accessPointPolicy",
        "publicAccessBlock",
        "x-oss-access-point-name",
        "requesterQosInfo",
        "qosRequester",
        "resourcePoolInfo",
        "resourcePool",
        "resourcePoolBuckets",
    ]
)
V2SDK_SUBRESOURCES = frozenset(
    [
        "acl",
        "bucketInfo",
        "location",
        "stat",
        "delete",
        "append",
        "tagging",
        "objectMeta",
        "uploads",
        "uploadId",
        "partNumber",
        "security-token",
        "position",
        "response-content-type",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "restore",
        "callback",
        "callback-var",
        "versions",
        "versioning",
        "versionId",
        "sequential",
        "continuation-token",
        "regionList",
        "cloudboxes",
        "symlink",
        "resourceGroup",
    ]
)

V4_ALGORITHM = "OSS4-HMAC-SHA256"


def canonical_resource(bucket: str | None, key: str | None) -> str:
    if bucket is None:
        return "/"
    return f"/{bucket}/{key or ''}"


def v1_string_to_sign(
    method: str,
    headers: dict[str, str],
    date: str,
    bucket: str | None,
    key: str | None,
    query: list[tuple[str, str]],
    subresources: frozenset[str],
) -> str:
    """`query` holds decoded (name, value) pairs."""
    oss_headers = sorted((k, v.strip()) for k, v in headers.items() if k.startswith("x-oss-"))
    canon_headers = "".join(f"{k}:{v}\n" for k, v in oss_headers)
    subs = sorted((k, v) for k, v in query if k in subresources)
    resource = canonical_resource(bucket, key)
    if subs:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in subs)
    return "\n".join(
        [
            method,
            headers.get("content-md5", ""),
            headers.get("content-type", ""),
            date,
            canon_headers + resource,
        ]
    )


@functools.lru_cache(maxsize=256)
def _hmac_sha1(secret: str) -> hmac.HMAC:
    return hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha1)


def v1_signature(secret: str, string_to_sign: str) -> str:
    # Copying an HMAC keyed once per secret skips the key schedule: ~40% cheaper than hmac.digest.
    mac = _hmac_sha1(secret).copy()
    mac.update(string_to_sign.encode("utf-8"))
    return base64.b64encode(mac.digest()).decode("ascii")


def v2_string_to_sign(
    method: str,
    headers: dict[str, str],
    date: str,
    bucket: str | None,
    key: str | None,
    query: list[tuple[str, str]],
    additional: list[str],
) -> str:
    """Signature V2 (`OSS2`): like V1, plus the listed extra headers and every query parameter.

    `query` holds decoded (name, value) pairs; the resource and the parameters are percent-encoded with
    only unreserved characters left as they are ('/' too is encoded).
    """
    extra = set(additional)
    signed = sorted((k, v.strip()) for k, v in headers.items() if k.startswith("x-oss-") or k in extra)
    canon_headers = "".join(f"{k}:{v}\n" for k, v in signed)
    resource = _uri_encode(canonical_resource(bucket, key))
    params = sorted((_uri_encode(k), _uri_encode(v)) for k, v in query)
    if params:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in params)
    return "\n".join(
        [
            method,
            headers.get("content-md5", ""),
            headers.get("content-type", ""),
            date,
            canon_headers + ";".join(sorted(extra)),
            resource,
        ]
    )


def v2_signature(secret: str, string_to_sign: str) -> str:
    mac = hmac.digest(secret.encode("utf-8"), string_to_sign.encode("utf-8"), "sha256")
    return base64.b64encode(mac).decode("ascii")


def parse_v2_authorization(value: str) -> dict[str, str]:
    """'OSS2 AccessKeyId:..,AdditionalHeaders:a;b,Signature:..' into its fields."""
    fields: dict[str, str] = {}
    for piece in value[len("OSS2") :].split(","):
        name, _, val = piece.strip().partition(":")
        if name:
            fields[name.strip()] = val.strip()
    return fields


def _uri_encode(value: str, safe: str = "") -> str:
    return quote(value, safe="-_.~" + safe)


def v4_canonical_query(pairs: list[tuple[str, str]], exclude: frozenset[str] = frozenset()) -> str:
    """`pairs` are decoded (name, value) pairs."""
    encoded = sorted((_uri_encode(k), _uri_encode(v)) for k, v in pairs if k not in exclude)
    return "&".join(f"{k}={v}" if v else k for k, v in encoded)


def v4_canonical_request(
    method: str,
    bucket: str | None,
    key: str | None,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    additional: list[str],
    payload_hash: str,
    exclude_query: frozenset[str] = frozenset(),
) -> str:
    uri = _uri_encode(canonical_resource(bucket, key), safe="/")
    extra = set(additional)
    signed = sorted(
        (k, v.strip())
        for k, v in headers.items()
        if k.startswith("x-oss-") or k in ("content-type", "content-md5") or k in extra
    )
    canon_headers = "".join(f"{k}:{v}\n" for k, v in signed)
    return "\n".join(
        [
            method,
            uri,
            v4_canonical_query(query, exclude_query),
            canon_headers,
            ";".join(additional),
            payload_hash,
        ]
    )


def v4_string_to_sign(timestamp: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{V4_ALGORITHM}\n{timestamp}\n{scope}\n{digest}"


def v4_signing_key(secret: str, date: str, region: str, product: str = "oss") -> bytes:
    k = hmac.new(("aliyun_v4" + secret).encode("utf-8"), date.encode("utf-8"), hashlib.sha256).digest()
    k = hmac.new(k, region.encode("utf-8"), hashlib.sha256).digest()
    k = hmac.new(k, product.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(k, b"aliyun_v4_request", hashlib.sha256).digest()


def v4_signature(signing_key: bytes, string_to_sign: str) -> str:
    return hmac.digest(signing_key, string_to_sign.encode("utf-8"), "sha256").hex()


def parse_v4_authorization(value: str) -> dict[str, str]:
    """'OSS4-HMAC-SHA256 Credential=..,AdditionalHeaders=..,Signature=..' in any order and spacing."""
    body = value[len(V4_ALGORITHM) :]
    fields: dict[str, str] = {}
    for piece in body.split(","):
        name, _, val = piece.strip().partition("=")
        if name:
            fields[name.strip()] = val.strip()
    return fields
