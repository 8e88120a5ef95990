"""Issue 12 done-when: ``examples/ci/`` — a user's CI project with property-based timing tests against the sandbox
and an integration test — passes in our suite, with a ``@given`` test that uses the fixture and suppresses no
health check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "examples" / "ci"


def test_the_example_ci_project_passes_with_given_on_the_sandbox_fixture_and_no_suppressed_health_check() -> None:
    sources = {p.name: p.read_text(encoding="utf-8") for p in CI.glob("*.py")}
    assert not any("suppress_health_check" in text or "HealthCheck" in text for text in sources.values())
    props = sources["test_timing_properties.py"]
    assert "@given(" in props and "jitbox_sandbox" in props
    assert not any("httpx2" in text for text in sources.values())  # runs in a user's venv with what they have
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPOTHESIS", "PYTEST_XDIST"))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-v",
            "-v",
        ],
        cwd=CI,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout, result.stdout[-2000:]
    assert "test_access_arrives_within_the_fast_path_and_leaves_within_one_cycle PASSED" in result.stdout
    assert "FailedHealthCheck" not in result.stdout
