"""Figures of a sweep: heat maps, the worst-case Gantt timeline, and one self-contained HTML report.

- :func:`heatmap_figure` — one panel per facet value (default: entitlement mode), cells coloured by a metric in
  hours over two grid axes (default: portal session × activation maximum); where the sweep has more axes, each
  square shows the **largest** value over them (stated in the title). Metrics: worst-case and p99 overhang,
  median and p99 time to access (:data:`HEATMAP_METRICS`).
- :func:`gantt_figure` — the worst-case path of one settings combination through each hop, from
  :func:`sim.bounds.access_hops` and :func:`sim.bounds.window_hops` (so it is the closed-form bound of
  :func:`sim.bounds.worst_case`, hop by hop, with the same source tags).
- :func:`html_report` — the summary, every figure as an embedded base64 PNG and the results table; no external
  files or links.

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot state), so they work headless and in
parallel.
"""

from __future__ import annotations

import base64
import html
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
from sim.sweep import SweepResult
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
    "overhang_max": "worst-case overhang",
    "overhang_p99": "p99 overhang",
    "tta_p50": "median time to access",
    "tta_p99": "p99 time to access",
}
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
    facet: str = "entitlement_mode",
) -> Figure:
    """Return a figure with one heat-map panel per ``facet`` value; colours and labels are ``metric`` in hours.

    Each panel's image data (``ax.images[0].get_array()``) is :func:`heatmap_matrix` divided by 3600.
    """
    facets = sorted({r[facet] for r in rows}, key=str)
    fig = Figure(figsize=(4.2 * len(facets) + 1.2, 3.6), layout="constrained")
    axes = fig.subplots(1, len(facets), squeeze=False)[0]
    others = [a for a in SweepSpec.AXES if a not in (x, y, facet) and len({r[a] for r in rows}) > 1]
    finite = [r[metric] for r in rows if r[metric] is not None]
    vmax = max(finite) / HOUR if finite else 1.0
    image = None
    for ax, value in zip(axes, facets, strict=True):
        xs, ys, matrix = heatmap_matrix(rows, metric, x, y, {facet: value})
        hours = matrix / HOUR
        image = ax.imshow(hours, origin="lower", aspect="auto", cmap="magma_r", vmin=0.0, vmax=max(vmax, 1e-9))
        ax.set_xticks(range(len(xs)), [_label(x, v) for v in xs], rotation=45, ha="right")
        ax.set_yticks(range(len(ys)), [_label(y, v) for v in ys])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(f"{facet} = {value}", fontsize=9)
        for (i, j), v in np.ndenumerate(matrix):
            if not math.isnan(v):
                ax.text(
                    j,
                    i,
                    format_duration(v),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v / HOUR > 0.6 * vmax else "black",
                )
    if image is not None:
        fig.colorbar(image, ax=list(axes), label="hours")
    over = f" (largest over {', '.join(others)})" if others else ""
    fig.suptitle(f"{HEATMAP_METRICS.get(metric, metric)}{over}", fontsize=10)
    return fig


def gantt_figure(settings: Settings, access_path: AccessPath = AccessPath.FAST, title: str = "") -> Figure:
    """Return the worst-case timeline of ``settings``: one bar per hop, time in hours from the request.

    Bars (each a labelled bar container): the provisioning hops of :func:`sim.bounds.access_hops` (time to access),
    then the window hops of :func:`sim.bounds.window_hops` — activation, deprovisioning, portal after removal, role
    session; with ``approval_required`` the window starts after the 24-h approval worst case [E-APPRV]. A dashed
    line marks the intended end.
    """
    offset = APPROVAL_TIMEOUT if settings.approval_required else 0.0  # activation starts when approved [E-APPRV]
    hops = [("access", h, 0.0) for h in access_hops(settings, access_path)]
    hops += [("window", h, offset) for h in window_hops(settings)]
    fig = Figure(figsize=(10, 0.55 * len(hops) + 1.6), layout="constrained")
    ax = fig.subplots()
    colours = {"access": "#4c72b0", "window": "#c44e52"}
    labels = []
    for k, (kind, hop, shift) in enumerate(hops):
        start = (shift + hop.end - hop.duration) / HOUR
        ax.barh(k, hop.duration / HOUR, left=start, color=colours[kind], label=hop.name, height=0.6)
        ax.text((shift + hop.end) / HOUR, k, f"  {format_duration(hop.duration)} {hop.source}", va="center", fontsize=7)
        labels.append(hop.name)
    ax.axvline((offset + settings.activation_max) / HOUR, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(hops)), labels, fontsize=8)
    ax.invert_yaxis()
    end = window_hops(settings)[-1].end
    ax.set_xlim(0, (offset + end) / HOUR * 1.35 + 0.1)
    ax.set_xlabel("hours from the request (dashed: intended end)")
    ax.set_title(title or f"worst-case path: access ends {format_duration(end)} after activation start", fontsize=9)
    return fig


