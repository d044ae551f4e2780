"""The V2 SDK (alibabacloud-oss-v2) client as the tests configure it: a test server's endpoint, the owner's
key (or another), the tests' region."""

from __future__ import annotations

import alibabacloud_oss_v2 as oss

from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION


def v2_client(
    endpoint: str, key_id: str = ACCESS_KEY_ID, secret: str = ACCESS_KEY_SECRET, token: str | None = None
) -> oss.Client:
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(key_id, secret, token)
    cfg.region = REGION
    cfg.endpoint = endpoint
    return oss.Client(cfg)
