"""S3 bucket policies in RAM's words: an AWS policy document is translated into the RAM policy that the
one policy engine evaluates for both dialects (and that the OSS dialect's GetBucketPolicy returns).

Actions s3:X become the OSS actions of the same operations, resources arn:aws:s3:::bucket/key become
acs:oss:*:*:bucket/key, principals AWS-style ARNs become RAM ones, and aws:/s3: condition keys become
acs:/oss: ones. Anything without an equivalent is refused with MalformedPolicy, never silently dropped.
"""

from __future__ import annotations

import json
import re

from ossbox.core.errors import OSSError

_ACTIONS = {
    "s3:getobject": "oss:GetObject",
    "s3:getobjectversion": "oss:GetObjectVersion",
    "s3:putobject": "oss:PutObject",
    "s3:deleteobject": "oss:DeleteObject",
    "s3:deleteobjectversion": "oss:DeleteObjectVersion",
    "s3:listbucket": "oss:ListObjects",
    "s3:listbucketversions": "oss:ListObjectVersions",
    "s3:listallmybuckets": "oss:ListBuckets",
    "s3:createbucket": "oss:PutBucket",
    "s3:deletebucket": "oss:DeleteBucket",
    "s3:getbucketlocation": "oss:GetBucketLocation",
    "s3:getbucketacl": "oss:GetBucketAcl",
    "s3:putbucketacl": "oss:PutBucketAcl",
    "s3:getobjectacl": "oss:GetObjectAcl",
    "s3:putobjectacl": "oss:PutObjectAcl",
    "s3:getobjecttagging": "oss:GetObjectTagging",
    "s3:putobjecttagging": "oss:PutObjectTagging",
    "s3:deleteobjecttagging": "oss:DeleteObjectTagging",
    "s3:getbucketpolicy": "oss:GetBucketPolicy",
    "s3:putbucketpolicy": "oss:PutBucketPolicy",
    "s3:deletebucketpolicy": "oss:DeleteBucketPolicy",
    "s3:getbucketversioning": "oss:GetBucketVersioning",
    "s3:putbucketversioning": "oss:PutBucketVersioning",
    "s3:listbucketmultipartuploads": "oss:ListMultipartUploads",
    "s3:listmultipartuploadparts": "oss:ListParts",
    "s3:abortmultipartupload": "oss:AbortMultipartUpload",
}
_CONDITION_KEYS = {
    "aws:sourceip": "acs:SourceIp",
    "aws:securetransport": "acs:SecureTransport",
    "aws:currenttime": "acs:CurrentTime",
    "aws:useragent": "acs:UserAgent",
    "aws:referer": "acs:Referer",
    "s3:prefix": "oss:Prefix",
    "s3:delimiter": "oss:Delimiter",
    "s3:max-keys": "oss:MaxKeys",
}
_ARN = re.compile(r"^arn:aws:(iam|sts)::([^:]*):(.+)$")


def _malformed(message: str) -> OSSError:
    return OSSError(400, "MalformedPolicy", message)


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _action(action: object) -> str:
    if not isinstance(action, str):
        raise _malformed("Actions must be strings.")
    low = action.lower()
    if low in ("*", "s3:*"):
        return "oss:*" if low == "s3:*" else "*"
    if low in _ACTIONS:
        return _ACTIONS[low]
    if low.startswith("s3:") and ("*" in low or "?" in low):
        return "oss:" + action[3:]  # s3:Get* -> oss:Get*: the same operations by name
    raise _malformed(f"Policy has an action ossbox does not serve: {action}")


def _resource(resource: object) -> str:
    if not isinstance(resource, str):
        raise _malformed("Resources must be strings.")
    if resource == "*":
        return "*"
    if not resource.startswith("arn:aws:s3:::"):
        raise _malformed(f"Policy has invalid resource: {resource}")
    return "acs:oss:*:*:" + resource[len("arn:aws:s3:::") :]


def _principal(value: object) -> list[str]:
    if value == "*":
        return ["*"]
    if not isinstance(value, dict) or set(value) - {"AWS", "RAM"}:
        raise _malformed('Principal must be "*" or {"AWS": [...]}.')
    out = []
    for item in [v for vs in value.values() for v in _list(vs)]:
        if not isinstance(item, str):
            raise _malformed("Principals must be strings.")
        m = _ARN.match(item)
        if m is None:
            out.append(item)  # "*", an account id, a RAM user id or an acs: name
        elif m.group(1) == "iam":
            out.append(f"acs:ram::{m.group(2)}:{m.group(3)}")
        else:
            out.append(f"arn:sts::{m.group(2)}:{m.group(3)}")
    return out


def _condition(raw: object) -> dict[str, dict[str, object]]:
    if not isinstance(raw, dict):
        raise _malformed("Condition must be an object.")
    out: dict[str, dict[str, object]] = {}
    for operator, clauses in raw.items():
        if not isinstance(clauses, dict):
            raise _malformed("Condition must be an object of objects.")
        translated = {}
        for key, values in clauses.items():
            mapped = _CONDITION_KEYS.get(str(key).lower())
            if mapped is None:
                raise _malformed(f"Policy has an unsupported condition key: {key}")
            translated[mapped] = values
        out[operator] = translated
    return out


def to_ram(document: bytes) -> str:
    """The RAM bucket policy for an S3 bucket policy document."""
    try:
        doc = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _malformed("This policy contains invalid Json") from exc
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise _malformed("Missing required field Statement")
    statements = []
    for raw in _list(doc["Statement"]):
        if not isinstance(raw, dict):
            raise _malformed("Statements must be objects.")
        unknown = set(raw) - {
            "Sid",
            "Effect",
            "Principal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
        }
        if unknown:
            raise _malformed(f"Policy has an unsupported element: {sorted(unknown)[0]}")
        st: dict[str, object] = {"Effect": raw.get("Effect")}
        if "Principal" not in raw:
            raise _malformed("Missing required field Principal")
        st["Principal"] = _principal(raw["Principal"])
        for name in ("Action", "NotAction"):
            if name in raw:
                st[name] = [_action(a) for a in _list(raw[name])]
        for name in ("Resource", "NotResource"):
            if name in raw:
                st[name] = [_resource(r) for r in _list(raw[name])]
        if "Condition" in raw:
            st["Condition"] = _condition(raw["Condition"])
        statements.append(st)
    return json.dumps({"Version": "1", "Statement": statements}, separators=(",", ":"))
