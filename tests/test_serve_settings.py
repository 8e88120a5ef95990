"""`jitbox serve --settings FILE` / `start_sandbox(settings=...)`: one settings file drives both fakes."""

from __future__ import annotations

from pathlib import Path

import httpx2
from typer.testing import CliRunner

from jitbox.cli import app
from jitbox.serve import start_sandbox
from sim.clock import ManualClock
from sim.settings import load_settings


def test_settings_reach_the_portal_and_the_provisioning_job() -> None:
    s = load_settings(
        {"portal_session": "2h", "entitlement_mode": "launch_check", "cycle_interval": "20m", "activation_max": "1h"}
    )
    with start_sandbox(ManualClock(), seed=1, settings=s) as sb:
        cfg = sb.config()
        portal = httpx2.get(f"{cfg['aws_endpoint_url']}/_sandbox/aws/settings").json()
        assert portal["portal_session"] == 7200
        assert portal["entitlement_mode"] == "launch_check"
        jobs = httpx2.get(f"{cfg['graph_sandbox_url']}provisioning").json()
        job = next(iter(jobs.values()))["job"]
        assert job["schedule"]["interval"] == "PT20M"


def test_serve_names_the_bad_field_of_a_settings_file(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text('portal_session = "91d"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", "--settings", str(bad)])
    assert result.exit_code == 2
    assert "--settings" in result.output and "portal_session" in result.output and "15m – 90d" in result.output
    assert "Traceback" not in result.output
