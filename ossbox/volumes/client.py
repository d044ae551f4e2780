"""A client of the project API: what the console, jobs and the odps:// filesystem call.

Configuration comes from arguments, from an odpscmd-style `odps_config.ini` (project_name, access_id,
access_key, end_point) or from the environment (ODPS_ENDPOINT, ODPS_PROJECT, ODPS_ACCESS_ID, ODPS_ACCESS_KEY).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from ossbox.volumes import signing
from ossbox.volumes.errors import VolumeError

ENV_ENDPOINT = "ODPS_ENDPOINT"
ENV_PROJECT = "ODPS_PROJECT"
ENV_ACCESS_ID = "ODPS_ACCESS_ID"
ENV_ACCESS_KEY = "ODPS_ACCESS_KEY"
TIMEOUT_S = 3600  # a LOAD of a large file answers when it is done


@dataclass(frozen=True)
class ClientConfig:
    endpoint: str
    project: str
    access_id: str
    access_key: str

    def __repr__(self) -> str:  # never the secret
        return (
            f"ClientConfig(endpoint={self.endpoint!r}, project={self.project!r}, "
            f"access_id={self.access_id!r})"
        )

    def env(self) -> dict[str, str]:
        return {
            ENV_ENDPOINT: self.endpoint,
            ENV_PROJECT: self.project,
            ENV_ACCESS_ID: self.access_id,
            ENV_ACCESS_KEY: self.access_key,
        }


def read_odps_config(path: Path) -> dict[str, str]:
    """odpscmd's conf/odps_config.ini: key=value lines, '#' comments."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, _, v = line.partition("=")
        values[k.strip()] = v.strip()
    return values


def load_config(
    endpoint: str | None = None,
    project: str | None = None,
    access_id: str | None = None,
    access_key: str | None = None,
    config_file: Path | None = None,
) -> ClientConfig:
    conf = read_odps_config(config_file) if config_file else {}
    env = os.environ
    values = {
        "endpoint": endpoint or conf.get("end_point") or env.get(ENV_ENDPOINT, ""),
        "project": project or conf.get("project_name") or env.get(ENV_PROJECT, ""),
        "access_id": access_id or conf.get("access_id") or env.get(ENV_ACCESS_ID, ""),
        "access_key": access_key or conf.get("access_key") or env.get(ENV_ACCESS_KEY, ""),
    }
    missing = [k for k, v in values.items() if not v]
    if missing:
        raise VolumeError(
            "MissingConfig", "missing " + ", ".join(missing) + " (options, odps_config.ini or ODPS_*)"
        )
    ep = values["endpoint"].rstrip("/")
    if ep.endswith("/api"):
        ep = ep[: -len("/api")]
    if "://" not in ep:
        ep = "http://" + ep
    return ClientConfig(ep, values["project"].lower(), values["access_id"], values["access_key"])


class ProjectClient:
    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.http = requests.Session()

    @property
    def project(self) -> str:
        return self.config.project

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Date": signing.http_date(time.time()), "x-odps-user-agent": "ossbox-console"}
        if data:
            headers["Content-Type"] = "application/json"
            headers["Content-MD5"] = signing.content_md5(data)
        full = "/api/" + path.lstrip("/")
        to_sign = signing.string_to_sign(method, full, "", headers)
        headers["Authorization"] = signing.authorization(
            self.config.access_id, self.config.access_key, to_sign
        )
        try:
            resp = self.http.request(
                method, self.config.endpoint + full, data=data, headers=headers, timeout=TIMEOUT_S
            )
        except requests.RequestException as exc:
            host = urlsplit(self.config.endpoint).netloc
            raise VolumeError(
                "ConnectionFailed", f"cannot reach the project service at {host}: {type(exc).__name__}", 503
            ) from None
        try:
            answer = resp.json()
        except ValueError:
            raise VolumeError(
                "BadAnswer", f"the service answered HTTP {resp.status_code} without JSON", 502
            ) from None
        if resp.status_code >= 300:
            raise VolumeError(
                str(answer.get("Code", "Error")),
                str(answer.get("Message", "")),
                resp.status_code,
                answer.get("Line"),
                answer.get("Column"),
            )
        return dict(answer)

    def project_call(
        self, action: str, body: dict[str, Any] | None = None, project: str | None = None
    ) -> dict[str, Any]:
        name = project or self.project
        return self.call("POST" if body is not None else "GET", f"projects/{name}/{action}", body)

    def vfs(self, verb: str, project: str | None = None, **args: Any) -> dict[str, Any]:
        return self.project_call("vfs", {"verb": verb, **args}, project)

    def sql(self, statement: str, settings: dict[str, str] | None = None) -> dict[str, Any]:
        return self.project_call("sql", {"statement": statement, "settings": settings or {}})

    def presign(
        self, path: str, method: str = "GET", overwrite: bool = False, project: str | None = None
    ) -> str:
        answer = self.vfs("presign", project, path=path, method=method, overwrite=overwrite)
        return str(answer["url"])

    # -- moving bytes through presigned URLs ------------------------------------------------------------
    def download(self, path: str, target: Path, project: str | None = None) -> int:
        url = self.presign(path, "GET", project=project)
        with self.http.get(url, stream=True, timeout=TIMEOUT_S) as resp:
            _check_oss(resp, path)
            size = 0
            with open(target, "wb") as out:
                for chunk in resp.iter_content(1 << 20):
                    out.write(chunk)
                    size += len(chunk)
        return size

    def read(
        self, path: str, start: int | None = None, end: int | None = None, project: str | None = None
    ) -> bytes:
        url = self.presign(path, "GET", project=project)
        headers = {}
        if start is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        resp = self.http.get(url, headers=headers, timeout=TIMEOUT_S)
        if resp.status_code == 416:
            return b""
        _check_oss(resp, path)
        return bytes(resp.content)

    def upload(
        self, path: str, source: Path | bytes, overwrite: bool = False, project: str | None = None
    ) -> None:
        url = self.presign(path, "PUT", overwrite=overwrite, project=project)
        if isinstance(source, bytes):
            resp = self.http.put(url, data=source, timeout=TIMEOUT_S)
        else:
            with open(source, "rb") as body:
                resp = self.http.put(url, data=body, timeout=TIMEOUT_S)
        _check_oss(resp, path)


def _check_oss(resp: requests.Response, path: str) -> None:
    if resp.status_code >= 300:
        code = ""
        text = resp.text[:2000]
        if "<Code>" in text:
            code = text.split("<Code>", 1)[1].split("</Code>", 1)[0]
        raise VolumeError(
            "OssError", f"OSS answered HTTP {resp.status_code} {code} for {path}", resp.status_code
        )
