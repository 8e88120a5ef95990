"""Running the command line as a user would, against the code under test (not whatever the venv installed)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REPO_ROOT", "code_under_test_env"]

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout these tests belong to."""


def code_under_test_env() -> dict[str, str]:
    """Return an environment whose ``python -m jitbox`` imports this checkout's packages first."""
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(REPO_ROOT) if not path else f"{REPO_ROOT}{os.pathsep}{path}",
    }
