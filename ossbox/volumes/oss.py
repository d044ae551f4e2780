"""How the project service reaches OSS: as a volume's RAM role, never with a user's keys.

The service holds the key of a cloud-service principal (odps.aliyuncs.com). For each role it calls STS
AssumeRole through the official SDK (aliyun-python-sdk-sts) and uses the temporary credentials with oss2's
StsAuth, cached until five minutes before they expire. Against real OSS only the STS endpoint and the service
key change. An OSS refusal becomes a clear VolumeError naming the role and the place, never the keys.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import oss2

from ossbox.volumes.errors import VolumeError

_RENEW_BEFORE_S = 300
_ROLE_ARN = re.compile(r"^acs:ram::\d+:role/[A-Za-z0-9.\-]{1,64}$")
_SESSION_S = 3600


@dataclass(frozen=True)
class OssLocation:
    """oss://<endpoint>/<bucket>/<prefix>: prefix is '' or ends with '/'."""

    endpoint: str
    bucket: str
    prefix: str

    def __str__(self) -> str:
        return f"oss://{self.endpoint}/{self.bucket}/{self.prefix}"

    @property
    def endpoint_url(self) -> str:
        host = self.endpoint
        if host.endswith(".aliyuncs.com") and ":" not in host:
            return "https://" + host
        return "http://" + host

    def key(self, relative: str) -> str:
        return self.prefix + relative


def parse_location(url: str, require_directory: bool = True) -> OssLocation:
    """`oss://<endpoint>/<bucket>/<path>`; the path must name a directory below the bucket."""
    if not url.startswith("oss://"):
        raise VolumeError("InvalidUrl", f"{url!r}: expected oss://<endpoint>/<bucket>/<path>")
    parts = url[len("oss://") :].split("/", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise VolumeError("InvalidUrl", f"{url!r}: expected oss://<endpoint>/<bucket>/<path>")
    endpoint, bucket = parts[0], parts[1]
    path = parts[2] if len(parts) > 2 else ""
    if not re.match(r"^[a-z0-9][a-z0-9\-]{1,61}[a-z0-9]$", bucket):
        raise VolumeError("InvalidUrl", f"{url!r}: {bucket!r} is not a bucket name")
    path = path.strip("/")
    if require_directory and not path:
        raise VolumeError("InvalidUrl", f"{url!r}: the URL must name a directory below the bucket")
    if "//" in path or any(p in (".", "..") for p in path.split("/")):
        raise VolumeError("InvalidUrl", f"{url!r}: invalid directory")
    return OssLocation(endpoint, bucket, path + "/" if path else "")


def check_role_arn(arn: str) -> str:
    if not _ROLE_ARN.match(arn):
        raise VolumeError("InvalidRoleArn", f"{arn!r} is not a role ARN (acs:ram::<account id>:role/<name>).")
    return arn


@dataclass(frozen=True)
class _Temporary:
    access_key_id: str
    secret: str
    token: str
    expires_at: float


class OssAccess:
    def __init__(
        self,
        sts_endpoint: str,
        service_key_id: str,
        service_key_secret: str,
        region: str = "cn-hangzhou",
        sts_protocol: str = "http",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sts_endpoint = sts_endpoint
        self._key_id = service_key_id
        self._secret = service_key_secret
        self._region = region
        self._protocol = sts_protocol
        self._clock = clock
        self._cache: dict[str, _Temporary] = {}
        self._lock = threading.Lock()
        self._session = oss2.Session()

    def set_sts_endpoint(self, endpoint: str) -> None:
        self._sts_endpoint = endpoint

    def _assume(self, role_arn: str) -> _Temporary:
        from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
        from aliyunsdkcore.client import AcsClient
        from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest

        client = AcsClient(self._key_id, self._secret, region_id=self._region, timeout=30, connect_timeout=10)
        request = AssumeRoleRequest()
        request.set_RoleArn(role_arn)
        request.set_RoleSessionName("odps-project-service")
        request.set_DurationSeconds(_SESSION_S)
        request.set_endpoint(self._sts_endpoint)
        request.set_protocol_type(self._protocol)
        request.set_accept_format("JSON")
        started = self._clock()
        try:
            answer = json.loads(client.do_action_with_exception(request))
        except ServerException as exc:
            raise VolumeError(
                "RoleAssumeFailed",
                f"The project service cannot assume {role_arn}: {exc.get_error_code()}: "
                f"{exc.get_error_msg()}",
                403,
            ) from None
        except ClientException as exc:
            raise VolumeError(
                "StsUnavailable", f"STS at {self._sts_endpoint} did not answer: {exc.get_error_msg()}", 503
            ) from None
        c = answer["Credentials"]
        return _Temporary(c["AccessKeyId"], c["AccessKeySecret"], c["SecurityToken"], started + _SESSION_S)

    def credentials(self, role_arn: str, valid_for_s: float = 0) -> tuple[str, str, str]:
        """Temporary credentials of the role that stay valid at least `valid_for_s` more seconds (a presigned
        URL stops working when the credentials that signed it expire)."""
        check_role_arn(role_arn)
        with self._lock:
            cached = self._cache.get(role_arn)
        if cached is None or cached.expires_at - _RENEW_BEFORE_S - valid_for_s <= self._clock():
            cached = self._assume(role_arn)
            with self._lock:
                self._cache[role_arn] = cached
        return cached.access_key_id, cached.secret, cached.token

    def bucket(self, location: OssLocation, role_arn: str, valid_for_s: float = 0) -> oss2.Bucket:
        key_id, secret, token = self.credentials(role_arn, valid_for_s)
        auth = oss2.StsAuth(key_id, secret, token)
        return oss2.Bucket(
            auth, location.endpoint_url, location.bucket, session=self._session, connect_timeout=30
        )


@contextmanager
def oss_errors(role_arn: str, where: str) -> Iterator[None]:
    """oss2's exceptions as VolumeErrors that say which role could not do what, and where."""
    try:
        yield
    except oss2.exceptions.OssError as exc:
        status = int(getattr(exc, "status", 0) or 0)
        code = getattr(exc, "code", "") or type(exc).__name__
        if status == 403:
            raise VolumeError(
                "OssAccessDenied",
                f"The role {role_arn} may not access {where} ({code}): give the role OSS rights on it.",
                403,
            ) from None
        if code == "NoSuchBucket":
            raise VolumeError("NoSuchBucket", f"The bucket of {where} does not exist.", 404) from None
        if status == -2 or isinstance(exc, oss2.exceptions.RequestError):
            raise VolumeError("OssUnavailable", f"OSS did not answer for {where}.", 503) from None
        raise VolumeError(
            "OssError", f"OSS refused an operation on {where}: {code} (HTTP {status}).", 502
        ) from None
