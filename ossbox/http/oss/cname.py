"""Custom domains: PutCname, ListCname, DeleteCname, CreateCnameToken, GetCnameToken.

Bindings are looked up on every request whose Host is not an IP address or a base domain (see
ossbox/protocol/request.py); a domain can be bound to one bucket at a time.
"""

from __future__ import annotations

import secrets
from typing import Any

from ossbox.core.errors import OSSError
from ossbox.http.oss.common import Call
from ossbox.http.responses import xml
from ossbox.http.server import Response
from ossbox.meta.sql_store import SqlTxn
from ossbox.protocol import xml as X
from ossbox.protocol.configs import cname
from ossbox.protocol.times import http_date, iso8601
from ossbox.service import bucket_configs

NAME = "cname"


def _bound_elsewhere(domain: str) -> OSSError:
    return OSSError(409, "CnameAlreadyExists", "The domain is bound to another bucket.", {"Cname": domain})


async def put_cname(call: Call) -> Response:
    domain = cname.parse_domain(await call.raw_xml_body())
    bucket = call.bkt.name

    def change(txn: SqlTxn, current: str | None) -> tuple[str | None, None]:
        for other, document in txn.configs.all_named(NAME):
            if other != bucket and domain in cname.load(document)["domains"]:
                raise _bound_elsewhere(domain)
        data = cname.load(current)
        if domain not in data["domains"] and len(data["domains"]) >= cname.MAX_DOMAINS:
            raise OSSError(400, "TooManyCname", f"A bucket may have at most {cname.MAX_DOMAINS} domains.")
        data["domains"][domain] = {"modified_ms": call.storage.now_ms()}
        return cname.dump(data), None

    await bucket_configs.update(call.storage, bucket, NAME, change)
    return Response(200)


async def delete_cname(call: Call) -> Response:
    domain = cname.parse_domain(await call.raw_xml_body())

    def change(_txn: SqlTxn, current: str | None) -> tuple[str | None, None]:
        data = cname.load(current)
        if domain not in data["domains"]:
            raise OSSError(404, "NoSuchCname", "The domain is not bound to this bucket.", {"Cname": domain})
        del data["domains"][domain]
        return cname.dump(data), None

    await bucket_configs.update(call.storage, call.bkt.name, NAME, change)
    return Response(200)


async def list_cname(call: Call) -> Response:
    data = cname.load(call.storage.meta.bucket_configs.get(call.bkt.name, NAME))
    items = "".join(
        "<Cname>"
        + X.els(
            [
                ("Domain", domain),
                ("LastModified", iso8601(info["modified_ms"])),
                ("Status", "Enabled"),
                ("IsPurgeCdnCache", "false"),
            ]
        )
        + "</Cname>"
        for domain, info in sorted(data["domains"].items())
    )
    inner = X.els([("Bucket", call.bkt.name), ("Owner", call.bkt.owner_id)]) + items
    return xml("ListCnameResult", inner)


def _token_xml(bucket: str, domain: str, token: dict[str, Any]) -> Response:
    inner = X.els(
        [
            ("Bucket", bucket),
            ("Cname", domain),
            ("Token", token["token"]),
            ("ExpireTime", http_date(token["expires_ms"] // 1000)),
        ]
    )
    return xml("CnameToken", inner)


async def create_cname_token(call: Call) -> Response:
    domain = cname.parse_domain(await call.raw_xml_body())
    token = {"token": secrets.token_hex(16), "expires_ms": call.storage.now_ms() + cname.TOKEN_LIFETIME_MS}

    def change(_txn: SqlTxn, current: str | None) -> tuple[str | None, None]:
        data = cname.load(current)
        data["tokens"] = {d: t for d, t in data["tokens"].items() if t["expires_ms"] > call.storage.now_ms()}
        data["tokens"][domain] = token
        return cname.dump(data), None

    await bucket_configs.update(call.storage, call.bkt.name, NAME, change)
    return _token_xml(call.bkt.name, domain, token)


async def get_cname_token(call: Call) -> Response:
    domain = call.q.get("cname", "").lower().rstrip(".")
    cname.check_domain(domain)
    data = cname.load(call.storage.meta.bucket_configs.get(call.bkt.name, NAME))
    token = data["tokens"].get(domain)
    if token is None or token["expires_ms"] <= call.storage.now_ms():
        raise OSSError(404, "NoSuchCnameToken", "No CNAME token exists for this domain.", {"Cname": domain})
    return _token_xml(call.bkt.name, domain, token)
