"""Shared test configuration: hypothesis profiles.

- ``default``: a bounded number of examples per property test, so ``make test`` stays fast;
- ``ci``: the same bounds, examples derived from each test's source (``derandomize``), so a failure on CI fails
  the same way here; the report header names the profile and a failing example prints its reproduction blob;
- ``fuzz``: the long run ``make fuzz`` loads (``HYPOTHESIS_PROFILE=fuzz``): thousands of examples per property.

Tests that pin their own ``max_examples`` keep it; the long ``@pytest.mark.slow`` properties take theirs from the
profile. ``HYPOTHESIS_PROFILE`` chooses; under ``CI=true`` the default is ``ci``.
"""

from __future__ import annotations

import gc
import os

import pytest
from hypothesis import settings

settings.register_profile("default", max_examples=25, deadline=None, print_blob=True)
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True, print_blob=True)
settings.register_profile("fuzz", max_examples=3000, deadline=None, print_blob=True)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI", "").lower() == "true" else "default")
settings.load_profile(PROFILE)


def pytest_report_header(config: pytest.Config) -> str:
    """Name the hypothesis profile in the report header, so a log says how to reproduce a run."""
    current = settings.get_current_profile_name()
    how = "derandomized: examples depend only on the test" if settings().derandomize else "random seed per run"
    return f"hypothesis profile: {current} (max_examples={settings().max_examples}, {how}; HYPOTHESIS_PROFILE=...)"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Collect garbage once and freeze the survivors before a worker reports that it has finished.

    After the last test, pytest-xdist's execnet gives a worker 5 s to wind down and then sends it SIGINT. Winding down
    includes pytest's unraisable-exception check, which runs ``gc.collect()`` over the whole heap; on a loaded 2-core
    machine that took longer than 5 s, and the KeyboardInterrupt surfaced as a warning inside hypothesis's
    ``gc_callback`` although every test had passed. This hook runs before the worker reports (xdist sends
    "workerfinished" after the session-finish hooks), so the expensive collection happens outside that window and
    the later ones have only the frozen generation's complement to walk.
    """
    gc.collect()
    gc.freeze()
