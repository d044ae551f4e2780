#!/usr/bin/env python3
"""Run oss2 2.19.1's own integration tests against an OSS-compatible server on loopback.

The suite ships in oss2's sdist (``tests/``), not in its wheel. This module downloads the sdist
once (``pip download --no-binary :all: --no-deps oss2==2.19.1``) into ``.cache/oss2-sdist``,
checks its SHA-256, extracts ``tests/`` into a work directory and runs pytest on seventeen of its
files (SUITE_FILES) with the environment the suite reads, under the loopback guard
(``loopback_guard/sitecustomize.py`` on PYTHONPATH), so no test can reach Alibaba Cloud or anything
else off this machine.

    python tests/conformance/oss2_suite.py --endpoint http://127.0.0.1:PORT --ak AK --sk SK --auth-version v4
    python tests/conformance/oss2_suite.py --endpoint http://127.0.0.1:PORT --ak AK --sk SK --collect-only
    python tests/conformance/oss2_suite.py ... -- -k test_append_object -x --show-capture=all

See README.md next to this file for what the suite expects from a server.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import ipaddress
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

try:  # run as part of the test suite
    from tests.conformance.select_samples import write_select_samples
except ImportError:  # run as a script from this directory
    from select_samples import write_select_samples  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
GUARD_DIR = HERE / "loopback_guard"
DESELECT_FILE = HERE / "oss2_deselected.txt"
CACHE_DIR = REPO_ROOT / ".cache" / "oss2-sdist"
DEFAULT_WORKDIR = REPO_ROOT / ".cache" / "oss2-suite"

OSS2_VERSION = "2.19.1"
SDIST_NAME = f"oss2-{OSS2_VERSION}.tar.gz"
# sha256 of oss2-2.19.1.tar.gz as published on PyPI.
SDIST_SHA256 = "a8ab9ee7eb99e88a7e1382edc6ea641d219d585a7e074e3776e9dec9473e59c1"

SUITE_FILES: tuple[str, ...] = (
    "test_object",
    "test_multipart",
    "test_list_objects_v2",
    "test_iterator",
    "test_upload",
    "test_download",
    "test_chinese",
    "test_sign",
    "test_exception_ec",
    "test_put_object_chunked",
    "test_bucket",
    "test_website",
    "test_bucket_versioning",
    "test_object_versioning",
    "test_lifecycle_versioning",
    "test_server_side_encryotion",  # sic: oss2's own file name
    "test_select_csv_object",
    "test_select_json_object",
)

AUTH_VERSIONS = ("v1", "v2", "v4")
DEFAULT_BUCKET_PREFIX = "oss2-conf-"
# Longest suffix the suite appends to OSS_TEST_BUCKET: 6 + 4 random letters, then
# "-test-list-with-encoding-type-none" (test_list_objects_v2.py:82). Bucket names are at most 63.
_LONGEST_BUCKET_SUFFIX = 6 + 4 + len("-test-list-with-encoding-type-none")
MAX_BUCKET_PREFIX = 63 - _LONGEST_BUCKET_SUFFIX
_BUCKET_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

_WORKDIR_MARKER = ".oss2-suite-workdir"

# Variables that must never leak from the caller's environment into the suite: real cloud
# credentials, other OSS test settings, proxies (a proxy would be a non-loopback hop).
_SCRUB_PREFIXES = ("OSS_", "ALIBABA_CLOUD_", "ALICLOUD_", "ALIYUN_", "OSS2_HARNESS_")
_SCRUB_NAMES = {
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "LOOPBACK_GUARD_LOG",
    "TRAVIS",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
}

# tests/example.jpg is read by three tests in test_object.py (lines 483, 967, 1466) but is not in
# the sdist (MANIFEST.in only ships *.py). This stand-in is a 16x16 baseline JFIF JPEG: CPython's
# own test image Lib/test/imghdrdata/python.jpg (PSF licence), 543 bytes.
_EXAMPLE_JPG_B64 = """
/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDREN
Dg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ
EBAQEBAQEBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAA
AAAAAAAAAQIDBAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQME
BQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXm
m3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5
SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27f
lGAUgmITjbhSmCg3BYlyeWDkMolvw4KOp1KM6iCNvngZHwetf//Z
"""
_EXAMPLE_JPG_SHA256 = "0171178ae901e108f56305aff7e36268a690bc49933a24b1aaa587fda00f4d3b"

# test_upload.py and test_download.py do `from mock import patch`; the `mock` backport is not a
# dependency of ossbox. When it is not installed the harness puts this shim on PYTHONPATH.
_MOCK_SHIM = '''\
"""Stand-in for the `mock` backport, written by tests/conformance/oss2_suite.py."""
from unittest.mock import *  # noqa: F401,F403
from unittest.mock import patch, Mock, MagicMock, call, ANY, sentinel, DEFAULT  # noqa: F401
'''

# A pytest plugin loaded with -p. It refuses to run without the loopback guard, seeds `random`
# per test (reproducible choices and names for a given --seed), optionally hands the tests the
# RSA-backed CryptoBucket where they would pick the KMS-backed one at random, and writes a
# "# <nodeid>" line into the guard log before each test so refusals can be attributed.
_PLUGIN = '''\
"""pytest plugin for oss2's integration suite, written by tests/conformance/oss2_suite.py."""
import os
import random
import sys

