"""Pins the sweep figures by their data: heat-map matrices, Gantt bars per hop, PNG pixels, the HTML report."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.image import imread

from sim.bounds import window_hops, worst_case
from sim.executors import SerialExecutor
from sim.figures import (
    HEATMAP_METRICS,
    gantt_figure,
    heatmap_figure,
    heatmap_matrix,
    html_report,
    png_bytes,
    sweep_figures,
    write_figures,
)
from sim.settings import load_settings
from sim.sweep import SweepResult, run_sweep
from sim.sweep_spec import SweepError, make_spec

GRID: dict[str, Any] = {
    "activation_max": ["1h", "4h", "8h"],
    "portal_session": ["15m", "1h", "8h"],
    "entitlement_mode": ["signin_snapshot", "cached_1h"],
    "countermeasures": ["none", "all"],
    "arrivals": ["steady"],
    "activations": 80,
    "seed": 2,
}


@pytest.fixture(scope="module")
def result() -> SweepResult:
    return run_sweep(make_spec(GRID), SerialExecutor())


@pytest.mark.parametrize("metric", list(HEATMAP_METRICS))
def test_heatmap_panels_hold_the_metric_per_mode_as_the_max_over_other_axes(result: SweepResult, metric: str) -> None:
    rows = result.rows()
    fig = heatmap_figure(rows, metric, facet="entitlement_mode")
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["entitlement mode: cached_1h", "entitlement mode: signin_snapshot"]
    scale = 1.0 if metric == "sim_never_provisioned_share" else 3600
    for ax, mode in zip(panels, ["cached_1h", "signin_snapshot"], strict=True):
        data = np.asarray(ax.images[0].get_array())
        assert data.shape == (3, 3)
        for i, act in enumerate([3600.0, 4 * 3600.0, 8 * 3600.0]):
            for j, portal in enumerate([900.0, 3600.0, 8 * 3600.0]):
                values = [
                    r[metric]
                    for r in rows
                    if r["entitlement_mode"] == mode and r["activation_max"] == act and r["portal_session"] == portal
                ]
                assert len(values) == 2  # countermeasures none / all, reduced by max
                assert data[i, j] == pytest.approx(max(values) / scale)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["15m", "1h", "8h"]
    assert HEATMAP_METRICS[metric] in fig.get_suptitle() and "countermeasures" in fig.get_suptitle()


def test_worst_overhang_heatmap_grows_with_the_portal_session_under_signin_snapshot(result: SweepResult) -> None:
    _, _, matrix = heatmap_matrix(
        result.rows(),
        "sim_overhang_max",
        "portal_session",
        "activation_max",
        {"entitlement_mode": "signin_snapshot", "countermeasures": "none"},
    )
    # [AWS-BLOG]: the portal session lets the user launch long after removal; more portal, more overhang
    assert np.all(np.diff(matrix, axis=1) > 0)


def test_gantt_has_one_bar_per_hop_matching_the_bound() -> None:
    s = load_settings({"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"})
    fig = gantt_figure(s)
    ax = fig.axes[0]
    labels = [c.get_label() for c in ax.containers]
    hops = window_hops(s)
    assert labels[-4:] == [h.name for h in hops]
    assert str(labels[0]).startswith("Entra group membership") and str(labels[1]).startswith("fast-path provisioning")
    for container, hop in zip(ax.containers[-4:], hops, strict=True):
        (bar,) = container.patches  # type: ignore[attr-defined]
        assert bar.get_x() == pytest.approx((hop.end - hop.duration) / 3600)
        assert bar.get_width() == pytest.approx(hop.duration / 3600)
    last = ax.containers[-1].patches[0]  # type: ignore[attr-defined]
    assert last.get_x() + last.get_width() == pytest.approx(worst_case(s).effective_end / 3600)  # 10 h 40 min 10 s


def test_gantt_with_approval_starts_the_window_after_the_approval_hop() -> None:
    s = load_settings({"activation_max": "1h", "approval_required": True})
    ax = gantt_figure(s).axes[0]
    assert str(ax.containers[0].get_label()).startswith("approval")
    activation = ax.containers[3].patches[0]  # type: ignore[attr-defined]
    assert activation.get_x() == pytest.approx(24.0)  # [E-APPRV] approvers have up to 24 h


def test_png_is_a_real_image_with_content(result: SweepResult) -> None:
    data = png_bytes(heatmap_figure(result.rows(), "bound_window"))
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(io.BytesIO(data))
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 300
    assert len(np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)) > 20  # not a blank canvas


def test_html_report_is_self_contained_and_embeds_every_figure(result: SweepResult, tmp_path: Path) -> None:
    figures = sweep_figures(result, gantt_cell=4)
    assert set(figures) == {*(f"heatmap_{m}" for m in HEATMAP_METRICS), "gantt_cell_4"}
    paths = write_figures(result, tmp_path, gantt_cell=4)
    assert {p.name for p in paths} == {*(f"{n}.png" for n in figures), "report.html"}
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == len(figures)
    assert sorted(base64.b64decode(i) for i in images) == sorted(p.read_bytes() for p in paths if p.suffix == ".png")
    assert "http://" not in page and "https://" not in page
    assert "every cell within the closed-form bound" in page
    assert page.count("<tr") - page.count("<tr><th class='t'>") == 1 + len(result.rows())  # header + every cell
    assert html_report(result, {"one": figures["gantt_cell_4"]}).count("data:image/png;base64,") == 1


def test_gantt_cell_outside_the_sweep_is_refused(result: SweepResult) -> None:
    with pytest.raises(SweepError, match="--gantt-cell: 36"):
        sweep_figures(result, gantt_cell=36)


def test_cli_heatmaps_on_chosen_axes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from jitbox.cli import app

    args = ["sweep", "--activation", "1h", "--portal", "1h", "--permission-set", "1h,4h,12h"]
    args += ["--countermeasures", "none,deny_tokens_before_expiry", "--arrivals", "steady,incident"]
    args += ["--requests", "60", "--executor", "serial", "--no-progress", "--out", str(tmp_path)]
    args += ["--heatmap-x", "permission_set_session", "--heatmap-y", "countermeasures", "--heatmap-facet", "arrivals"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "sweep.json").read_text())["cells"]
    fig = heatmap_figure(rows, "sim_tta_p99", "permission_set_session", "countermeasures", "arrivals")
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["arrivals: incident", "arrivals: steady"]
    panels = [ax for ax in fig.axes if ax.images]
    incident, steady = (np.asarray(ax.images[0].get_array()) for ax in panels)
    assert incident.shape == (2, 3) and np.all(incident > steady)  # bursts wait for the 40-min cycle [E-AWS]
    assert (tmp_path / "heatmap_sim_tta_p99.png").read_bytes()[:4] == b"\x89PNG"
