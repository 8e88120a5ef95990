"""Issue 12 done-when: the built wheel, installed in a fresh virtual environment, runs ``jitbox demo`` and
``jitbox run seed-blog`` from another directory (scenarios, examples and worlds ship inside the wheel).

It builds with pip (build isolation, setuptools from the package index or pip's cache) and installs with pip into a
new ``python -m venv``; pip's cache makes repeated runs take about 40 s. Marked ``wheel`` (part of ``make test``).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.wheel


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


def test_the_wheel_installs_in_a_fresh_venv_and_runs_the_demo_and_a_scenario_from_elsewhere(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)], ROOT)
    (wheel,) = dist.glob("jitbox-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (
        "sim/scenarios/seed-blog.toml",
        "jitbox/worlds/seed.toml",
        "jitbox/examples/settings-example.toml",
        "jitbox/examples/ci/test_timing_properties.py",
    ):
        assert shipped in names, shipped
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    jitbox = str(venv / "bin" / "jitbox")
    run = _run([jitbox, "run", "seed-blog"], elsewhere)
    assert "10h 40m 10s" in run.stdout  # the seed's worst case, from the packaged scenario
    scenarios = _run([jitbox, "scenarios"], elsewhere)
    assert "seed-blog" in scenarios.stdout and "incident-burst" in scenarios.stdout
    demo = _run([jitbox, "demo"], elsewhere)
    assert "sandbox and simulator agree: yes" in demo.stdout
    where = _run([str(python), "-c", "import jitbox, sim; print(jitbox.__file__, sim.__file__)"], elsewhere)
    assert str(ROOT) not in where.stdout  # the installed copy ran, not the checkout
