"""Pins ``jitbox run``, ``jitbox demo`` and ``jitbox scenarios`` as a user calls them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from cli_support import REPO_ROOT, code_under_test_env
from typer.testing import CliRunner

from jitbox.cli import app
from sim.population import Population
from sim.results import RunResult
from sim.settings import Settings

runner = CliRunner()


def test_run_by_name_prints_summary_timeline_and_windows() -> None:
    result = runner.invoke(app, ["run", "seed-blog"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "jitbox simulation" in out and "seed-blog" in out
    for step in ("request", "Entra member", "Identity Center member", "portal sign-in", "Identity Center removal"):
        assert step in out
    assert "latest launch" in out and "effective end" in out
    assert "seed-style window             10h" in out
    assert "10h 40m 10s" in out  # closed-form worst case with the deprovisioning wait


def test_run_writes_json_with_every_record_and_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert runner.invoke(app, ["run", "incident-burst", "--out", str(a)]).exit_code == 0
    assert runner.invoke(app, ["run", "incident-burst", "--out", str(b)]).exit_code == 0
    assert runner.invoke(app, ["run", "incident-burst", "--seed", "99", "--out", str(c)]).exit_code == 0
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    doc = json.loads(a.read_text())
    assert doc["scenario"] == "incident-burst" and len(doc["runs"]) == 2
    first = doc["runs"][0]
    assert len(first["records"]) == 30
    assert {"time_to_access", "overhang", "latest_launch", "idc_start", "idc_end", "path"} <= set(first["records"][0])
    assert first["aggregates"]["within_bound"] is True
    assert json.loads(c.read_text())["seed"] == 99


def test_run_takes_the_numpy_path_and_engine_forces_the_event_engine_with_the_same_results() -> None:
    fast = runner.invoke(app, ["run", "incident-burst", "--json"])
    slow = runner.invoke(app, ["run", "incident-burst", "--json", "--engine", "engine"])
    assert fast.exit_code == 0 and slow.exit_code == 0, slow.output
    a, b = json.loads(fast.stdout), json.loads(slow.stdout)
    assert [r["engine"] for r in a["runs"]] == ["vector", "vector"]
    assert [r["engine"] for r in b["runs"]] == ["engine", "engine"] and b["runs"][0]["events"] > 0
    for ra, rb in zip(a["runs"], b["runs"], strict=True):
        assert ra["records"] == rb["records"] and ra["aggregates"] == rb["aggregates"]
    bad = runner.invoke(app, ["run", "incident-burst", "--engine", "simpy"])
    assert bad.exit_code == 2 and "--engine 'simpy': use one of auto, vector, engine" in bad.output


def test_run_json_to_stdout_is_pure_json() -> None:
    result = runner.invoke(app, ["run", "approval", "--json", "--no-records"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert "records" not in doc["runs"][0]
    assert doc["runs"][0]["aggregates"]["counts"]["approval_expired"] > 0


def test_run_by_path_and_timeline_for_a_chosen_activation(tmp_path: Path) -> None:
    f = tmp_path / "two.toml"
    f.write_text('name = "two"\n[population]\narrivals = [{ kind = "explicit", times = [0, 60] }]\n', encoding="utf-8")
    result = runner.invoke(app, ["run", str(f), "--timeline", "1"])
    assert result.exit_code == 0, result.output
    assert "timeline of activation #1" in result.output


def test_run_errors_name_the_problem_and_exit_2(tmp_path: Path) -> None:
    unknown = runner.invoke(app, ["run", "nope"])
    assert unknown.exit_code == 2 and "known scenarios" in unknown.output
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\n[settings]\nportal_session = "91d"\n[population]\narrivals = []\n', encoding="utf-8")
    res = runner.invoke(app, ["run", str(bad)])
    assert res.exit_code == 2
    assert "portal_session = 91d" in res.output and "population.arrivals" in res.output
    out_of_range = runner.invoke(app, ["run", "seed-blog", "--timeline", "100000"])
    assert out_of_range.exit_code == 2 and "--timeline" in out_of_range.output
    # issue 11: the output path is checked before the run (no table printed, nothing simulated)
    unwritable = runner.invoke(app, ["run", "seed-blog", "--out", str(tmp_path / "missing" / "x.json")])
    assert unwritable.exit_code == 2 and "--out" in unwritable.output and "no directory" in unwritable.output
    assert "jitbox simulation" not in unwritable.output
    directory = runner.invoke(app, ["run", "seed-blog", "--out", str(tmp_path)])
    assert directory.exit_code == 2 and "is a directory" in directory.output


def test_demo_shows_the_seed_windows() -> None:
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "seed-blog" in result.output
    assert "10h  = activation 1h + portal 8h + permission set 1h" in result.output
    assert "worst case (closed form)      10h 40m 10s" in result.output
    assert "timeline of activation" in result.output


def test_scenarios_lists_the_shipped_files() -> None:
    result = runner.invoke(app, ["scenarios"])
    assert result.exit_code == 0
    for name in ("seed-blog", "incident-burst", "approval", "revocation-modes"):
        assert name in result.output


def test_console_script_output_is_plain_when_not_a_tty() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jitbox", "demo"],
        cwd=REPO_ROOT,
        env=code_under_test_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" not in proc.stdout  # no escape codes in pipes and CI logs
    assert "10h 40m 10s" in proc.stdout


def test_pytest_plugin_fixtures_run_scenarios_and_settings(
    jitbox_run: Callable[..., dict[str, RunResult]], jitbox_simulate: Callable[..., RunResult]
) -> None:
    runs = jitbox_run("revocation-modes", seed=2)
    assert runs["base"].seed == 2 and "launch_check" in runs
    assert runs["launch_check"].worst_window() < runs["base"].worst_window()
    r = jitbox_simulate(Settings(), Population.burst(7), seed=1)
    assert r.n == 7


def test_run_piped_prints_every_column_of_a_degraded_run_uncut(tmp_path: Path) -> None:
    # a pipe or file gets the table's natural width: with the f/q/i and deprov columns no cell is cut ("…")
    text = (REPO_ROOT / "scenarios" / "seed-blog.toml").read_text(encoding="utf-8")
    text = text.replace(
        'entitlement_mode = "signin_snapshot"',
        'entitlement_mode = "signin_snapshot"\nremoval_failure_probability = 0.3\n'
        "removal_quarantine_probability = 0.2\ninitial_cycle_probability = 0.5\ninitial_cycle_objects = 1000",
    )
    scenario = tmp_path / "degraded.toml"
    scenario.write_text(text, encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "jitbox", "run", str(scenario)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=code_under_test_env(),
        check=True,
    ).stdout
    assert "f/q/i" in out and "deprov" in out
    assert "…" not in out
