"""Issue 12: the README's seed walkthrough for integration developers runs verbatim — the curl admin half of Graph,
then boto3 and msgraph-sdk — against a sandbox, with only what ``jitbox env`` exports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jitbox.env import env_vars
from jitbox.serve import start_sandbox
from sim.clock import ManualClock

ROOT = Path(__file__).resolve().parent.parent


def block(name: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- walkthrough: {re.escape(name)} -->\n```\w+\n(.*?)```", text, re.S)
    assert match, f"README block {name} not found"
    return match.group(1)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_readme_walkthrough_runs_against_a_sandbox(tmp_path: Path) -> None:
    user_py = block("user.py")
    imports = [line for line in user_py.splitlines() if line.startswith(("import ", "from "))]
    assert not any("httpx2" in line or "jitbox" in line or "sim" in line.split() for line in imports)  # own venv
    with start_sandbox(ManualClock()) as sb:
        cfg = sb.config()
        bindir = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
            "JITBOX_URL": cfg["aws_endpoint_url"],
        }
        admin = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block("admin.sh")], env=env, capture_output=True, text=True, timeout=120
        )
        assert admin.returncode == 0, admin.stdout + admin.stderr
        assert admin.stdout.split() == ["Provisioned", "2025-06-03T09:40:00Z"]
        script = tmp_path / "user.py"
        script.write_text(user_py, encoding="utf-8")
        user_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        user_env.update(env_vars(cfg))  # what `eval "$(jitbox env)"` exports
        user = subprocess.run(
            [sys.executable, "-W", "ignore", str(script)], env=user_env, capture_output=True, text=True, timeout=120
        )
        assert user.returncode == 0, user.stdout + user.stderr
        lines = user.stdout.splitlines()
        assert lines[:3] == ["assignment: SUCCEEDED", "activation: Provisioned", "roles: ['S3AdminAccess']"]
        assert lines[3].startswith("credentials expire: ")
