"""Running the command line as a user would, against the code under test (not whatever the venv installed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["REPO_ROOT", "bound_json", "code_under_test_env", "serve_banner"]

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


def bound_json(*args: str) -> dict[str, Any]:
    """Return what ``python -m jitbox bound ARGS --json`` prints (it must exit 0)."""
    out = subprocess.run(
        [sys.executable, "-m", "jitbox", "bound", *args, "--json"],
        capture_output=True,
        text=True,
        env=code_under_test_env(),
        check=True,
    )
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


@contextmanager
def serve_banner(*args: str, config: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run ``python -m jitbox serve ARGS --port 0 --entra-port 0 --config-out CONFIG`` until its banner ends (the
    "Ctrl-C" line); yield the banner's text and the config it wrote, then stop the server."""
    command = [sys.executable, "-m", "jitbox", "serve", *args, "--port", "0", "--entra-port", "0"]
    proc = subprocess.Popen(
        [*command, "--config-out", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO_ROOT,
        env=code_under_test_env(),
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if "Ctrl-C" in line or not line:
                break
        yield "".join(lines), json.loads(config.read_text(encoding="utf-8"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