import pytest

_SEED = os.environ.get("OSS2_HARNESS_SEED") or None
_KMS_SUBSTITUTE = os.environ.get("OSS2_HARNESS_KMS_SUBSTITUTE") == "1"
_GUARD_LOG = os.environ.get("LOOPBACK_GUARD_LOG") or None


def _guard_active():
    mod = sys.modules.get("sitecustomize")
    return bool(getattr(mod, "GUARD_ACTIVE", False))


def pytest_configure(config):
    if not _guard_active():
        pytest.exit("loopback guard (sitecustomize) not active: refusing to run oss2's suite", returncode=4)


def pytest_report_header(config):
    return ["oss2 harness: loopback guard active={0}, seed={1}, kms->rsa substitute={2}".format(
        _guard_active(), _SEED, _KMS_SUBSTITUTE)]


def _patch_fixture():
    common = sys.modules.get("tests.common")
    case = getattr(common, "OssTestCase", None)
    if case is None or getattr(case.setUp, "_oss2_harness", False):
        return
    original = case.setUp

    def setUp(self):
        original(self)
        # AliKMSProvider would call kms.<region>.aliyuncs.com to wrap the data key. The RSA
        # provider wraps it locally; the object requests the server sees are the same.
        self.kms_crypto_bucket = self.rsa_crypto_bucket

    setUp._oss2_harness = True
    case.setUp = setUp


def pytest_collection_finish(session):
    if _KMS_SUBSTITUTE:
        _patch_fixture()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if _SEED is not None:
        random.seed("{0}:{1}".format(_SEED, item.nodeid))
    if _GUARD_LOG:
        try:
            with open(_GUARD_LOG, "a", encoding="utf-8") as fh:
                fh.write("# {0}\\n".format(item.nodeid))
        except OSError:
            pass
