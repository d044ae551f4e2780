"""Temporary credentials of a task's RAM role, as the delivery service gets them: STS AssumeRole signed with
the service's own key, through Alibaba Cloud's official STS SDK (aliyun-python-sdk-sts), renewed before
they expire.

The service's key can do nothing but assume roles whose trust policy names the delivery service
(`otsdatadelivery.ots.aliyuncs.com`); what the files may be written to is up to the role's policies.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ossbox.delivery.errors import DeliveryFailure

SERVICE_NAME = "otsdatadelivery.ots.aliyuncs.com"
SESSION_NAME = "ots-data-delivery"
DURATION_S = 3600
# Renew when less than this is left, so that a batch being uploaded never runs out.
RENEW_BEFORE_S = 15 * 60


@dataclass(frozen=True)
class ServiceKey:
    access_key_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Temporary:
    access_key_id: str
    secret: str = field(repr=False)
    token: str = field(repr=False)
    expires_s: float


@dataclass(frozen=True)
class StsEndpoint:
    """Where AssumeRole goes: this server (host:port, http) or Alibaba Cloud's STS."""

    host: str
    protocol: str = "http"
    region: str = "cn-hangzhou"


class RoleSession:
    """One role's credentials, shared by every task that writes with that role; thread-safe."""

    def __init__(
        self,
        sts: StsEndpoint,
        service: ServiceKey,
        role_arn: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sts = sts
        self._service = service
        self.role_arn = role_arn
        self._clock = clock
        self._current: Temporary | None = None
        self._lock = threading.Lock()

    def get(self) -> Temporary:
        with self._lock:
            current = self._current
            if current is None or current.expires_s - self._clock() < RENEW_BEFORE_S:
                current = self._current = self._assume()
            return current

    def invalidate(self) -> None:
        """Forget the credentials (OSS refused them): the next get() assumes the role again."""
        with self._lock:
            self._current = None

    def _assume(self) -> Temporary:
        from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
        from aliyunsdkcore.client import AcsClient
        from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest

        client = AcsClient(
            self._service.access_key_id,
            self._service.secret,
            self._sts.region,
            auto_retry=False,
            connect_timeout=5,
            timeout=15,
        )
        request = AssumeRoleRequest()
        request.set_endpoint(self._sts.host)
        request.set_protocol_type(self._sts.protocol)
        request.set_accept_format("JSON")
        request.set_RoleArn(self.role_arn)
        request.set_RoleSessionName(SESSION_NAME)
        request.set_DurationSeconds(DURATION_S)
        try:
            answer = json.loads(client.do_action_with_exception(request))
        except ServerException as exc:
            # The role is missing, or its trust policy does not name the delivery service.
            raise DeliveryFailure(
                "UnAuthorized",
                f"AssumeRole of {self.role_arn} failed: {exc.get_error_code()}: {exc.get_error_msg()}",
            ) from None
        except ClientException as exc:
            raise DeliveryFailure(
                "StsUnavailable", f"AssumeRole of {self.role_arn} could not be sent: {exc.get_error_msg()}"
            ) from None
        creds = answer["Credentials"]
        stated = datetime.strptime(creds["Expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        # STS states the expiry on its own clock: never count on more than the duration asked for.
        expires_s = min(stated.timestamp(), self._clock() + DURATION_S)
        return Temporary(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"], expires_s)


class RoleSessions:
    """The sessions of every role in use, made on first use."""

    def __init__(self, sts: StsEndpoint, service: ServiceKey) -> None:
        self._sts = sts
        self._service = service
        self._sessions: dict[str, RoleSession] = {}
        self._lock = threading.Lock()

    def session(self, role_arn: str) -> RoleSession:
        with self._lock:
            found = self._sessions.get(role_arn)
            if found is None:
                found = self._sessions[role_arn] = RoleSession(self._sts, self._service, role_arn)
            return found
