"""oss2's own integration suite (from its sdist) against a real ossbox process, under the loopback guard.

Every test the suite runs must pass, or be listed with its reason in oss2_known_failures.txt; a listed
test that passes fails this check too, so the list stays true. See README.md in this directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.oss2_suite import junit_outcomes, load_deselected, run_oss2_suite
from tests.server import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REGION, ServerProcess, free_port

HERE = Path(__file__).resolve().parent
KNOWN_FAILURES = HERE / "oss2_known_failures.txt"
# Tests the suite files hold once the deselected ones are left out (README.md, "Collected"): 149 in the
# first ten, 52 in test_bucket, 7 in test_website, 23 in the three versioning and lifecycle files, 6 in
# test_server_side_encryotion, 44 in the two select files.
EXPECTED_TESTS = 281
# A fixed seed keeps the suite's random choices (e.g. which CryptoBucket) the same from run to run.
SEED = 42


@pytest.fixture(scope="module")
def suite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("oss2-suite") / "data", free_port()).start()
    yield proc
    proc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("auth_version", ["v1", "v4"])
def test_oss2_integration_suite(suite_server: ServerProcess, auth_version: str, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    proc = run_oss2_suite(
        suite_server.endpoint,
        ACCESS_KEY_ID,
        ACCESS_KEY_SECRET,
        REGION,
        auth_version,
        tmp_path / "work",
        junit,
        seed=SEED,
        capture_output=True,
        run_timeout=900,
    )
    assert junit.is_file(), f"the suite did not run:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    outcomes = junit_outcomes(junit)
    assert len(outcomes) == EXPECTED_TESTS, f"ran {len(outcomes)} tests, expected {EXPECTED_TESTS}"

    known = dict(load_deselected(KNOWN_FAILURES))
    failing = {n for n, o in outcomes.items() if o in ("failed", "error")}
    unexpected = sorted(failing - set(known))
    fixed = sorted(
        n for n in set(known) - failing if outcomes.get(n) == "passed" and not known[n].startswith("timing:")
    )
    skipped = sorted(n for n, o in outcomes.items() if o == "skipped")
    report = "\n".join(line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR")))
    assert not unexpected, f"failing and not in {KNOWN_FAILURES.name}: {unexpected}\n{report}"
    assert not fixed, f"listed in {KNOWN_FAILURES.name} but passing now (take them off): {fixed}"
    assert not skipped, f"skipped: {skipped}"
    assert not [n for n in known if n not in outcomes], "stale entries in the known-failures list"
