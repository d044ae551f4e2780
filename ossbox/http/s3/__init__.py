"""The S3 dialect: the same buckets and objects through the S3 API (see docs/s3.md)."""
