"""RAM action names of OSS operations, as policies name them (`oss:GetObject`).

Most operations are checked as `oss:<operation name>`; the exceptions are below. KNOWN is every OSS action a
policy may name, including those of operations ossbox does not serve, so that a policy written for OSS is
accepted whole; a name outside it is refused as unknown.
"""

from __future__ import annotations

# Operation -> the action it is checked as, where that is not "oss:" + the operation's name.
_CHECKED_AS = {
    "HeadObject": "oss:GetObject",
    "GetObjectMeta": "oss:GetObject",
    "ListObjectsV2": "oss:ListObjects",
    "HeadBucket": "oss:GetBucketInfo",
    "AppendObject": "oss:PutObject",
    "CopyObject": "oss:PutObject",
    "InitiateMultipartUpload": "oss:PutObject",
    "UploadPart": "oss:PutObject",
    "UploadPartCopy": "oss:PutObject",
    "CompleteMultipartUpload": "oss:PutObject",
    "DeleteMultipleObjects": "oss:DeleteObject",
    "ListLiveChannel": "oss:ListLiveChannel",
    "PostObject": "oss:PutObject",
    "PutSymlink": "oss:PutObject",
    "GetSymlink": "oss:GetObject",
    "Options": "oss:GetObject",
    # The source image is read; writing the result is checked as oss:PutObject on the target.
    "ProcessObject": "oss:GetObject",
    # Both only read the object (the meta is counted on each call, not stored).
    "SelectObject": "oss:GetObject",
    "CreateSelectObjectMeta": "oss:GetObject",
}


# With `versionId` in the request, an operation on one version of an object is checked as its own action.
_ON_A_VERSION = {
    "oss:GetObject": "oss:GetObjectVersion",
    "oss:DeleteObject": "oss:DeleteObjectVersion",
    "oss:GetObjectAcl": "oss:GetObjectVersionAcl",
    "oss:PutObjectAcl": "oss:PutObjectVersionAcl",
    "oss:GetObjectTagging": "oss:GetObjectVersionTagging",
    "oss:PutObjectTagging": "oss:PutObjectVersionTagging",
    "oss:DeleteObjectTagging": "oss:DeleteObjectVersionTagging",
}


def action_of(operation: str) -> str:
    return _CHECKED_AS.get(operation, "oss:" + operation)


def on_a_version(action: str) -> str:
    """The action an operation is checked as when the request names a version (`versionId=`)."""
    return _ON_A_VERSION.get(action, action)


KNOWN = frozenset(
    name.lower()
    for name in [
        "oss:ListBuckets",
        "oss:DescribeRegions",
        "oss:PutBucket",
        "oss:DeleteBucket",
        "oss:GetBucketInfo",
        "oss:GetBucketLocation",
        "oss:GetBucketStat",
        "oss:GetBucketAcl",
        "oss:PutBucketAcl",
        "oss:ListObjects",
        "oss:ListObjectVersions",
        "oss:GetObject",
        "oss:GetObjectVersion",
        "oss:PutObject",
        "oss:DeleteObject",
        "oss:DeleteObjectVersion",
        "oss:GetObjectAcl",
        "oss:GetObjectVersionAcl",
        "oss:PutObjectAcl",
        "oss:PutObjectVersionAcl",
        "oss:AbortMultipartUpload",
        "oss:ListParts",
        "oss:ListMultipartUploads",
        "oss:RestoreObject",
        "oss:GetObjectTagging",
        "oss:GetObjectVersionTagging",
        "oss:PutObjectTagging",
        "oss:PutObjectVersionTagging",
        "oss:DeleteObjectTagging",
        "oss:DeleteObjectVersionTagging",
        "oss:GetSymlink",
        "oss:PutSymlink",
        "oss:GetBucketPolicy",
        "oss:PutBucketPolicy",
        "oss:DeleteBucketPolicy",
        "oss:GetBucketVersioning",
        "oss:PutBucketVersioning",
        "oss:GetBucketLifecycle",
        "oss:PutBucketLifecycle",
        "oss:DeleteBucketLifecycle",
        "oss:GetBucketCors",
        "oss:PutBucketCors",
        "oss:DeleteBucketCors",
        "oss:GetBucketReferer",
        "oss:PutBucketReferer",
        "oss:GetBucketWebsite",
        "oss:PutBucketWebsite",
        "oss:DeleteBucketWebsite",
        "oss:GetBucketLogging",
        "oss:PutBucketLogging",
        "oss:DeleteBucketLogging",
        "oss:GetBucketEncryption",
        "oss:PutBucketEncryption",
        "oss:DeleteBucketEncryption",
        "oss:GetBucketTagging",
        "oss:PutBucketTagging",
        "oss:DeleteBucketTagging",
        "oss:GetBucketReplication",
        "oss:PutBucketReplication",
        "oss:DeleteBucketReplication",
        "oss:GetBucketWorm",
        "oss:InitiateBucketWorm",
        "oss:AbortBucketWorm",
        "oss:PutStyle",
        "oss:GetStyle",
        "oss:ListStyle",
        "oss:DeleteStyle",
        "oss:CompleteBucketWorm",
        "oss:ExtendBucketWorm",
        "oss:GetBucketRequestPayment",
        "oss:PutBucketRequestPayment",
        "oss:GetBucketTransferAcceleration",
        "oss:PutBucketTransferAcceleration",
        "oss:GetBucketInventory",
        "oss:PutBucketInventory",
        "oss:DeleteBucketInventory",
        "oss:ListBucketInventory",
        "oss:GetBucketCname",
        "oss:PutCname",
        "oss:DeleteCname",
        "oss:ListCname",
        "oss:CreateCnameToken",
        "oss:GetCnameToken",
        "oss:GetBucketAccessMonitor",
        "oss:PutBucketAccessMonitor",
        "oss:GetBucketResourceGroup",
        "oss:PutBucketResourceGroup",
        "oss:ListLiveChannel",
        "oss:PutLiveChannel",
        "oss:DeleteLiveChannel",
        "oss:GetLiveChannel",
        "oss:PostProcessTask",
        "oss:ProcessImm",
        "oss:GetBucketPolicyStatus",
        "oss:GetBucketHttpsConfig",
        "oss:PutBucketHttpsConfig",
        "oss:PutPublicAccessBlock",
        "oss:GetPublicAccessBlock",
        "oss:DeletePublicAccessBlock",
        "oss:SelectObject",
    ]
)
