"""The sandbox demo: the seed walkthrough over real HTTP equals the simulator's rules (differential test)."""

from __future__ import annotations

import math

from typer.testing import CliRunner

from jitbox.cli import app
from jitbox.demo import run_sandbox_demo
from sim.bounds import worst_case
from sim.settings import load_settings


def test_seed_walkthrough_over_http_matches_the_simulator() -> None:
    demo = run_sandbox_demo(seed=3)
    assert demo.agrees, demo.checks
    checks = {what: observed for what, observed, _ in demo.checks}
    # fast path 2–10 min after the activation [E-AWS]
    assert 120 <= checks["Identity Center add"] <= 600
    # removal only on a regular cycle: after the 1 h expiry, at most one 40-min cycle later [E-AWS]
    assert 3600 < checks["Identity Center removal"] <= 3600 + 2400
    # the seed's point: the 0:59 portal session still launches at 8:58 under signin_snapshot [AWS-BLOG] ...
    assert demo.launch_at_858 == {"signin_snapshot": True, "launch_check": False}
    # ... and that role session lasts 1 h more, inside the closed-form worst case
    assert demo.credentials_expire == 9 * 3600 + 58 * 60
    s = load_settings({"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"})
    assert demo.credentials_expire <= worst_case(s).effective_end


def test_launch_check_mode_refuses_the_late_launch_from_the_start() -> None:
    s = load_settings(
        {
            "activation_max": "1h",
            "portal_session": "8h",
            "permission_set_session": "1h",
            "entitlement_mode": "launch_check",
        }
    )
    demo = run_sandbox_demo(s, seed=5)
    assert demo.agrees, demo.checks
    assert demo.launch_at_858["launch_check"] is False
    assert math.isnan(demo.credentials_expire)


def test_jitbox_demo_prints_simulator_and_sandbox_parts() -> None:
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "seed-blog" in result.output
    assert "sandbox and simulator agree: yes" in result.output
    assert "10h 40m 10s" in result.output
    # one degraded case: a failed removal retried on the next cycle [E-PLOGS]
    assert "degraded case: 1 failed removal(s)" in result.output and "11h 20m 10s" in result.output
