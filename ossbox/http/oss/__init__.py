"""The OSS dialect: one handler per operation, from a parsed request to a response."""

from __future__ import annotations

from ossbox.http.oss import (
    access_logging,
    archive,
    buckets,
    cname,
    cors,
    encryption,
    image_styles,
    lifecycle,
    listing,
    multipart,
    object_tagging,
    objects,
    policies,
    post_object,
    referer,
    select,
    symlinks,
    tagging,
    versioning,
    website,
    worm,
)
from ossbox.http.oss.common import Call, Handler

__all__ = ["HANDLERS", "Call", "Handler"]

HANDLERS: dict[str, Handler] = {
    "ListBuckets": buckets.list_buckets,
    "InitiateBucketWorm": worm.initiate,
    "AbortBucketWorm": worm.abort,
    "CompleteBucketWorm": worm.complete,
    "ExtendBucketWorm": worm.extend,
    "GetBucketWorm": worm.get,
    "PutStyle": image_styles.put_style,
    "GetStyle": image_styles.get_style,
    "ListStyle": image_styles.list_styles,
    "DeleteStyle": image_styles.delete_style,
    "ProcessObject": objects.process_object,
    "SelectObject": select.select_object,
    "CreateSelectObjectMeta": select.create_select_object_meta,
    "DescribeRegions": buckets.describe_regions,
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
    "PutBucketPolicy": policies.put_bucket_policy,
    "GetBucketPolicy": policies.get_bucket_policy,
    "DeleteBucketPolicy": policies.delete_bucket_policy,
    "PutBucketVersioning": versioning.put_bucket_versioning,
    "GetBucketVersioning": versioning.get_bucket_versioning,
    "ListObjectVersions": versioning.list_object_versions,
    "PutBucketLifecycle": lifecycle.put_bucket_lifecycle,
    "GetBucketLifecycle": lifecycle.get_bucket_lifecycle,
    "DeleteBucketLifecycle": lifecycle.delete_bucket_lifecycle,
    "RestoreObject": archive.restore_object,
}

# Bucket configurations and browser-facing features (docs/bucket-features.md).
HANDLERS.update(
    {
        "PutBucketTagging": tagging.put_bucket_tagging,
        "GetBucketTagging": tagging.get_bucket_tagging,
        "DeleteBucketTagging": tagging.delete_bucket_tagging,
        "PutBucketCors": cors.put_bucket_cors,
        "GetBucketCors": cors.get_bucket_cors,
        "DeleteBucketCors": cors.delete_bucket_cors,
        "PutBucketReferer": referer.put_bucket_referer,
        "GetBucketReferer": referer.get_bucket_referer,
        "PutBucketWebsite": website.put_bucket_website,
        "GetBucketWebsite": website.get_bucket_website,
        "DeleteBucketWebsite": website.delete_bucket_website,
        "PutBucketLogging": access_logging.put_bucket_logging,
        "GetBucketLogging": access_logging.get_bucket_logging,
        "DeleteBucketLogging": access_logging.delete_bucket_logging,
        "PutCname": cname.put_cname,
        "DeleteCname": cname.delete_cname,
        "ListCname": cname.list_cname,
        "CreateCnameToken": cname.create_cname_token,
        "GetCnameToken": cname.get_cname_token,
        "PostObject": post_object.post_object,
    }
)

# Server-side encryption and symlinks (docs/encryption.md, docs/compatibility.md).
HANDLERS.update(
    {
        "PutBucketEncryption": encryption.put_bucket_encryption,
        "GetBucketEncryption": encryption.get_bucket_encryption,
        "DeleteBucketEncryption": encryption.delete_bucket_encryption,
        "PutSymlink": symlinks.put_symlink,
        "GetSymlink": symlinks.get_symlink,
    }
)

HANDLERS.update(
    {
        "GetObjectTagging": object_tagging.get_object_tagging,
        "PutObjectTagging": object_tagging.put_object_tagging,
        "DeleteObjectTagging": object_tagging.delete_object_tagging,
    }
)