'''

_PYTEST_INI = f"""\
# Written by tests/conformance/oss2_suite.py: keeps pytest from picking up the ossbox repo's own
# configuration (pyproject.toml, tests/conftest.py) while it runs oss2's suite.
[pytest]
python_files = test_*.py
junit_family = xunit2
junit_suite_name = oss2-{OSS2_VERSION}
"""


class HarnessError(RuntimeError):
    """The harness cannot run the suite (bad arguments, download or extraction failure)."""


# ---- arguments ---------------------------------------------------------------------------


def check_endpoint(endpoint: str) -> str:
    """Return ``endpoint`` if it is http(s) on a loopback address; raise HarnessError otherwise."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HarnessError(f"endpoint must look like http://127.0.0.1:PORT, got {endpoint!r}")
    host = parts.hostname
    if host != "localhost":
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise HarnessError(
                f"endpoint host must be a loopback address or localhost, got {host!r}"
            ) from None
        mapped = getattr(ip, "ipv4_mapped", None)
        if not (ip.is_loopback or (mapped is not None and mapped.is_loopback)):
            raise HarnessError(f"endpoint host must be a loopback address, got {host!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise HarnessError(f"endpoint must not carry a path or query, got {endpoint!r}")
    return endpoint.rstrip("/")


def check_bucket_prefix(prefix: str) -> str:
    if not _BUCKET_PREFIX_RE.match(prefix) or len(prefix) > MAX_BUCKET_PREFIX:
        raise HarnessError(
            f"bucket prefix must be lower-case letters, digits and '-', at most {MAX_BUCKET_PREFIX} "
            f"characters (the suite appends up to {_LONGEST_BUCKET_SUFFIX}), got {prefix!r}"
        )
    return prefix


def check_server(endpoint: str, timeout: float = 3.0) -> None:
    """Raise HarnessError unless something accepts TCP connections at ``endpoint``."""
    import socket

    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        raise HarnessError(f"nothing accepts connections at {endpoint}: {exc}") from None


# ---- sdist -------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ensure_sdist(cache_dir: Path = CACHE_DIR, python: str | None = None) -> Path:
    """Return the path of the oss2 sdist, downloading it with pip on first use."""
    cache_dir = Path(cache_dir)
    target = cache_dir / SDIST_NAME
    if target.is_file():
        digest = _sha256(target)
        if digest == SDIST_SHA256:
            return target
        raise HarnessError(f"{target} has sha256 {digest}, expected {SDIST_SHA256}; delete it to re-download")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as tmp:
        cmd = [
            python or sys.executable,
            "-m",
            "pip",
            "download",
            "--no-binary",
            ":all:",
            "--no-deps",
            "--disable-pip-version-check",
            "-d",
            tmp,
            f"oss2=={OSS2_VERSION}",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        downloaded = Path(tmp) / SDIST_NAME
        if proc.returncode != 0 or not downloaded.is_file():
            raise HarnessError(f"pip download failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        digest = _sha256(downloaded)
        if digest != SDIST_SHA256:
            raise HarnessError(f"downloaded {SDIST_NAME} has sha256 {digest}, expected {SDIST_SHA256}")
        os.replace(downloaded, target)
    return target


def _extract_tests(sdist: Path, dest: Path) -> Path:
    """Extract ``oss2-<v>/tests/*`` from the sdist into ``dest/tests``; return that directory."""
    top = f"oss2-{OSS2_VERSION}/tests/"
    out = dest / "tests"
    with tarfile.open(sdist, "r:gz") as tar:
        members = []
        for m in tar.getmembers():
            if not m.name.startswith(top) or not (m.isfile() or m.isdir()):
                continue
            rel = m.name[len(top) :]
            if not rel or rel.startswith("/") or ".." in Path(rel).parts:
                continue
            m.name = rel
            members.append(m)
        if not members:
            raise HarnessError(f"{sdist} has no {top} directory")
        out.mkdir(parents=True)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(out, members=members, filter="data")
        else:  # Python without extraction filters: members were vetted above
            tar.extractall(out, members=members)
    return out


def _write_example_jpg(tests_dir: Path) -> None:
    data = base64.b64decode("".join(_EXAMPLE_JPG_B64.split()))
    if hashlib.sha256(data).hexdigest() != _EXAMPLE_JPG_SHA256:
        raise HarnessError("embedded example.jpg is corrupt")
    target = tests_dir / "example.jpg"
    if not target.exists():
        target.write_bytes(data)


def prepare_workdir(workdir: Path, sdist: Path, *, need_mock_shim: bool) -> dict[str, Path]:
    """(Re)create ``workdir`` with a pristine copy of the suite and the harness files."""
    workdir = Path(workdir).resolve()
    if workdir.exists():
        if not (workdir / _WORKDIR_MARKER).is_file() and any(workdir.iterdir()):
            raise HarnessError(
                f"{workdir} exists, is not empty and was not made by this harness: refusing to clear it"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / _WORKDIR_MARKER).write_text("made by tests/conformance/oss2_suite.py; cleared on every run\n")
    tests_dir = _extract_tests(sdist, workdir)
    _write_example_jpg(tests_dir)
    write_select_samples(tests_dir)
    harness = workdir / "_harness"
    harness.mkdir()
    (harness / "oss2_harness_plugin.py").write_text(_PLUGIN, encoding="utf-8")
    if need_mock_shim:
        (harness / "mock.py").write_text(_MOCK_SHIM, encoding="utf-8")
    (workdir / "pytest.ini").write_text(_PYTEST_INI, encoding="utf-8")
    paths = {
        "workdir": workdir,
        "tests": tests_dir,
        "harness": harness,
        "home": workdir / "home",
        "tmp": workdir / "tmp",
        "guard_log": workdir / "guard-refusals.log",
    }
    paths["home"].mkdir()
    paths["tmp"].mkdir()
    return paths


# ---- deselection -------------------------------------------------------------------------


def load_deselected(path: Path = DESELECT_FILE) -> list[tuple[str, str]]:
    """Read ``nodeid # reason`` lines; return [(nodeid, reason)]."""
    entries = []
    for lineno, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        nodeid, sep, reason = line.partition(" # ")
        nodeid = nodeid.strip()
        if not sep or not reason.strip():
            raise HarnessError(f"{path}:{lineno}: expected 'nodeid # reason', got {raw!r}")
        if not nodeid.startswith("tests/test_") or "::" not in nodeid:
            raise HarnessError(f"{path}:{lineno}: not a nodeid of the suite: {nodeid!r}")
        entries.append((nodeid, reason.strip()))
    return entries


def _check_nodeids_exist(tests_dir: Path, nodeids: Iterable[str]) -> list[str]:
    """Return the nodeids whose file/class/method cannot be found (stale entries)."""
    import ast

    stale = []
    cache: dict[str, ast.Module | None] = {}
    for nodeid in nodeids:
        file_part, *names = nodeid.split("::")
        path = tests_dir.parent / file_part
        if file_part not in cache:
            cache[file_part] = ast.parse(path.read_text(encoding="utf-8")) if path.is_file() else None
        tree = cache[file_part]
        scope: list[ast.stmt] | None = tree.body if tree is not None else None
        for name in names:
            found = None
            for node in scope or []:
                if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name == name:
                    found = node
            scope = found.body if isinstance(found, ast.ClassDef) else ([] if found else None)
            if found is None:
                break
        if scope is None:
            stale.append(nodeid)
    return stale


# ---- running -----------------------------------------------------------------------------


def _child_env(
    paths: dict[str, Path],
    *,
    endpoint: str,
    access_key_id: str,
    access_key_secret: str,
    region: str,
    auth_version: str,
    bucket_prefix: str,
    seed: str | None,
    kms_substitute: bool,
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUB_PREFIXES) and k not in _SCRUB_NAMES and not k.lower().endswith("_proxy")
    }
    env.update(
        {
            # tests/common.py:17-37
            "OSS_TEST_ENDPOINT": endpoint,
            "OSS_TEST_ACCESS_KEY_ID": access_key_id,
            "OSS_TEST_ACCESS_KEY_SECRET": access_key_secret,
            "OSS_TEST_REGION": region,
            "OSS_TEST_AUTH_VERSION": auth_version,
            "OSS_TEST_BUCKET": bucket_prefix,
            # Read by common.py but used by none of the suite files: left unset on purpose
            # (OSS_TEST_CNAME, OSS_TEST_UID, OSS_TEST_STS_*, OSS_TEST_PAYER_*, OSS_TEST_RAM_*,
            # OSS_TEST_AUTH_SERVER_HOST). TRAVIS (wait_meta_sync: 5 s instead of 1 s) is scrubbed.
            "PYTHONPATH": os.pathsep.join([str(GUARD_DIR), str(paths["harness"])]),
            "LOOPBACK_GUARD_LOG": str(paths["guard_log"]),
            "OSS2_HARNESS_KMS_SUBSTITUTE": "1" if kms_substitute else "0",
            # oss2's resumable upload/download records go to ~/.py-oss-*; keep them in the workdir.
            "HOME": str(paths["home"]),
            "TMPDIR": str(paths["tmp"]),
            "NO_PROXY": "*",
            "no_proxy": "*",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONIOENCODING": "utf-8",
        }
    )
    if seed is not None:
        env["OSS2_HARNESS_SEED"] = str(seed)
    return env


def _preflight(python: str, env: dict[str, str], cwd: Path) -> bool:
    """Check the suite's imports under the guard; return True if the mock shim is needed."""
    probe = textwrap.dedent(f"""
        import sys, sitecustomize
        assert getattr(sitecustomize, "GUARD_ACTIVE", False), "loopback guard not loaded"
        import oss2, requests, Crypto.PublicKey.RSA, pytest, pytest_timeout
        if oss2.__version__ != {OSS2_VERSION!r}:
            sys.exit("installed oss2 is " + oss2.__version__ + ", the suite is {OSS2_VERSION}")
        try:
            import mock
        except ImportError:
            print("NEED_MOCK_SHIM")
    """)
    env = dict(env)
    env["PYTHONPATH"] = str(GUARD_DIR)
    proc = subprocess.run([python, "-c", probe], env=env, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise HarnessError(f"preflight failed with {python}:\n{proc.stdout}{proc.stderr}")
    return "NEED_MOCK_SHIM" in proc.stdout


def run_oss2_suite(
    endpoint: str,
    access_key_id: str,
    access_key_secret: str,
    region: str,
    auth_version: str,
    workdir: Path,
    junit_xml: Path,
    *,
    bucket_prefix: str = DEFAULT_BUCKET_PREFIX,
    timeout: float = 300,
    files: Sequence[str] = SUITE_FILES,
    deselect_file: Path | None = DESELECT_FILE,
    extra_pytest_args: Sequence[str] = (),
    python: str | None = None,
    kms_substitute: bool = True,
    seed: str | int | None = None,
    collect_only: bool = False,
    capture_output: bool = False,
    run_timeout: float | None = None,
    cache_dir: Path = CACHE_DIR,
    require_server: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run oss2's integration tests (``files``, default the fifteen of SUITE_FILES) against ``endpoint``.

    ``workdir`` is cleared and rebuilt on every call (it must be empty, absent, or made by an
    earlier call). pytest runs with cwd=workdir (the suite opens ``tests/example.jpg`` relative to
    it) and writes JUnit XML to ``junit_xml``. ``seed`` makes the suite's random choices
    reproducible (a random seed is picked and reported when None). ``kms_substitute`` gives
    tests that pick the KMS-backed CryptoBucket the RSA-backed one. Returns pytest's
    CompletedProcess (stdout/stderr captured only if ``capture_output``). Unless
    ``require_server`` is false (or ``collect_only``), it first checks that something listens
    at ``endpoint`` and raises HarnessError at once if not.
    """
    endpoint = check_endpoint(endpoint)
    if auth_version not in AUTH_VERSIONS:
        raise HarnessError(f"auth_version must be one of {AUTH_VERSIONS}, got {auth_version!r}")
    bucket_prefix = check_bucket_prefix(bucket_prefix)
    if not access_key_id or not access_key_secret:
        raise HarnessError("access key id and secret are required")
    unknown = [f for f in files if f not in SUITE_FILES]
    if unknown:
        raise HarnessError(f"not among the suite files this harness runs: {unknown}")
    python = python or sys.executable
    if seed is None:
        seed = random.SystemRandom().randrange(1, 10**6)

    sdist = ensure_sdist(cache_dir, python=python)
    if require_server and not collect_only:
        check_server(endpoint)
    workdir = Path(workdir).resolve()
    junit_xml = Path(junit_xml).resolve()

    # Preflight needs only the guard; run it from a scratch cwd before the workdir is rebuilt.
    scratch_env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}
    with tempfile.TemporaryDirectory() as scratch:
        need_mock_shim = _preflight(python, scratch_env, Path(scratch))

    paths = prepare_workdir(workdir, sdist, need_mock_shim=need_mock_shim)
    env = _child_env(
        paths,
        endpoint=endpoint,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
        region=region,
        auth_version=auth_version,
        bucket_prefix=bucket_prefix,
        seed=str(seed),
        kms_substitute=kms_substitute,
    )

    deselected = load_deselected(deselect_file) if deselect_file else []
    stale = _check_nodeids_exist(paths["tests"], (n for n, _ in deselected))
    if stale:
        raise HarnessError(f"{deselect_file} lists tests that do not exist in oss2 {OSS2_VERSION}: {stale}")

    junit_xml.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        python,
        "-m",
        "pytest",
        "-c",
        str(workdir / "pytest.ini"),
        "--rootdir",
        str(workdir),
        "-p",
        "no:cacheprovider",
        "-p",
        "oss2_harness_plugin",
        f"--timeout={timeout:g}",
        f"--junitxml={junit_xml}",
        "-rfE",
        "--tb=native",
        "--show-capture=no",
    ]
    if collect_only:
        cmd += ["--collect-only", "-q"]
    for nodeid, _reason in deselected:
        cmd += ["--deselect", nodeid]
    cmd += list(extra_pytest_args)
    cmd += [f"tests/{name}.py" for name in files]
    return subprocess.run(
        cmd, cwd=workdir, env=env, capture_output=capture_output, text=True, timeout=run_timeout
    )


# ---- reports -----------------------------------------------------------------------------


def summarize_junit(junit_xml: Path) -> dict[str, collections.Counter[str]]:
    """Per suite file: test counts by outcome.

    ``passed``/``failed``/``error``/``skipped`` partition the tests (a failure wins over an error;
    an error in setup or teardown counts as ``error`` unless the test body failed).
    ``teardown_error`` counts, among them, the tests whose teardown (bucket cleanup) failed.
    """
    tests: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        flags = tests[(case.get("classname", ""), case.get("name", ""))]
        for child in case:
            if child.tag == "failure":
                flags.add("failed")
            elif child.tag == "error":
                flags.add("error")
                if (child.get("message") or "").startswith("failed on teardown"):
                    flags.add("teardown_error")
            elif child.tag == "skipped":
                flags.add("skipped")
    per_file: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for (classname, _name), flags in tests.items():
        module = classname.rsplit(".", 1)[0] if "." in classname else classname
        counter = per_file[module.split(".")[-1]]
        outcome = next((o for o in ("failed", "error", "skipped") if o in flags), "passed")
        counter[outcome] += 1
        if "teardown_error" in flags:
            counter["teardown_error"] += 1
    return dict(per_file)


def junit_outcomes(junit_xml: Path) -> dict[str, str]:
    """Outcome per pytest nodeid (``tests/test_x.py::Class::test``): passed, failed, error or skipped.

    A failure in the test body wins over an error in setup or teardown, as in summarize_junit.
    """
    flags: dict[str, set[str]] = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        module, _, cls = case.get("classname", "").rpartition(".")
        nodeid = f"{module.replace('.', '/')}.py::{cls}::{case.get('name', '')}"
        found = flags.setdefault(nodeid, set())  # a test with no child element passed
        for child in case:
            if child.tag == "failure":
                found.add("failed")
            elif child.tag in ("error", "skipped"):
                found.add(child.tag)
    return {
        nodeid: next((o for o in ("failed", "error", "skipped") if o in found), "passed")
        for nodeid, found in flags.items()
    }


def summarize_collection(stdout: str) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for line in stdout.splitlines():
        m = re.match(r"^tests/(test_\w+)\.py::", line.strip())
        if m:
            counts[m.group(1)] += 1
    return counts


def summarize_guard_log(log: Path) -> dict[str, list[str]]:
    """Map each test nodeid to the refused destinations logged while it ran."""
    result: dict[str, list[str]] = collections.defaultdict(list)
    if not log.is_file():
        return {}
    current = "(outside any test)"
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("# "):
            current = line[2:]
            continue
        parts = line.split(" ", 2)
        if len(parts) == 3:
            result[current].append(f"{parts[1]} {parts[2]}")
    return dict(result)


def _main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], epilog="Arguments after -- go to pytest unchanged."
    )
    p.add_argument("--endpoint", required=True, help="http://127.0.0.1:PORT (loopback only)")
    p.add_argument("--ak", "--access-key-id", dest="ak", required=True)
    p.add_argument("--sk", "--access-key-secret", dest="sk", required=True)
    p.add_argument("--region", default="cn-hangzhou", help="OSS_TEST_REGION (default cn-hangzhou)")
    p.add_argument("--auth-version", choices=AUTH_VERSIONS, default="v4")
    p.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="cleared and rebuilt each run")
    p.add_argument("--junit-xml", type=Path, default=None, help="default: WORKDIR/../oss2-suite-junit.xml")
    p.add_argument("--bucket-prefix", default=DEFAULT_BUCKET_PREFIX, help="OSS_TEST_BUCKET")
    p.add_argument("--timeout", type=float, default=300, help="per-test timeout in seconds")
    p.add_argument(
        "--files",
        nargs="+",
        choices=SUITE_FILES,
        default=list(SUITE_FILES),
        metavar="FILE",
        help="subset of: " + " ".join(SUITE_FILES),
    )
    p.add_argument("--deselect-file", type=Path, default=DESELECT_FILE)
    p.add_argument("--python", default=None, help="interpreter for the suite (default: this one)")
    p.add_argument("--seed", default=None, help="seed for the suite's random choices (default: random)")
    p.add_argument(
        "--no-kms-substitute",
        dest="kms_substitute",
        action="store_false",
        help="leave the KMS-backed CryptoBucket in (those picks then fail at the guard)",
    )
    p.add_argument("--collect-only", action="store_true")
    p.add_argument(
        "--no-server-check",
        dest="require_server",
        action="store_false",
        help="run the suite even if nothing listens at the endpoint",
    )
    p.add_argument("pytest_args", nargs="*", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    junit = args.junit_xml or args.workdir.resolve().parent / "oss2-suite-junit.xml"
    seed = args.seed if args.seed is not None else str(random.SystemRandom().randrange(1, 10**6))
    started = time.monotonic()
    try:
        proc = run_oss2_suite(
            args.endpoint,
            args.ak,
            args.sk,
            args.region,
            args.auth_version,
            args.workdir,
            junit,
            bucket_prefix=args.bucket_prefix,
            timeout=args.timeout,
            files=args.files,
            deselect_file=args.deselect_file,
            extra_pytest_args=args.pytest_args,
            python=args.python,
            kms_substitute=args.kms_substitute,
            seed=seed,
            collect_only=args.collect_only,
            capture_output=args.collect_only,
            require_server=args.require_server,
        )
    except HarnessError as exc:
        print(f"oss2_suite: {exc}", file=sys.stderr)
        return 2
    elapsed = time.monotonic() - started

    if args.collect_only:
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
    print(f"\n== oss2 {OSS2_VERSION} suite: pytest exit {proc.returncode} in {elapsed:.1f}s, seed {seed}")
    if args.collect_only:
        counts = summarize_collection(proc.stdout)
        for name in args.files:
            print(f"  {name:28s} {counts.get(name, 0):4d} collected")
        print(f"  {'total':28s} {sum(counts.values()):4d}")
        return proc.returncode
    if junit.is_file():
        per_file = summarize_junit(junit)
        total: collections.Counter[str] = collections.Counter()
        cols = ("passed", "failed", "error", "skipped", "teardown_error")
        print(f"  {'file':26s}" + "".join(f"{c:>9s}" for c in ("pass", "fail", "error", "skip", "td-error")))
        for name in args.files:
            c = per_file.get(name, collections.Counter())
            total.update(c)
            print(f"  {name:26s}" + "".join(f"{c[k]:9d}" for k in cols))
        print(f"  {'total':26s}" + "".join(f"{total[k]:9d}" for k in cols))
        print(f"  junit: {junit}")
    refusals = summarize_guard_log(args.workdir.resolve() / "guard-refusals.log")
    if refusals:
        destinations = collections.Counter(d for ds in refusals.values() for d in ds)
        print(f"  loopback guard refused {sum(destinations.values())} attempts in {len(refusals)} tests:")
        for dest, n in destinations.most_common(10):
            print(f"    {n:5d}  {dest}")
        for nodeid, dests in sorted(refusals.items())[:20]:
            print(f"    {nodeid}: {len(dests)}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(_main())
