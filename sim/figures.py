"""Figures of a sweep: heat maps, the worst-case Gantt timeline, and one self-contained HTML report.

- :func:`heatmap_figure` — one panel per facet value (default: the countermeasure set, the main lever), cells
  coloured by a metric in hours over two grid axes (default: portal session × activation maximum); where the sweep
  has more axes, each square shows the **largest** value over them (stated in the title). Metrics: the window by
  its closed-form bound and as simulated, the p99 time to access (each square also says what share of requesters
  never got access, instead of dropping them) and that share itself (:data:`HEATMAP_METRICS`). Given a window
  limit, squares that meet it are marked ✓.
- :func:`gantt_figure` — the worst-case path of one settings combination through each hop, from
  :func:`sim.bounds.access_hops` and :func:`sim.bounds.window_hops` (so it is the closed-form bound of
  :func:`sim.bounds.worst_case`, hop by hop, with the same source tags).
- :func:`html_report` — the report page (:mod:`sim.report_html`); no external files or links.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot state), so they work headless and in
parallel.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from sim.bounds import AccessPath, access_hops, window_hops
from sim.durations import format_duration
from sim.settings import APPROVAL_TIMEOUT, HOUR, Settings
from sim.sweep import SweepResult, worst_cell
from sim.sweep_spec import SweepError, SweepSpec

__all__ = [
    "HEATMAP_METRICS",
    "check_heatmap_axes",
    "gantt_figure",
    "heatmap_figure",
    "heatmap_matrix",
    "html_report",
    "png_bytes",
    "sweep_figures",
    "write_figures",
]


HEATMAP_METRICS: dict[str, str] = {
    "bound_window": "worst-case window from activation start (closed-form bound)",
    "sim_window_max": "worst simulated window from activation start",
    "sim_tta_p99": "p99 time to access (simulated; + share never provisioned)",
    "sim_never_provisioned_share": "share of requesters never provisioned (simulated)",
}
SHARE_METRICS = ("sim_never_provisioned_share",)
"""Heat-map metrics that are shares (0–1, drawn as percentages), not durations."""
WINDOW_METRICS = ("bound_window", "sim_window_max")
"""Heat-map metrics a window limit applies to (squares meeting it are marked ✓)."""
"""The heat maps every sweep report draws: metric column → title."""


def _label(axis: str, value: Any) -> str:
    if isinstance(value, float | int) and axis in ("activation_max", "portal_session", "permission_set_session"):
        return format_duration(float(value))
    return str(value)


def heatmap_matrix(
    rows: Sequence[dict[str, Any]], metric: str, x: str, y: str, where: dict[str, Any] | None = None
) -> tuple[list[Any], list[Any], np.ndarray]:
    """Return ``(x values, y values, matrix)`` with ``matrix[i, j]`` = the largest ``metric`` (seconds) over rows
    with ``y = y values[i]``, ``x = x values[j]`` and matching ``where``; NaN where no row has a value."""
    selected = [r for r in rows if all(r[k] == v for k, v in (where or {}).items())]
    xs = sorted({r[x] for r in rows}, key=lambda v: (isinstance(v, str), v))
    ys = sorted({r[y] for r in rows}, key=lambda v: (isinstance(v, str), v))
    matrix = np.full((len(ys), len(xs)), np.nan)
    for r in selected:
        value = r[metric]
        if value is None:
            continue
        i, j = ys.index(r[y]), xs.index(r[x])
        matrix[i, j] = value if math.isnan(matrix[i, j]) else max(matrix[i, j], value)
    return xs, ys, matrix


def heatmap_figure(
    rows: Sequence[dict[str, Any]],
    metric: str,
    x: str = "portal_session",
    y: str = "activation_max",
    facet: str = "countermeasures",
    max_window: float | None = None,
) -> Figure:
    """Return a figure with one heat-map panel per ``facet`` value; colours and labels are ``metric`` in hours
    (shares: 0–1, labelled as percentages).

    Each panel's image data (``ax.images[0].get_array()``) is :func:`heatmap_matrix` divided by 3600 (shares as
    they are). Time-to-access squares also show the largest share never provisioned over the same rows; window
    squares within ``max_window`` get a ✓.
    """
    facets = sorted({r[facet] for r in rows}, key=str)
    share = metric in SHARE_METRICS
    scale = 1.0 if share else HOUR
    fig = Figure(figsize=(4.2 * len(facets) + 1.2, 3.9), layout="constrained")
    axes = fig.subplots(1, len(facets), squeeze=False)[0]
    others = [a for a in SweepSpec.AXES if a not in (x, y, facet) and len({r[a] for r in rows}) > 1]
    finite = [r[metric] for r in rows if r[metric] is not None]
    vmax = 1.0 if share else (max(finite) / HOUR if finite else 1.0)
    image = None
    for ax, value in zip(axes, facets, strict=True):
        xs, ys, matrix = heatmap_matrix(rows, metric, x, y, {facet: value})
        never = None
        if metric.startswith("sim_tta"):
            never = heatmap_matrix(rows, "sim_never_provisioned_share", x, y, {facet: value})[2]
        image = ax.imshow(matrix / scale, origin="lower", aspect="auto", cmap="magma_r", vmin=0.0, vmax=max(vmax, 1e-9))
        ax.set_xticks(range(len(xs)), [_label(x, v) for v in xs], rotation=45, ha="right")
        ax.set_yticks(range(len(ys)), [_label(y, v) for v in ys])
        ax.set_xlabel(_AXIS_NAMES.get(x, x))
        ax.set_ylabel(_AXIS_NAMES.get(y, y))
        ax.set_title(f"{_AXIS_NAMES.get(facet, facet)}: {_label(facet, value)}", fontsize=9)
        for (i, j), v in np.ndenumerate(matrix):
            if math.isnan(v):
                continue
            text = f"{v:.0%}" if share else format_duration(v)
            if never is not None and not math.isnan(never[i, j]) and never[i, j] > 0:
                text += f"\n+{never[i, j]:.0%} never"
            if max_window is not None and metric in WINDOW_METRICS and v <= max_window:
                text += " ✓"
            dark = v / scale > 0.6 * vmax
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if dark else "black")
    if image is not None:
        fig.colorbar(image, ax=list(axes), label="share" if share else "hours")
    over = f" (largest over {', '.join(others)})" if others else ""
    limit = f"; ✓ = within {format_duration(max_window)}" if max_window is not None and metric in WINDOW_METRICS else ""
    fig.suptitle(f"{HEATMAP_METRICS.get(metric, metric)}{over}{limit}", fontsize=10)
    return fig


_AXIS_NAMES = {
    "activation_max": "PIM activation maximum",
    "portal_session": "access portal session",
    "permission_set_session": "permission-set session",
    "entitlement_mode": "entitlement mode",
    "countermeasures": "countermeasures",
    "arrivals": "arrivals",
}


def gantt_figure(
    settings: Settings,
    access_path: AccessPath = AccessPath.FAST,
    title: str = "",
    max_window: float | None = None,
) -> Figure:
    """Return the worst-case timeline of ``settings``: one bar per hop, time in hours from the request.

    Bars (each a labelled bar container): the provisioning hops of :func:`sim.bounds.access_hops` (time to access),
    then the window hops of :func:`sim.bounds.window_hops` — activation, deprovisioning, portal after removal, role
    session; with ``approval_required`` the window starts after the 24-h approval worst case [E-APPRV]. A dashed
    line marks the intended end, a red line the ``max_window`` limit (from activation start); a legend names them.
    The x axis ends just past the last bar (or the limit).
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    offset = APPROVAL_TIMEOUT if settings.approval_required else 0.0  # activation starts when approved [E-APPRV]
    hops = [("access", h, 0.0) for h in access_hops(settings, access_path)]
    hops += [("window", h, offset) for h in window_hops(settings)]
    fig = Figure(figsize=(10, 0.55 * len(hops) + 2.4), layout="constrained")
    ax = fig.subplots()
    colours = {"access": "#4c72b0", "window": "#c44e52"}
    end = window_hops(settings)[-1].end
    right = max(offset + end, offset + (max_window or 0.0)) / HOUR
    labels = []
    for k, (kind, hop, shift) in enumerate(hops):
        start = (shift + hop.end - hop.duration) / HOUR
        ax.barh(k, hop.duration / HOUR, left=start, color=colours[kind], label=hop.name, height=0.6)
        text = f"{format_duration(hop.duration)} {hop.source}"
        stop = (shift + hop.end) / HOUR
        if stop > 0.7 * right and hop.duration / HOUR > 0.25 * right:  # inside a long bar ending near the edge
            ax.text(start + 0.01 * right, k, text, va="center", ha="left", fontsize=7, color="white")
        elif stop > 0.7 * right:  # left of a short bar near the edge, so the axis need not leave room on the right
            ax.text(start - 0.01 * right, k, text, va="center", ha="right", fontsize=7)
        else:
            ax.text(stop + 0.01 * right, k, text, va="center", ha="left", fontsize=7)
        labels.append(hop.name)
    ax.axvline((offset + settings.activation_max) / HOUR, color="black", linestyle="--", linewidth=1)
    handles = [
        Patch(color=colours["access"], label="time to access (request → access)"),
        Patch(color=colours["window"], label="window hops (activation start → access end)"),
        Line2D([], [], color="black", linestyle="--", label="intended end of the activation"),
    ]
    if max_window is not None:
        ax.axvline((offset + max_window) / HOUR, color="red", linewidth=1.5)
        handles.append(
            Line2D([], [], color="red", label=f"limit: {format_duration(max_window)} after activation start")
        )
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=7, frameon=False)
    ax.set_yticks(range(len(hops)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, right * 1.04 + 0.02)
    ax.set_xlabel("hours from the request")
    ax.set_title(title or f"worst-case path: access ends {format_duration(end)} after activation start", fontsize=9)
    return fig


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """Return ``fig`` rendered as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def html_report(result: SweepResult, figures: dict[str, Figure | bytes], max_rows: int = 2000) -> str:
    """Return the self-contained report page (:func:`sim.report_html.html_report`); ``figures`` maps names to
    figures or to PNG bytes already rendered by :func:`png_bytes`."""
    from sim.report_html import html_report as render

    images = {name: fig if isinstance(fig, bytes) else png_bytes(fig) for name, fig in figures.items()}
    return render(result, images, max_rows)


def check_heatmap_axes(x: str, y: str, facet: str) -> None:
    """Raise :class:`sim.sweep_spec.SweepError` unless ``x``, ``y`` and ``facet`` are three different sweep axes."""
    axes = SweepSpec.AXES
    for flag, axis in (("--heatmap-x", x), ("--heatmap-y", y), ("--heatmap-facet", facet)):
        if axis not in axes:
            raise SweepError(f"{flag}: {axis!r} is not a sweep axis; use one of {', '.join(axes)}")
    if len({x, y, facet}) != 3:
        raise SweepError(f"--heatmap-x/-y/-facet must be three different axes, got {x}, {y}, {facet}")


def sweep_figures(
    result: SweepResult,
    gantt_cell: int | None = None,
    x: str = "portal_session",
    y: str = "activation_max",
    facet: str = "countermeasures",
) -> dict[str, Figure]:
    """Return the report's figures: the four heat maps (``x`` × ``y``, one panel per ``facet`` value) and the Gantt
    of ``gantt_cell`` (default: :func:`sim.sweep.worst_cell`, the cell the summary names)."""
    check_heatmap_axes(x, y, facet)
    rows = result.rows()
    max_window = result.limits.max_window if result.limits is not None else None
    figures: dict[str, Figure] = {}
    for metric in HEATMAP_METRICS:
        if any(r[metric] is not None for r in rows):
            figures[f"heatmap_{metric}"] = heatmap_figure(rows, metric, x, y, facet, max_window)
    worst = worst_cell(rows)
    if worst is not None:
        if gantt_cell is None:
            gantt_cell = int(worst["cell"])
        if not 0 <= gantt_cell < result.spec.n_cells:
            raise SweepError(f"--gantt-cell: {gantt_cell} is not a cell of this sweep (0 – {result.spec.n_cells - 1})")
        settings = result.spec.cell_settings(int(gantt_cell))
        parts = [f"{k} {_label(k, v)}" for k, v in result.spec.cell_axes(int(gantt_cell)).items()]
        axes = ", ".join(parts[:3]) + "\n" + ", ".join(parts[3:])
        end = format_duration(window_hops(settings)[-1].end)
        figures[f"gantt_cell_{gantt_cell}"] = gantt_figure(
            settings,
            title=f"cell #{gantt_cell}: worst-case path, access ends {end} after activation start\n{axes}",
            max_window=max_window,
        )
    return figures


def write_figures(
    result: SweepResult,
    out_dir: Path,
    gantt_cell: int | None = None,
    x: str = "portal_session",
    y: str = "activation_max",
    facet: str = "countermeasures",
) -> list[Path]:
    """Write every figure as ``<name>.png`` and ``report.html`` into ``out_dir``; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images: dict[str, Figure | bytes] = {
        name: png_bytes(fig) for name, fig in sweep_figures(result, gantt_cell, x, y, facet).items()
    }
    paths = []
    for name, data in images.items():
        path = out_dir / f"{name}.png"
        path.write_bytes(data if isinstance(data, bytes) else png_bytes(data))
        paths.append(path)
    report = out_dir / "report.html"
    report.write_text(html_report(result, images), encoding="utf-8")
    paths.append(report)
    return paths
