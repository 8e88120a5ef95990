"""Build step: ship the repository's top-level ``scenarios/`` and ``examples/`` inside the wheel.

They stay at the top of the repository (where users and docs find them); a normal (non-editable) build copies
``scenarios/*.toml`` to ``sim/scenarios/`` (found by :func:`sim.scenario.scenario_dirs`) and ``examples/`` to
``jitbox/examples/``. Editable installs read them from the checkout instead. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"scenarios": "sim/scenarios", "examples": "jitbox/examples"}
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", "*-out", "*.egg-info")


class BuildPyWithData(build_py):
    """``build_py`` that also copies the top-level data directories into the built packages."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in SHIPPED.items():
            destination = Path(self.build_lib) / target
            if destination.exists():
                shutil.rmtree(destination)
            shutil.copytree(ROOT / source, destination, ignore=SKIP)


setup(cmdclass={"build_py": BuildPyWithData})
