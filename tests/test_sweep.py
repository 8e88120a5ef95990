"""Pins `jitbox sweep`: grid order, seeds, identical results on every executor, vector/engine agreement, outputs."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import distributed
import pytest
from typer.testing import CliRunner

from jitbox.cli import app
from sim.bounds import worst_case
from sim.executors import DaskExecutor, LocalExecutor, SerialExecutor, make_executor
from sim.sweep import run_sweep
from sim.sweep_cell import METRICS
from sim.sweep_spec import SweepError, arrival_population, cell_seed, load_sweep_file, make_spec

runner = CliRunner()
dask_api: Any = distributed  # untyped library

GRID: dict[str, Any] = {
    "activation_max": ["1h", "8h"],
    "portal_session": ["1h", "8h"],
    "entitlement_mode": ["signin_snapshot", "launch_check"],
    "countermeasures": ["none", "remove_idc_membership+end_portal_sessions"],
    "arrivals": ["steady", "incident"],
    "activations": 120,
    "replications": 2,
    "seed": 5,
}


def test_cells_cover_the_grid_once_in_order() -> None:
    spec = make_spec(GRID)
    assert spec.n_cells == 32
    seen = [tuple(spec.cell_axes(i).values()) for i in spec.cells()]
    assert len(set(seen)) == 32
    assert spec.cell_axes(0)["arrivals"] == "steady" and spec.cell_axes(1)["arrivals"] == "incident"
    s = spec.cell_settings(31)
    assert s.activation_max == 8 * 3600 and s.remove_idc_membership and s.end_portal_sessions
    assert not s.deny_tokens_before_expiry


def test_cell_seeds_are_deterministic_and_distinct() -> None:
    seeds = {cell_seed(5, c, r) for c in range(50) for r in range(3)}
    assert len(seeds) == 150
    assert cell_seed(5, 7, 1) == cell_seed(5, 7, 1) != cell_seed(6, 7, 1)


def test_same_seed_gives_identical_results_on_every_executor_and_chunking() -> None:
    spec = make_spec(GRID)
    serial = run_sweep(spec, SerialExecutor(), chunk_size=32)
    local = run_sweep(spec, LocalExecutor(workers=2), chunk_size=3)
    with (
        dask_api.LocalCluster(n_workers=2, processes=False, dashboard_address=None) as cluster,
        dask_api.Client(cluster) as client,
    ):
        dask = run_sweep(spec, DaskExecutor(client=client), chunk_size=5)
    assert serial.to_json() == local.to_json() == dask.to_json()
    assert serial.to_csv() == dask.to_csv()
    assert local.executor == "local" and dask.executor == "dask"


def test_cli_sweep_runs_on_a_dask_scheduler_address(tmp_path: Path) -> None:
    spec = make_spec({**GRID, "arrivals": ["steady"], "countermeasures": ["none"]})
    expected = run_sweep(spec, SerialExecutor()).to_json()
    with dask_api.LocalCluster(
        n_workers=2, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        args = ["sweep", "--activation", "1h,8h", "--portal", "1h,8h", "--mode", "signin_snapshot,launch_check"]
        args += ["--arrivals", "steady", "--requests", "120", "--replications", "2", "--seed", "5"]
        args += ["--executor", "dask", "--scheduler", address, "--out", str(tmp_path), "--no-figures", "--no-progress"]
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "(dask)" in result.output
    assert (tmp_path / "sweep.json").read_text() == expected


def test_auto_runs_every_cell_on_the_numpy_path_and_agrees_with_engine_alone() -> None:
    spec = make_spec(GRID)
    auto = run_sweep(spec, SerialExecutor())
    engine = run_sweep(spec, SerialExecutor(), engine="engine")
    for a, e in zip(auto.rows(), engine.rows(), strict=True):
        assert {k: v for k, v in a.items() if k != "engine_runs"} == {k: v for k, v in e.items() if k != "engine_runs"}
        assert e["engine_runs"] == 2
        assert a["engine_runs"] == 0  # throttled bursts included: no cell needs the event engine
    incident = [r for r in auto.rows() if r["arrivals"] == "incident"]
    assert all(r["sim_throttled"] > 0 for r in incident)  # 30 in a minute: only 5 per 10 s take the fast path [E-AWS]


def test_every_cell_stays_within_the_closed_form_bound() -> None:
    spec = make_spec({**GRID, "activations": 300, "replications": 1, "permission_set_session": ["1h", "12h"]})
    result = run_sweep(spec, SerialExecutor())
    for row in result.rows():
        assert row["within_bound"]
        s = spec.cell_settings(row["cell"])
        assert row["bound_window"] == worst_case(s).effective_end
        assert row["sim_window_max"] <= row["bound_window"] + 1e-6


def test_replications_pool_activations_and_report_spread() -> None:
    spec = make_spec({**GRID, "replications": 3, "activations": 50})
    row = run_sweep(spec, SerialExecutor()).rows()[0]
    assert row["activations"] == 150
    assert row["sim_overhang_p99_sd"] is not None and row["sim_tta_p99_sd"] is not None
    single = run_sweep(make_spec({**GRID, "replications": 1}), SerialExecutor()).rows()[0]
    assert single["sim_overhang_p99_sd"] is None


def test_csv_and_json_hold_one_row_per_cell_with_every_metric(tmp_path: Path) -> None:
    result = run_sweep(make_spec(GRID), SerialExecutor())
    paths = result.write(tmp_path)
    assert [p.name for p in paths] == ["sweep.csv", "sweep.json"]
    rows = list(csv.DictReader(io.StringIO(paths[0].read_text())))
    assert len(rows) == 32
    assert list(rows[0]) == ["cell", *make_spec(GRID).AXES, *METRICS]
    data = json.loads(paths[1].read_text())
    assert data["spec"]["seed"] == 5 and len(data["cells"]) == 32


def test_progress_reports_every_cell() -> None:
    seen: list[int] = []
    run_sweep(make_spec(GRID), SerialExecutor(), chunk_size=7, progress=seen.append)
    assert sum(seen) == 32 and len(seen) == 5


def test_arrival_patterns() -> None:
    incident = arrival_population("incident", 65)
    assert [a.model_dump()["count"] for a in incident.arrivals] == [30, 30, 5]
    assert arrival_population("burst:10:30s:1h", 20).arrivals[1].model_dump()["start"] == 3600
    assert arrival_population("poisson:12", 5).arrivals[0].model_dump()["rate_per_hour"] == 12
    with pytest.raises(SweepError, match="arrival pattern 'sometimes'"):
        arrival_population("sometimes", 5)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--activation", "20m"], "activation_max = 20m is outside the documented range 30m – 1d"),
        (["--permission-set", "13h"], "permission_set_session = 13h is outside"),
        (["--portal", "soon"], "portal_session"),
        (["--mode", "always"], "entitlement_mode"),
        (["--countermeasures", "pray"], "'pray' is not a countermeasure"),
        (["--arrivals", "burst:x"], "arrival pattern 'burst:x'"),
        (["--executor", "cloud"], "--executor: 'cloud'"),
        (["--executor", "dask"], "needs --scheduler"),
        (["--engine", "quantum"], "engine"),
        (["--requests", "0"], "activations"),
        (["--gantt-cell", "99"], "--gantt-cell: 99"),
        (["--heatmap-x", "colour"], "--heatmap-x: 'colour' is not a sweep axis"),
        (["--heatmap-y", "portal_session"], "three different axes"),
    ],
)
def test_cli_sweep_bad_input_exits_2_naming_the_field(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = runner.invoke(app, ["sweep", *args, "--out", str(tmp_path), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert fragment in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "sweep.csv").exists()


def test_cli_sweep_with_a_file_writes_results_and_figures(tmp_path: Path) -> None:
    spec_file = tmp_path / "grid.toml"
    spec_file.write_text(
        'activation_max = ["1h", "4h"]\nportal_session = ["15m", "8h"]\narrivals = ["steady"]\n'
        'activations = 100\nseed = 3\n[base]\ncycle_processing = "30s"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["sweep", str(spec_file), "--mode", "launch_check", "--executor", "serial", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "sweep.json").read_text())
    assert data["spec"]["entitlement_mode"] == ["launch_check"] and data["spec"]["base"]["cycle_processing"] == "30s"
    assert {p.name for p in out.iterdir()} >= {"sweep.csv", "report.html", "heatmap_bound_window.png"}
    assert any(p.name.startswith("gantt_cell_") for p in out.iterdir())


def test_bad_sweep_file_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('portal_session = ["91d"]\n', encoding="utf-8")
    with pytest.raises(SweepError, match="portal_session = 91d is outside"):
        load_sweep_file(path)
    path.write_text("replications = -1\n", encoding="utf-8")
    with pytest.raises(SweepError, match=r"bad.toml: replications"):
        load_sweep_file(path)
    with pytest.raises(SweepError, match="cannot read"):
        load_sweep_file(tmp_path / "missing.toml")
    assert make_executor("serial").name == "serial"


def test_dask_cluster_with_worker_processes_gives_the_same_results() -> None:
    spec = make_spec({**GRID, "activation_max": ["1h"], "portal_session": ["8h"]})
    with (
        dask_api.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        dask_api.Client(cluster) as client,
    ):
        dask = run_sweep(spec, DaskExecutor(client=client), chunk_size=2)
    assert dask.to_json() == run_sweep(spec, SerialExecutor()).to_json()


def test_cli_sweep_unwritable_out_exits_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["sweep", "--out", str(blocker / "sub"), "--no-progress", "--executor", "serial"])
    assert result.exit_code == 2 and "--out: cannot create" in result.output


def test_bad_base_or_population_table_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "grid.toml"
    path.write_text('[base]\nportal_sesion = "1h"\n', encoding="utf-8")
    with pytest.raises(SweepError, match=r"grid.toml: base.portal_sesion: unknown setting"):
        load_sweep_file(path)
    path.write_text('[population]\nbehaviour = "sneaky"\n', encoding="utf-8")
    with pytest.raises(SweepError, match=r"grid.toml: population.behaviour: Input should be"):
        load_sweep_file(path)
    path.write_text("[population]\narrivals = []\n", encoding="utf-8")
    with pytest.raises(SweepError, match=r"population\.arrivals: set arrival patterns"):
        load_sweep_file(path)


def test_local_pool_workers_keep_freed_heap_on_linux() -> None:
    import platform
    import subprocess
    import sys

    from cli_support import REPO_ROOT, code_under_test_env

    code = "from sim.executors import keep_freed_memory; print(keep_freed_memory())"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=code_under_test_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    if not sys.platform.startswith("linux"):
        assert out.stdout.strip() == "False"
    elif platform.libc_ver()[0] == "glibc":
        assert out.stdout.strip() == "True"
