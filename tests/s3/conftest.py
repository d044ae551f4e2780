"""Fixtures for the S3 dialect: boto3 clients on the shared server, buckets made and emptied through S3."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess


def s3_client(endpoint: str, **config: Any) -> Any:
    """A boto3 S3 client with its default settings (checksums included) unless `config` says otherwise."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=config.pop("key_id", ACCESS_KEY_ID),
        aws_secret_access_key=config.pop("secret", ACCESS_KEY_SECRET),
        region_name=config.pop("region", REGION),
        verify=config.pop("verify", False),
        config=Config(**config) if config else None,
    )


@pytest.fixture(scope="session")
def s3(server: ServerProcess) -> Any:
    return s3_client(server.endpoint)


def empty_and_delete(client: Any, bucket: str) -> None:
    for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=bucket)


@pytest.fixture
def new_bucket(s3: Any) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        name = f"s3-{uuid.uuid4().hex[:16]}"
        s3.create_bucket(Bucket=name)
        made.append(name)
        return name

    yield make
    for name in made:
        empty_and_delete(s3, name)


@pytest.fixture
def bucket(new_bucket: Callable[[], str]) -> str:
    return new_bucket()
