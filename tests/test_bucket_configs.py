"""Bucket configurations against a real server with two worker processes: tagging, CORS (preflight and
actual requests), referer, static website, access logging and CNAME bindings, through oss2, the V2 SDK and
plain HTTP (requests) where a browser is what speaks."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from oss2.models import BucketCors, BucketLogging, BucketReferer, BucketWebsite, CorsRule, Tagging

from tests.conftest import empty_and_delete, new_bucket_name
from tests.rawhttp import signed_headers
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess
from tests.v2sdk import v2_client

AUTH = oss2.Auth(ACCESS_KEY_ID, ACCESS_KEY_SECRET)


@pytest.fixture
def bucket(features_server: ServerProcess) -> Iterator[oss2.Bucket]:
    b = oss2.Bucket(AUTH, features_server.endpoint, new_bucket_name("cfg"), region=REGION)
    b.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
    yield b
    # A test that logged into its own bucket may still have lines on their way (they are delivered every
    # 0.3 s, also after logging is switched off): a log object can land between emptying and deleting.
    for _ in range(20):
        try:
            empty_and_delete(b)
            return
        except oss2.exceptions.BucketNotEmpty:
            time.sleep(0.25)
    empty_and_delete(b)


@pytest.fixture
def v2(features_server: ServerProcess) -> oss.Client:
    return v2_client(features_server.endpoint)


def url(b: oss2.Bucket, key: str = "") -> str:
    return f"{b.endpoint}/{b.bucket_name}/{key}"


def put_raw(b: oss2.Bucket, sub: str, body: bytes) -> requests.Response:
    """A signed PUT of a configuration body exactly as given (oss2 would build a valid one)."""
    target, headers = signed_headers("PUT", b.endpoint, b.bucket_name, params={sub: ""})
    return requests.put(target, params={sub: ""}, headers=headers, data=body, timeout=10)


def error_code(resp: requests.Response) -> str:
    return ET.fromstring(resp.content).findtext("Code") or ""


# ------------------------------------------------------------------------------------------------ tagging
def test_bucket_tagging_with_both_sdks(bucket: oss2.Bucket, v2: oss.Client) -> None:
    tagging = Tagging()
    tagging.tag_set.tagging_rule.update({"team": "data", "cost center": "42+%"})
    bucket.put_bucket_tagging(tagging)
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {"team": "data", "cost center": "42+%"}
    got = v2.get_bucket_tags(oss.GetBucketTagsRequest(bucket=bucket.bucket_name))
    assert {t.key: t.value for t in got.tagging.tag_set.tags} == {"team": "data", "cost center": "42+%"}

    svc = oss2.Service(AUTH, bucket.endpoint)
    found = svc.list_buckets(params={"tag-key": "team", "tag-value": "data"}).buckets
    assert bucket.bucket_name in [b.name for b in found]
    assert bucket.bucket_name not in [
        b.name for b in svc.list_buckets(params={"tag-key": "team", "tag-value": "web"}).buckets
    ]

    bucket.delete_bucket_tagging(params={"tagging": "team"})
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {"cost center": "42+%"}
    v2.delete_bucket_tags(oss.DeleteBucketTagsRequest(bucket=bucket.bucket_name))
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {}


def test_bad_tagging_is_refused_and_changes_nothing(bucket: oss2.Bucket) -> None:
    good = Tagging()
    good.tag_set.tagging_rule["k"] = "v"
    bucket.put_bucket_tagging(good)
    too_many = "".join(f"<Tag><Key>k{i}</Key><Value>v</Value></Tag>" for i in range(21))
    duplicate = "<Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag>"
    long_key = f"<Tag><Key>{'k' * 65}</Key><Value>v</Value></Tag>"
    for body, code in [
        (b"<Tagging><TagSet><Tag>", "MalformedXML"),
        (b"<NotTagging/>", "MalformedXML"),
        (f"<Tagging><TagSet>{too_many}</TagSet></Tagging>".encode(), "InvalidArgument"),
        (f"<Tagging><TagSet>{duplicate}</TagSet></Tagging>".encode(), "InvalidArgument"),
        (f"<Tagging><TagSet>{long_key}</TagSet></Tagging>".encode(), "InvalidArgument"),
    ]:
        resp = put_raw(bucket, "tagging", body)
        assert (resp.status_code, error_code(resp)) == (400, code), body
    assert bucket.get_bucket_tagging().tag_set.tagging_rule == {"k": "v"}


# ------------------------------------------------------------------------------------------------ CORS
def test_cors_preflight_and_actual_requests(bucket: oss2.Bucket, v2: oss.Client) -> None:
    bucket.put_object("pic.png", b"png")
    with pytest.raises(oss2.exceptions.NoSuchCors):
        bucket.get_bucket_cors()
    # No rules yet: a preflight is refused and actual requests carry no CORS headers.
    pre = requests.options(
        url(bucket, "pic.png"),
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert (pre.status_code, error_code(pre)) == (403, "AccessForbidden")

    rules = [
        CorsRule(
            allowed_origins=["https://*.example.com"],
            allowed_methods=["GET", "PUT"],
            allowed_headers=["x-oss-*", "content-type"],
            expose_headers=["ETag", "x-oss-request-id"],
            max_age_seconds=600,
        ),
        CorsRule(allowed_origins=["*"], allowed_methods=["HEAD"], allowed_headers=["*"]),
    ]
    bucket.put_bucket_cors(BucketCors(rules, response_vary=True))
    got = v2.get_bucket_cors(oss.GetBucketCorsRequest(bucket=bucket.bucket_name)).cors_configuration
    assert [r.allowed_methods for r in got.cors_rules] == [["GET", "PUT"], ["HEAD"]]
    assert got.response_vary is True

    for _ in range(4):  # both worker processes must know the rules at once
        pre = requests.options(
            url(bucket, "pic.png"),
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "x-oss-meta-a, Content-Type",
            },
            timeout=10,
        )
        assert pre.status_code == 200, pre.text
        assert pre.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert pre.headers["Access-Control-Allow-Methods"] == "GET, PUT"
        assert pre.headers["Access-Control-Allow-Headers"] == "x-oss-meta-a, content-type"
        assert pre.headers["Access-Control-Expose-Headers"] == "ETag, x-oss-request-id"
        assert pre.headers["Access-Control-Max-Age"] == "600"
        assert pre.headers["Vary"] == "Origin"

    refused = [
        {"Origin": "https://evil.org", "Access-Control-Request-Method": "GET"},
        {"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE"},
        {
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    ]
    for headers in refused:
        resp = requests.options(url(bucket, "pic.png"), headers=headers, timeout=10)
        assert (resp.status_code, error_code(resp)) == (403, "AccessForbidden"), headers
    resp = requests.options(url(bucket, "pic.png"), headers={"Origin": "https://a.example.com"}, timeout=10)
    assert (resp.status_code, error_code(resp)) == (400, "BadRequest")

    # The V2 SDK's OptionObject and an actual anonymous GET from a browser.
    opt = v2.option_object(
        oss.OptionObjectRequest(
            bucket=bucket.bucket_name,
            key="pic.png",
            origin="https://x.example.com",
            access_control_request_method="GET",
        )
    )
    assert opt.access_control_allow_origin == "https://x.example.com"
    get = requests.get(url(bucket, "pic.png"), headers={"Origin": "https://x.example.com"}, timeout=10)
    assert get.content == b"png"
    assert get.headers["Access-Control-Allow-Origin"] == "https://x.example.com"
    head = requests.head(url(bucket, "pic.png"), headers={"Origin": "https://other.net"}, timeout=10)
    assert head.headers["Access-Control-Allow-Origin"] == "*"  # the second rule
    plain = requests.get(url(bucket, "pic.png"), timeout=10)
    assert "Access-Control-Allow-Origin" not in plain.headers

    bucket.delete_bucket_cors()
    with pytest.raises(oss2.exceptions.NoSuchCors):
        bucket.get_bucket_cors()
    get = requests.get(url(bucket, "pic.png"), headers={"Origin": "https://x.example.com"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in get.headers


def test_invalid_cors_rules_are_refused_and_change_nothing(bucket: oss2.Bucket) -> None:
    bucket.put_bucket_cors(BucketCors([CorsRule(allowed_origins=["*"], allowed_methods=["GET"])]))

    def rule(method: str = "GET", origin: str = "*", extra: str = "") -> str:
        inner = f"<AllowedOrigin>{origin}</AllowedOrigin><AllowedMethod>{method}</AllowedMethod>{extra}"
        return f"<CORSRule>{inner}</CORSRule>"

    for body, code in [
        (b"<CORSConfiguration><CORSRule>", "MalformedXML"),
        (b"<CORSConfiguration></CORSConfiguration>", "MalformedXML"),
        (("<CORSConfiguration>" + rule() * 11 + "</CORSConfiguration>").encode(), "CORSRuleBeyondLimit"),
        (f"<CORSConfiguration>{rule('PATCH')}</CORSConfiguration>".encode(), "InvalidArgument"),
        (
            f"<CORSConfiguration>{rule(origin='http://*.*.com')}</CORSConfiguration>".encode(),
            "InvalidArgument",
        ),
        (
            f"<CORSConfiguration>{rule(extra='<ExposeHeader>*</ExposeHeader>')}</CORSConfiguration>".encode(),
            "InvalidArgument",
        ),
        (
            b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
            "InvalidArgument",
        ),
    ]:
        resp = put_raw(bucket, "cors", body)
        assert (resp.status_code, error_code(resp)) == (400, code), body
    # oss2 itself, with a negative MaxAgeSeconds: the argument is named as OSS names it.
    with pytest.raises(oss2.exceptions.InvalidArgument) as err:
        bucket.put_bucket_cors(
            BucketCors([CorsRule(allowed_origins=["*"], allowed_methods=["GET"], max_age_seconds=-1)])
        )
    assert (err.value.name, err.value.value) == ("MaxAgeSeconds", "-1")
    assert [r.allowed_methods for r in bucket.get_bucket_cors().rules] == [["GET"]]
    ten = "<CORSConfiguration>" + rule() * 10 + "</CORSConfiguration>"
    assert put_raw(bucket, "cors", ten.encode()).status_code == 200


# ------------------------------------------------------------------------------------------------ referer
def test_referer_applies_to_anonymous_and_presigned_requests_only(
    bucket: oss2.Bucket, v2: oss.Client
) -> None:
    bucket.put_object("img.jpg", b"jpeg")
    config = BucketReferer(
        False,
        ["https://www.example.com/*", "https://*.cdn.net/?x*"],
        True,
        ["https://www.example.com/banned*"],
    )
    bucket.put_bucket_referer(config)
    got = v2.get_bucket_referer(oss.GetBucketRefererRequest(bucket=bucket.bucket_name)).referer_configuration
    assert got.allow_empty_referer is False
    assert got.referer_list.referers == ["https://www.example.com/*", "https://*.cdn.net/?x*"]
    assert got.referer_blacklist.referers == ["https://www.example.com/banned*"]

    def anonymous(referer: str | None) -> int:
        headers = {"Referer": referer} if referer is not None else {}
        return requests.get(url(bucket, "img.jpg"), headers=headers, timeout=10).status_code

    assert anonymous("https://www.example.com/page.html") == 200
    assert anonymous("https://www.example.com/page.html?q=1") == 200  # query string truncated
    assert anonymous("https://a.cdn.net/axy") == 200
    assert anonymous(None) == 403  # AllowEmptyReferer false
    assert anonymous("https://www.example.com/banned/page") == 403  # the blacklist wins
    assert anonymous("https://evil.org/") == 403
    resp = requests.get(url(bucket, "img.jpg"), headers={"Referer": "https://evil.org/"}, timeout=10)
    assert error_code(resp) == "AccessDenied"

    presigned = bucket.sign_url("GET", "img.jpg", 300)
    assert requests.get(presigned, headers={"Referer": "https://evil.org/"}, timeout=10).status_code == 403
    assert (
        requests.get(presigned, headers={"Referer": "https://www.example.com/x"}, timeout=10).status_code
        == 200
    )
    # Signed in the Authorization header: never checked.
    assert bucket.get_object("img.jpg", headers={"Referer": "https://evil.org/"}).read() == b"jpeg"

    bucket.put_bucket_referer(BucketReferer(True, []))
    assert anonymous("https://evil.org/") == 200
    assert bucket.get_bucket_referer().allow_empty_referer is True


def test_malformed_referer_configurations_change_nothing(bucket: oss2.Bucket) -> None:
    bucket.put_bucket_referer(BucketReferer(False, ["https://ok.com/*"]))
    for body in [
        b"<RefererConfiguration><AllowEmptyReferer>",
        b"<Referer/>",
        b"<RefererConfiguration><AllowEmptyReferer>maybe</AllowEmptyReferer></RefererConfiguration>",
    ]:
        resp = put_raw(bucket, "referer", body)
        assert (resp.status_code, error_code(resp)) == (400, "MalformedXML"), body
    got = bucket.get_bucket_referer()
    assert (got.allow_empty_referer, got.referers) == (False, ["https://ok.com/*"])


# ------------------------------------------------------------------------------------------------ website
def test_static_website_served_anonymously(bucket: oss2.Bucket, v2: oss.Client) -> None:
    for key, body in [
        ("index.html", b"root index"),
        ("docs/index.html", b"docs index"),
        ("guide/index.html", b"guide index"),
        ("404.html", b"not here"),
    ]:
        bucket.put_object(key, body, headers={"Content-Type": "text/html"})
    v2.put_bucket_website(
        oss.PutBucketWebsiteRequest(
            bucket=bucket.bucket_name,
            website_configuration=oss.WebsiteConfiguration(
                index_document=oss.IndexDocument(suffix="index.html", support_sub_dir=True, type=0),
                error_document=oss.ErrorDocument(key="404.html", http_status=404),
            ),
        )
    )
    got = bucket.get_bucket_website()
    assert (got.index_file, got.error_file) == ("index.html", "404.html")

    def get(key: str, **kw: object) -> requests.Response:
        return requests.get(url(bucket, key), timeout=10, **kw)  # type: ignore[arg-type]

    root = get("")
    assert (root.status_code, root.content, root.headers["Content-Type"]) == (200, b"root index", "text/html")
    assert get("docs/").content == b"docs index"  # SupportSubDir: the sub-directory's own index
    moved = get("guide", allow_redirects=False)
    assert (moved.status_code, moved.headers["Location"]) == (302, f"/{bucket.bucket_name}/guide/")
    missing = get("no/such/page.html")
    assert (missing.status_code, missing.content) == (404, b"not here")
    assert requests.head(url(bucket, "nothing"), timeout=10).status_code == 404
    # Signed requests: the bucket root still lists, a missing key is still NoSuchKey for the SDK.
    assert "404.html" in [o.key for o in bucket.list_objects().object_list]
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("no/such/page.html")
    assert bucket.get_object("docs/").read() == b"docs index"

    # Without SupportSubDir every directory gets the root index; the error document may answer 200; Type 2.
    xml_doc = (
        "<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix><SupportSubDir>false</SupportSubDir>"
        "</IndexDocument><ErrorDocument><Key>404.html</Key><HttpStatus>200</HttpStatus></ErrorDocument>"
        "</WebsiteConfiguration>"
    )
    bucket.put_bucket_website(xml_doc)
    assert get("docs/").content == b"root index"
    assert (get("gone").status_code, get("gone").content) == (200, b"not here")
    bucket.put_bucket_website(
        "<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix><SupportSubDir>true</SupportSubDir>"
        "<Type>2</Type></IndexDocument></WebsiteConfiguration>"
    )
    assert get("guide", allow_redirects=False).content == b"guide index"

    bucket.delete_bucket_website()
    with pytest.raises(oss2.exceptions.NoSuchWebsite):
        bucket.get_bucket_website()
    assert b"<ListBucketResult>" in get("").content


def test_website_on_a_private_bucket_still_needs_read_access(bucket: oss2.Bucket) -> None:
    bucket.put_object("index.html", b"secret index")
    bucket.put_bucket_website(BucketWebsite("index.html", "index.html"))
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    assert requests.get(url(bucket), timeout=10).status_code == 403
    assert requests.get(url(bucket, "dir/"), timeout=10).status_code == 403
    bucket.put_object_acl("index.html", oss2.OBJECT_ACL_PUBLIC_READ)
    assert requests.get(url(bucket), timeout=10).content == b"secret index"


def test_bad_website_configurations_change_nothing(bucket: oss2.Bucket) -> None:
    bucket.put_bucket_website(BucketWebsite("index.html", "error.html"))
    for body, code in [
        (b"<WebsiteConfiguration><IndexDocument>", "MalformedXML"),
        (b"<WebsiteConfiguration></WebsiteConfiguration>", "MalformedXML"),
        (
            b"<WebsiteConfiguration><IndexDocument><Suffix>a/b.html</Suffix></IndexDocument></WebsiteConfiguration>",
            "InvalidArgument",
        ),
        (
            b"<WebsiteConfiguration><IndexDocument><Suffix>i.html</Suffix></IndexDocument><ErrorDocument>"
            b"<Key>e.html</Key><HttpStatus>test</HttpStatus></ErrorDocument></WebsiteConfiguration>",
            "InvalidArgument",
        ),
        (
            b"<WebsiteConfiguration><IndexDocument><Suffix>i.html</Suffix><Type>7</Type></IndexDocument>"
            b"</WebsiteConfiguration>",
            "InvalidArgument",
        ),
    ]:
        resp = put_raw(bucket, "website", body)
        assert (resp.status_code, error_code(resp)) == (400, code), body
    got = bucket.get_bucket_website()
    assert (got.index_file, got.error_file) == ("index.html", "error.html")


# ------------------------------------------------------------------------------------------------ logging
def operation_of(line: str) -> str:
    """The Operation field: after LoggingFlag ("true") and the requester."""
    found = re.search(r'"true" "[^"]*" "(\w+)"', line)
    return found.group(1) if found else ""


def _log_objects(target: oss2.Bucket, prefix: str, wanted: int, timeout: float = 10) -> list[str]:
    """Lines of the log objects under `prefix`, once there are at least `wanted` of them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [
            line
            for o in oss2.ObjectIterator(target, prefix=prefix)
            for line in target.get_object(o.key).read().decode().splitlines()
        ]
        if len(lines) >= wanted or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_access_logs_are_written_into_the_target_bucket(
    features_server: ServerProcess, bucket: oss2.Bucket, v2: oss.Client
) -> None:
    target = oss2.Bucket(AUTH, features_server.endpoint, new_bucket_name("logs"), region=REGION)
    target.create_bucket()
    try:
        v2.put_bucket_logging(
            oss.PutBucketLoggingRequest(
                bucket=bucket.bucket_name,
                bucket_logging_status=oss.BucketLoggingStatus(
                    logging_enabled=oss.LoggingEnabled(
                        target_bucket=target.bucket_name, target_prefix="access/"
                    )
                ),
            )
        )
        got = bucket.get_bucket_logging()
        assert (got.target_bucket, got.target_prefix) == (target.bucket_name, "access/")
        info = v2.get_bucket_info(oss.GetBucketInfoRequest(bucket=bucket.bucket_name)).bucket_info
        assert info.bucket_policy.log_bucket == target.bucket_name
        bucket.put_object("a.txt", b"12345")
        bucket.get_object("a.txt").read()
        assert (
            requests.get(
                url(bucket, "missing"), headers={"User-Agent": "browser/1.0"}, timeout=10
            ).status_code
            == 404
        )
        lines = _log_objects(target, "access/", 5)
        assert len(lines) == 5, lines  # GetBucketLogging, GetBucketInfo, PutObject, GetObject, a 404
        names = [o.key for o in oss2.ObjectIterator(target, prefix="access/")]
        assert all(n.startswith(f"access/{bucket.bucket_name}20") for n in names), names
        by_op = {operation_of(line): line for line in lines}
        assert set(by_op) == {"GetBucketLogging", "GetBucketInfo", "PutObject", "GetObject"}, lines
        put, get = by_op["PutObject"], by_op["GetObject"]
        assert f'"PUT /{bucket.bucket_name}/a.txt HTTP/1.1" 200 0 ' in put
        assert f'"{bucket.bucket_name}" "a.txt"' in put
        get_lines = [line for line in lines if '"GetObject"' in line]
        ok, missing = sorted(get_lines, key=lambda line: "NoSuchKey" in line)
        assert f'"GET /{bucket.bucket_name}/a.txt HTTP/1.1" 200 5 ' in ok
        assert f'"{ACCESS_KEY_ID}"' in ok and f'"acs:oss:{REGION}:' in ok
        assert '"NoSuchKey"' in missing and '"browser/1.0"' in missing and " 404 " in missing
        assert get in (ok, missing)

        bucket.delete_bucket_logging()
        assert bucket.get_bucket_logging().target_bucket == ""
        bucket.get_object("a.txt").read()
        time.sleep(1.0)
        # The DeleteBucketLogging call itself is logged; nothing after it.
        assert len(_log_objects(target, "access/", 7, timeout=0)) == 6
    finally:
        bucket.delete_bucket_logging()
        empty_and_delete(target)


