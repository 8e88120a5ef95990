"""Issue 11: the sweep answers a limit (by bound and by simulation), never-provisioned requesters are counted, the
Gantt draws the cell the summary names with the limit, and report.html puts the answer first."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jitbox.cli import app
from sim.executors import SerialExecutor
from sim.figures import gantt_figure, heatmap_figure, sweep_figures
from sim.limits import Limits
from sim.settings import load_settings
from sim.sweep import SweepResult, run_sweep, worst_cell
from sim.sweep_spec import make_spec

runner = CliRunner()

INCIDENT_30M = {
    "activation_max": ["30m", "1h"],
    "portal_session": ["15m"],
    "countermeasures": ["none"],
    "arrivals": ["incident"],
    "activations": 600,
    "seed": 4,
}


@pytest.fixture(scope="module")
def incident() -> SweepResult:
    return run_sweep(make_spec(INCIDENT_30M), SerialExecutor())


def test_never_provisioned_counts_in_a_30m_incident_burst_cell(incident: SweepResult) -> None:
    short, hour = incident.rows()
    assert short["activation_max"] == 1800 and hour["activation_max"] == 3600
    # bursts of 30 in a minute: beyond 5 per 10 s they wait for the ~40-min cycle [E-AWS]; a 30-min activation
    # often ends first, so those requesters never get access
    assert hour["sim_throttled"] > 0 and short["sim_never_provisioned"] > 0  # 30 m: the throttled never get in
    assert short["sim_never_provisioned_share"] == pytest.approx(short["sim_never_provisioned"] / 600, abs=1e-6)
    assert short["bound_never_provisioned_share"] == pytest.approx(0.25)  # (40m - 30m) / 40m
    assert hour["sim_never_provisioned"] == 0 and hour["bound_never_provisioned_share"] == 0
    summary = incident.summary()
    assert f"{short['sim_never_provisioned']} of 1200 simulated requesters" in summary
    assert "never got access" in summary
    # the heat map shows them instead of dropping them
    fig = heatmap_figure(incident.rows(), "sim_tta_p99")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("never" in t for t in texts)
    share = heatmap_figure(incident.rows(), "sim_never_provisioned_share")
    assert any(t.get_text().endswith("%") and t.get_text() != "0%" for ax in share.axes for t in ax.texts)


def test_limit_counts_cells_by_bound_and_separately_by_simulation() -> None:
    spec = make_spec(
        {
            "activation_max": ["30m", "1h"],
            "portal_session": ["15m"],
            "countermeasures": ["none", "remove_idc_membership"],
            "arrivals": ["steady"],
            "activations": 40,
            "seed": 1,
        }
    )
    result = run_sweep(spec, SerialExecutor(), limits=Limits(max_window=7200))
    rows = result.rows()
    by_bound = {r["cell"] for r in rows if r["meets_limit_bound"]}
    # bound: none = 30m + 40m 10s + 15m + 1h = 2h 25m 10s > 2h; remove_idc_membership: 30m + 15m + 1h = 1h 45m
    assert by_bound == {r["cell"] for r in rows if r["bound_window"] <= 7200}
    assert all(r["countermeasures"] == "remove_idc_membership" for r in rows if r["meets_limit_bound"])
    false_passes = [r for r in rows if r["meets_limit_sim"] and not r["meets_limit_bound"]]
    assert all(r["sim_window_max"] <= 7200 < r["bound_window"] for r in false_passes)
    line = result.summary().splitlines()[0]
    assert line.startswith(f"limit window ≤ 2h: {len(by_bound)} of 4 cells meet it by their bound")
    assert f"({len(false_passes)} of those only because the simulation missed the worst case)" in line


def test_cli_sweep_max_window_marks_columns_and_exits_1_when_no_cell_meets_it(tmp_path: Path) -> None:
    base = ["sweep", "--activation", "30m,1h", "--portal", "15m", "--arrivals", "steady", "--requests", "30"]
    base += ["--executor", "serial", "--no-progress", "--no-figures"]
    result = runner.invoke(
        app,
        [*base, "--countermeasures", "none,remove_idc_membership", "--max-window", "2h", "--out", str(tmp_path / "a")],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("limit window ≤ 2h: 1 of 4 cells meet it by their bound")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "a" / "sweep.csv").read_text())))
    assert {"meets_limit_bound", "meets_limit_sim", "sim_window_max", "bound_window"} <= set(rows[0])
    assert not {"window_max", "tta_p99", "never_provisioned"} & set(rows[0])  # every name says sim_ or bound_
    doc = json.loads((tmp_path / "a" / "sweep.json").read_text())
    assert doc["limits"] == {"max_window": 7200.0, "max_time_to_access": None}
    assert "meets_limit_bound" in doc["metrics"]
    none = runner.invoke(app, [*base, "--countermeasures", "none", "--max-window", "2h", "--out", str(tmp_path / "b")])
    assert none.exit_code == 1 and "0 of 2 cells meet it by their bound" in none.output
    as_json = runner.invoke(
        app, [*base, "--countermeasures", "none", "--max-window", "2h", "--json", "--out", str(tmp_path / "c")]
    )
    assert as_json.exit_code == 1 and json.loads(as_json.output)["meets_limit_bound"] == []
    unitless = runner.invoke(app, [*base, "--max-window", "2", "--out", str(tmp_path / "d")])
    assert unitless.exit_code == 2 and "--max-window: '2' has no unit" in unitless.output


def test_gantt_default_is_the_cell_the_summary_names_and_shows_the_limit(incident: SweepResult) -> None:
    worst = worst_cell(incident.rows())
    assert worst is not None
    assert f"worst cell #{worst['cell']} (longest bound)" in incident.summary()
    assert f"gantt_cell_{worst['cell']}" in sweep_figures(incident)
    s = load_settings({"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"})
    ax = gantt_figure(s, max_window=7200).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "limit: 2h after activation start" in legend and "intended end of the activation" in legend
    assert any(abs(line.get_xdata()[0] - 2.0) < 1e-9 and line.get_color() == "red" for line in ax.lines)
    right = ax.get_xlim()[1]
    assert 10 + 40 / 60 < right < (10 + 41 / 60) * 1.06  # the axis ends just past the last bar (10 h 40 m 10 s)


def test_report_html_puts_the_answer_first_with_definitions_and_a_sortable_table(tmp_path: Path) -> None:
    args = ["sweep", "--activation", "30m,1h", "--portal", "15m,8h", "--arrivals", "steady", "--requests", "30"]
    args += ["--countermeasures", "none,remove_idc_membership", "--max-window", "2h"]
    args += ["--executor", "serial", "--no-progress", "--out", str(tmp_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h2>([^<]+)</h2>", page)
    assert headings[:4] == ["Answer", "What was swept", "What the numbers mean", "Run"]
    assert headings[-1].startswith("All cells (8; 8 shown; click a header to sort)")
    assert page.index("meet it by their bound") < page.index("What was swept")
    assert "Worst-case window (closed-form bound), by countermeasure set" in page
    assert "heatmap_bound_window</" not in page  # human titles, not file stems
    assert "never provisioned" in page and "<table class='sortable'>" in page and "<script>" in page
    assert "http://" not in page and "https://" not in page
    named = re.search(r"worst cell #(\d+)", result.output)
    assert named is not None and (tmp_path / f"gantt_cell_{named.group(1)}.png").exists()
