"""The OSS dialect: one handler per operation, from a parsed request to a response."""

from __future__ import annotations

from ossbox.http.oss import archive, buckets, lifecycle, listing, multipart, objects, versioning
from ossbox.http.oss.common import Call, Handler

__all__ = ["HANDLERS", "Call", "Handler"]

HANDLERS: dict[str, Handler] = {
    "ListBuckets": buckets.list_buckets,
    "PutBucket": buckets.put_bucket,
    "DeleteBucket": buckets.delete_bucket,
    "HeadBucket": buckets.head_bucket,
    "GetBucketAcl": buckets.get_bucket_acl,
    "PutBucketAcl": buckets.put_bucket_acl,
    "GetBucketInfo": buckets.get_bucket_info,
    "GetBucketLocation": buckets.get_bucket_location,
    "GetBucketStat": buckets.get_bucket_stat,
    "ListLiveChannel": buckets.list_live_channels,
    "ListObjects": listing.list_objects,
    "ListObjectsV2": listing.list_objects_v2,
    "GetObject": objects.get_object,
    "HeadObject": objects.head_object,
    "GetObjectMeta": objects.get_object_meta,
    "PutObject": objects.put_object,
    "AppendObject": objects.append_object,
    "DeleteObject": objects.delete_object,
    "DeleteMultipleObjects": objects.delete_multiple,
    "GetObjectAcl": objects.get_object_acl,
    "PutObjectAcl": objects.put_object_acl,
    "InitiateMultipartUpload": multipart.initiate_upload,
    "UploadPart": multipart.upload_part,
    "CompleteMultipartUpload": multipart.complete_upload,
    "AbortMultipartUpload": multipart.abort_upload,
    "ListParts": multipart.list_parts,
    "ListMultipartUploads": multipart.list_uploads,
    "PutBucketVersioning": versioning.put_bucket_versioning,
    "GetBucketVersioning": versioning.get_bucket_versioning,
    "ListObjectVersions": versioning.list_object_versions,
    "PutBucketLifecycle": lifecycle.put_bucket_lifecycle,
    "GetBucketLifecycle": lifecycle.get_bucket_lifecycle,
    "DeleteBucketLifecycle": lifecycle.delete_bucket_lifecycle,
    "RestoreObject": archive.restore_object,
}