def test_bad_logging_configurations_change_nothing(bucket: oss2.Bucket) -> None:
    bucket.put_bucket_logging(BucketLogging(bucket.bucket_name, "self/"))
    for body, code in [
        (b"<BucketLoggingStatus><LoggingEnabled>", "MalformedXML"),
        (
            b"<BucketLoggingStatus><LoggingEnabled><TargetBucket>no-such-bucket-here</TargetBucket>"
            b"</LoggingEnabled></BucketLoggingStatus>",
            "InvalidTargetBucketForLogging",
        ),
        (
            b"<BucketLoggingStatus><LoggingEnabled><TargetBucket>Bad_Name</TargetBucket>"
            b"</LoggingEnabled></BucketLoggingStatus>",
            "InvalidTargetBucketForLogging",
        ),
    ]:
        resp = put_raw(bucket, "logging", body)
        assert (resp.status_code, error_code(resp)) == (400, code), body
    assert bucket.get_bucket_logging().target_prefix == "self/"
    bucket.delete_bucket_logging()


# ------------------------------------------------------------------------------------------------ CNAME
def test_a_bound_domain_is_served_as_its_bucket(
    features_server: ServerProcess, bucket: oss2.Bucket, v2: oss.Client
) -> None:
    domain = f"{bucket.bucket_name}.static.example.com"
    token = bucket.create_bucket_cname_token(domain)
    assert (token.cname, len(token.token)) == (domain, 32)
    assert bucket.get_bucket_cname_token(domain).token == token.token
    v2.put_cname(
        oss.PutCnameRequest(
            bucket=bucket.bucket_name,
            bucket_cname_configuration=oss.BucketCnameConfiguration(cname=oss.Cname(domain=domain)),
        )
    )
    listed = v2.list_cname(oss.ListCnameRequest(bucket=bucket.bucket_name))
    assert [c.domain for c in listed.cnames] == [domain]
    assert [c.status for c in bucket.list_bucket_cname().cname] == ["Enabled"]

    bucket.put_object("hello.txt", b"via cname")
    host = {"Host": f"{domain.upper()}:{features_server.port}"}  # names are case-insensitive
    for _ in range(4):  # both workers
        resp = requests.get(f"{features_server.endpoint}/hello.txt", headers=host, timeout=10)
        assert (resp.status_code, resp.content) == (200, b"via cname")
    # A signed request through the domain (V1 over /bucket/key, as oss2 signs with is_cname).
    _, headers = signed_headers("GET", features_server.endpoint, bucket.bucket_name, "hello.txt")
    headers["Host"] = f"{domain}:{features_server.port}"
    bucket.put_bucket_acl(oss2.BUCKET_ACL_PRIVATE)
    assert requests.get(f"{features_server.endpoint}/hello.txt", headers=host, timeout=10).status_code == 403
    signed = requests.get(f"{features_server.endpoint}/hello.txt", headers=headers, timeout=10)
    assert signed.content == b"via cname"

    other = oss2.Bucket(AUTH, features_server.endpoint, new_bucket_name("other"), region=REGION)
    other.create_bucket()
    try:
        with pytest.raises(oss2.exceptions.ServerError) as err:
            other.put_bucket_cname(oss2.models.PutBucketCnameRequest(domain))
        assert (err.value.status, err.value.code) == (409, "CnameAlreadyExists")
        for bad in ["not a domain", "127.0.0.1", "single"]:
            with pytest.raises(oss2.exceptions.ServerError) as err:
                other.put_bucket_cname(oss2.models.PutBucketCnameRequest(bad))
            assert err.value.code == "InvalidArgument"
        with pytest.raises(oss2.exceptions.ServerError) as err:
            other.delete_bucket_cname(domain)
        assert (err.value.status, err.value.code) == (404, "NoSuchCname")
    finally:
        other.delete_bucket()

    bucket.delete_bucket_cname(domain)
    assert bucket.list_bucket_cname().cname == []
    gone = requests.get(f"{features_server.endpoint}/hello.txt", headers=host, timeout=10)
    assert error_code(gone) == "InvalidBucketName"  # path style again: "hello.txt" names no bucket


def test_malformed_cname_requests_change_nothing(bucket: oss2.Bucket) -> None:
    domain = f"{bucket.bucket_name}.keep.example.com"
    bucket.put_bucket_cname(oss2.models.PutBucketCnameRequest(domain))
    for comp, body in [
        ("add", b"<BucketCnameConfiguration><Cname>"),
        ("add", b"<BucketCnameConfiguration></BucketCnameConfiguration>"),
        ("delete", b"<Other/>"),
    ]:
        params = {"cname": "", "comp": comp}
        target, headers = signed_headers("POST", bucket.endpoint, bucket.bucket_name, params=params)
        resp = requests.post(target, params=params, headers=headers, data=body, timeout=10)
        assert (resp.status_code, error_code(resp)) == (400, "MalformedXML"), body
    params = {"cname": "", "comp": "bogus"}
    target, headers = signed_headers("POST", bucket.endpoint, bucket.bucket_name, params=params)
    resp = requests.post(target, params=params, headers=headers, data=b"<x/>", timeout=10)
    assert (resp.status_code, error_code(resp)) == (400, "InvalidArgument")
    assert [c.domain for c in bucket.list_bucket_cname().cname] == [domain]
    bucket.delete_bucket_cname(domain)
