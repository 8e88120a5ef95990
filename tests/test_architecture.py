"""The layers hold at run time too: importing the model of time loads no web stack, and the CLI starts light."""

from __future__ import annotations

import subprocess
import sys

from cli_support import REPO_ROOT, code_under_test_env

WEB_STACK = ("fastapi", "starlette", "uvicorn", "httpx2", "scim2_models")


def _loaded_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    code = f"import sys; {statement}; print(','.join(m for m in {modules!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=code_under_test_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return [m for m in out.stdout.strip().split(",") if m]


def test_importing_the_simulator_loads_no_web_stack() -> None:
    assert _loaded_after("import sim.engine, sim.check, sim.sweep, sim.scenario, sim.strategies", WEB_STACK) == []


def test_the_cli_loads_no_web_stack_or_fake_until_a_command_needs_it() -> None:
    heavy = (*WEB_STACK, "numpy", "matplotlib", "scim_server", "pim_fake", "dask")
    assert _loaded_after("import jitbox.cli", heavy) == []


def test_python_dash_m_jitbox_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jitbox", "bound", "--activation", "1h", "--portal", "8h", "--permission-set", "1h"],
        cwd=REPO_ROOT,
        env=code_under_test_env(),
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "10h 40m 10s" in out.stdout
