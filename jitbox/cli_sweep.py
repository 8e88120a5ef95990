"""``jitbox sweep``: run a grid of settings × arrival patterns with Monte Carlo replications; write CSV, JSON, figures.

Grid axes come from an optional TOML file (the :class:`sim.sweep_spec.SweepSpec` fields) and/or comma-separated flags
(flags win). ``--max-window`` / ``--max-time-to-access`` mark and count the cells that meet the limit by their
closed-form bound and, separately, by simulation; the answer is printed first. Exit codes: 0 done (and, with a
limit, at least one cell meets it by its bound), 1 no cell meets the limit, 2 bad input (one message naming the flag
or field, before anything runs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

__all__ = ["register"]


def _split(text: str | None) -> list[str] | None:
    return None if text is None else [p.strip() for p in text.split(",") if p.strip()]


def sweep_command(
    spec_file: Annotated[Path | None, typer.Argument(help="optional TOML sweep file (SweepSpec fields)")] = None,
    activation: Annotated[
        str | None, typer.Option("--activation", help="PIM activation maximum(s), e.g. 1h,4h,8h")
    ] = None,
    portal: Annotated[str | None, typer.Option("--portal", help="access portal session(s), e.g. 1h,8h")] = None,
    permission_set: Annotated[
        str | None, typer.Option("--permission-set", help="permission-set session(s), e.g. 1h,4h")
    ] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="entitlement modes, comma-separated")] = None,
    countermeasures: Annotated[
        str | None, typer.Option("--countermeasures", help="sets: none, all, or '+'-joined names, comma-separated")
    ] = None,
    arrivals: Annotated[
        str | None, typer.Option("--arrivals", help="patterns: steady, busy, incident, poisson:R, burst:N:WITHIN:EVERY")
    ] = None,
    activations: Annotated[
        int | None, typer.Option("--requests", help="activation requests per cell per replication")
    ] = None,
    replications: Annotated[int | None, typer.Option("--replications", help="Monte Carlo replications")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="base seed (per-cell seeds derive from it)")] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="auto (default), vector or engine")] = None,
    failed_removals: Annotated[
        int | None,
        typer.Option(
            "--failed-removals",
            min=0,
            max=10,
            help="every cell assumes the first N removal attempts fail and are retried on the next cycles",
        ),
    ] = None,
    executor: Annotated[str, typer.Option("--executor", help="local (process pool), serial or dask")] = "local",
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="local processes (default: all cores)")
    ] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address")] = None,
    out: Annotated[Path, typer.Option("--out", help="output directory")] = Path("sweep-out"),
    figures: Annotated[bool, typer.Option("--figures/--no-figures", help="write PNG heat maps, Gantt, HTML")] = True,
    gantt_cell: Annotated[int | None, typer.Option("--gantt-cell", help="cell for the Gantt (default: worst)")] = None,
    heatmap_x: Annotated[str, typer.Option("--heatmap-x", help="heat-map x axis")] = "portal_session",
    heatmap_y: Annotated[str, typer.Option("--heatmap-y", help="heat-map y axis")] = "activation_max",
    heatmap_facet: Annotated[str, typer.Option("--heatmap-facet", help="one panel per value")] = "countermeasures",
    max_window: Annotated[
        str | None, typer.Option("--max-window", help="limit: longest allowed window from activation start, e.g. 2h")
    ] = None,
    max_time_to_access: Annotated[
        str | None, typer.Option("--max-time-to-access", help="limit: longest allowed request → access, e.g. 15m")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the summary (limits, counts, passing cells) as JSON")
    ] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="show a progress bar")] = True,
) -> None:
    """Sweep settings × arrival patterns; write sweep.csv, sweep.json, heat maps, a Gantt and report.html."""
    from sim.sweep_spec import SweepError

    overrides: dict[str, Any] = {
        "activation_max": _split(activation),
        "portal_session": _split(portal),
        "permission_set_session": _split(permission_set),
        "entitlement_mode": _split(mode),
        "countermeasures": _split(countermeasures),
        "arrivals": _split(arrivals),
        "activations": activations,
        "replications": replications,
        "seed": seed,
        "engine": engine,
    }
    heatmap = (heatmap_x, heatmap_y, heatmap_facet) if figures else None
    spec, limits, pool = _prepare(
        spec_file, overrides, failed_removals, (max_window, max_time_to_access), (executor, workers, scheduler)
    )
    _check_outputs(spec, out, heatmap, gantt_cell)
    result = _run(spec, pool, limits, progress)
    paths = result.write(out)
    if heatmap is not None:
        from sim.figures import write_figures

        try:
            paths += write_figures(result, out, gantt_cell, *heatmap)
        except SweepError as exc:
            _fail(exc)
    _report(result, paths, as_json)
    if not limits.is_empty() and not result.passing():
        raise typer.Exit(1)


def _fail(exc: Exception) -> NoReturn:
    typer.echo(f"jitbox sweep: {exc}", err=True)
    raise typer.Exit(2) from None


def _prepare(
    spec_file: Path | None,
    overrides: dict[str, Any],
    failed_removals: int | None,
    limit_flags: tuple[str | None, str | None],
    executor: tuple[str, int | None, str | None],
) -> tuple[Any, Any, Any]:
    """Return ``(spec, limits, executor)`` from the flags; exit 2 naming the flag or field when one is bad."""
    from sim.executors import make_executor
    from sim.limits import CheckError, Limits, parse_limit
    from sim.sweep_spec import SweepError, load_sweep_file, make_spec

    try:
        try:
            limits = Limits(
                max_window=parse_limit(limit_flags[0], "--max-window"),
                max_time_to_access=parse_limit(limit_flags[1], "--max-time-to-access"),
            )
        except CheckError as exc:
            raise SweepError(str(exc)) from None
        if spec_file is not None:
            spec = load_sweep_file(spec_file, **overrides)
        else:
            spec = make_spec({k: v for k, v in overrides.items() if v is not None}, where="flags")
        if failed_removals is not None:
            spec = spec.model_copy(update={"base": {**spec.base, "failed_removals": failed_removals}})
        pool = make_executor(*executor)
    except SweepError as exc:
        _fail(exc)
    return spec, limits, pool


def _check_outputs(spec: Any, out: Path, heatmap: tuple[str, str, str] | None, gantt_cell: int | None) -> None:
    """Check the figure flags and create the output directory before the run; exit 2 naming the flag."""
    from sim.sweep_spec import SweepError

    try:
        if heatmap is not None:
            from sim.figures import check_heatmap_axes

            check_heatmap_axes(*heatmap)
        if gantt_cell is not None and not 0 <= gantt_cell < spec.n_cells:
            raise SweepError(f"--gantt-cell: {gantt_cell} is not a cell of this sweep (0 – {spec.n_cells - 1})")
    except SweepError as exc:
        _fail(exc)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        typer.echo(f"jitbox sweep: --out: cannot create {out} ({exc.strerror or exc})", err=True)
        raise typer.Exit(2) from None


def _run(spec: Any, pool: Any, limits: Any, progress: bool) -> Any:
    """Run the sweep with a progress bar on stderr; exit 2 on a bad cell setting."""
    from sim.sweep import run_sweep
    from sim.sweep_spec import SweepError

    bar = Progress(
        TextColumn("sweep"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not progress,
    )
    try:
        with bar:
            task = bar.add_task("cells", total=spec.n_cells)
            return run_sweep(spec, pool, progress=lambda k: bar.advance(task, k), limits=limits)
    except SweepError as exc:
        _fail(exc)


def _report(result: Any, paths: list[Path], as_json: bool) -> None:
    """Print the summary (or, with ``--json``, the limits, counts and passing cells) and the files written."""
    if as_json:
        doc = {
            "limits": result.limits_dict(),
            "cells": len(result.cells),
            "meets_limit_bound": [r["cell"] for r in result.passing()],
            "meets_limit_sim": [r["cell"] for r in result.rows() if r.get("meets_limit_sim")],
            "summary": result.summary().splitlines(),
            "wrote": [str(p) for p in paths],
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    typer.echo(result.summary())
    for path in paths:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to the ``jitbox`` command line."""
    app.command("sweep")(sweep_command)
