"""The S3 dialect's wire code: routing, SigV4, aws-chunked bodies, checksums. Pure functions, no I/O."""