def png_bytes(fig: Figure, dpi: int = 100) -> bytes:
    """Return ``fig`` rendered as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def html_report(result: SweepResult, figures: dict[str, Figure | bytes], max_rows: int = 200) -> str:
    """Return one self-contained HTML page: the summary, every figure (base64 PNG) and the first result rows.

    ``figures`` maps names to figures or to PNG bytes already rendered by :func:`png_bytes`.
    """
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>jitbox sweep</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{max-width:100%}</style></head><body>",
        "<h1>jitbox sweep</h1>",
        f"<pre>{html.escape(result.summary())}</pre>",
    ]
    for name, fig in figures.items():
        data = base64.b64encode(fig if isinstance(fig, bytes) else png_bytes(fig)).decode("ascii")
        parts.append(f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>")
    rows = result.rows()
    if rows:
        columns = list(rows[0])
        parts.append(f"<h2>results ({len(rows)} cells; first {min(len(rows), max_rows)} shown)</h2><table><tr>")
        parts.extend(f"<th>{html.escape(c)}</th>" for c in columns)
        parts.append("</tr>")
        for row in rows[:max_rows]:
            cells = "".join(f"<td>{html.escape(_cell(c, row[c]))}</td>" for c in columns)
            parts.append(f"<tr>{cells}</tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and column not in ("activations",) and not isinstance(value, bool):
        return format_duration(value)
    return str(value)


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
    facet: str = "entitlement_mode",
) -> dict[str, Figure]:
    """Return the report's figures: the four heat maps (``x`` × ``y``, one panel per ``facet`` value) and the Gantt
    of ``gantt_cell`` (default: the cell with the longest closed-form window)."""
    check_heatmap_axes(x, y, facet)
    rows = result.rows()
    figures: dict[str, Figure] = {}
    for metric in HEATMAP_METRICS:
        if any(r[metric] is not None for r in rows):
            figures[f"heatmap_{metric}"] = heatmap_figure(rows, metric, x, y, facet)
    if rows:
        if gantt_cell is None:
            gantt_cell = max(rows, key=lambda r: r["bound_window"])["cell"]
        if not 0 <= gantt_cell < result.spec.n_cells:
            raise SweepError(f"--gantt-cell: {gantt_cell} is not a cell of this sweep (0 – {result.spec.n_cells - 1})")
        settings = result.spec.cell_settings(int(gantt_cell))
        parts = [f"{k} {_label(k, v)}" for k, v in result.spec.cell_axes(int(gantt_cell)).items()]
        axes = ", ".join(parts[:3]) + "\n" + ", ".join(parts[3:])
        end = format_duration(window_hops(settings)[-1].end)
        figures[f"gantt_cell_{gantt_cell}"] = gantt_figure(
            settings, title=f"cell {gantt_cell}: worst-case path, access ends {end} after activation start\n{axes}"
        )
    return figures


def write_figures(
    result: SweepResult,
    out_dir: Path,
    gantt_cell: int | None = None,
    x: str = "portal_session",
    y: str = "activation_max",
    facet: str = "entitlement_mode",
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
