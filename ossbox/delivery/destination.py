"""Writing delivered files: one PutObject each through oss2, with the task role's temporary credentials.

OSS's answers become the task's error codes: NoSuchBucket -> InvalidOssBucket; AccessDenied (the role's
policies do not allow the write) -> UnAuthorized. Credentials OSS no longer accepts are renewed once.
"""

from __future__ import annotations

import oss2

from ossbox.delivery.credentials import RoleSession
from ossbox.delivery.errors import INVALID_OSS_BUCKET, UNAUTHORIZED, DeliveryFailure

_STALE_CREDENTIALS = frozenset({"InvalidAccessKeyId", "SecurityTokenExpired", "InvalidSecurityToken"})


def endpoint_url(endpoint: str) -> str:
    return endpoint if "://" in endpoint else f"http://{endpoint}"


class Destination:
    """A bucket at an endpoint, written with one role; thread-safe (files of a batch go in parallel)."""

    def __init__(self, endpoint: str, region: str, bucket: str, role: RoleSession) -> None:
        self.endpoint = endpoint_url(endpoint)
        self.region = region
        self.bucket = bucket
        self._role = role
        self._session = oss2.Session()

    def _bucket(self) -> oss2.Bucket:
        creds = self._role.get()
        auth = oss2.StsAuth(creds.access_key_id, creds.secret, creds.token, auth_version=oss2.AUTH_VERSION_4)
        return oss2.Bucket(
            auth, self.endpoint, self.bucket, session=self._session, region=self.region, connect_timeout=10
        )

    def put(self, key: str, data: bytes) -> None:
        for attempt in (1, 2):
            try:
                self._bucket().put_object(key, data)
                return
            except oss2.exceptions.NoSuchBucket:
                raise DeliveryFailure(
                    INVALID_OSS_BUCKET, f"The bucket {self.bucket} does not exist at {self.endpoint}."
                ) from None
            except oss2.exceptions.ServerError as exc:
                if exc.code in _STALE_CREDENTIALS and attempt == 1:
                    self._role.invalidate()
                    continue
                if exc.status == 403:
                    raise DeliveryFailure(
                        UNAUTHORIZED,
                        f"The role {self._role.role_arn} may not write to the bucket {self.bucket}: "
                        f"{exc.code}: {exc.message}",
                    ) from None
                raise DeliveryFailure(
                    "OssError", f"PutObject {self.bucket}/{key}: {exc.status} {exc.code}: {exc.message}"
                ) from None
            except oss2.exceptions.RequestError as exc:
                raise DeliveryFailure(
                    "OssUnavailable", f"{self.endpoint} could not be reached: {type(exc.exception).__name__}"
                ) from None
            except oss2.exceptions.OssError as exc:  # e.g. the CRC-64 of the answer did not match
                raise DeliveryFailure("OssError", f"PutObject {self.bucket}/{key}: {exc}") from None
