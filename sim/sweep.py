"""Sweeps: a grid of settings × arrival patterns, Monte Carlo replications, run in parallel, written as CSV + JSON.

The parts: the grid and its seeds in :mod:`sim.sweep_spec` (:class:`sim.sweep_spec.SweepSpec`), one cell's
replications and metrics in :mod:`sim.sweep_cell`, the executors (serial, local process pool, Dask) in
:mod:`sim.executors`. This module runs every cell (:func:`run_sweep`) and writes the outputs
(:class:`SweepResult`: ``sweep.csv`` and ``sweep.json``). Results are identical whatever the executor, the number
of workers or the chunking.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.durations import format_duration
from sim.executors import Executor, LocalExecutor, Progress
from sim.limits import Limits
from sim.sweep_cell import METRICS, CellResult
from sim.sweep_spec import SweepSpec, countermeasure_set

__all__ = ["LIMIT_COLUMNS", "SweepResult", "chunked", "meets_by_bound", "meets_by_sim", "run_sweep", "worst_cell"]

LIMIT_COLUMNS: dict[str, str] = {
    "meets_limit_bound": "the cell's closed-form bound meets every limit given (window; time to access on either "
    "path with no requester left unprovisioned) — the answer to rely on",
    "meets_limit_sim": "the simulated worst meets every limit given (no simulated requester left unprovisioned); "
    "simulation can miss the worst case, so this over-counts",
}
"""The columns a sweep run with ``--max-window`` / ``--max-time-to-access`` adds to each row."""


def meets_by_bound(row: dict[str, Any], limits: Limits) -> bool:
    """Return True when the row's closed-form bound meets ``limits``: ``bound_window`` within the window limit, and
    ``bound_tta`` within the time-to-access limit with no throttled requester left unprovisioned."""
    if limits.max_window is not None and row["bound_window"] > limits.max_window:
        return False
    if limits.max_time_to_access is not None:
        return row["bound_tta"] <= limits.max_time_to_access and not row["bound_never_provisioned_share"]
    return True


def meets_by_sim(row: dict[str, Any], limits: Limits) -> bool:
    """Return True when the simulated worst meets ``limits`` (a requester never provisioned breaks a
    time-to-access limit)."""
    if limits.max_window is not None and (row["sim_window_max"] or 0.0) > limits.max_window:
        return False
    if limits.max_time_to_access is not None:
        return (row["sim_tta_max"] or 0.0) <= limits.max_time_to_access and not row["sim_never_provisioned"]
    return True


def worst_cell(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Return the row with the longest closed-form window (ties: the longest simulated window, then the first) —
    the cell the summary names and the Gantt draws by default."""
    if not rows:
        return None
    return max(rows, key=lambda r: (r["bound_window"], r["sim_window_max"] or -1.0, -r["cell"]))


def _limit_text(limits: Limits) -> str:
    parts = []
    if limits.max_window is not None:
        parts.append(f"window ≤ {format_duration(limits.max_window)}")
    if limits.max_time_to_access is not None:
        parts.append(f"time to access ≤ {format_duration(limits.max_time_to_access)}")
    return " and ".join(parts)


@dataclass
class SweepResult:
    """Every cell's result in grid order, with the spec and how it ran."""

    spec: SweepSpec
    cells: list[CellResult]
    executor: str
    elapsed: float
    limits: Limits | None = None
    """The limits of ``--max-window`` / ``--max-time-to-access``: rows then carry :data:`LIMIT_COLUMNS`."""

    def rows(self) -> list[dict[str, Any]]:
        """Return one flat row per cell (see :meth:`CellResult.row`), with :data:`LIMIT_COLUMNS` under limits."""
        rows = [c.row() for c in self.cells]
        if self.limits is not None and not self.limits.is_empty():
            for r in rows:
                r["meets_limit_bound"] = meets_by_bound(r, self.limits)
                r["meets_limit_sim"] = meets_by_sim(r, self.limits)
        return rows

    def limits_dict(self) -> dict[str, float | None] | None:
        """Return the limits as JSON-ready seconds, or None when none was given."""
        if self.limits is None or self.limits.is_empty():
            return None
        return {"max_window": self.limits.max_window, "max_time_to_access": self.limits.max_time_to_access}

    def passing(self) -> list[dict[str, Any]]:
        """Return the rows meeting the limits by their bound, best first: fewest requesters never provisioned,
        fewest countermeasures, the longest portal session, activation and permission-set session (fewest sign-ins
        and re-activations), then the shortest p99 time to access."""
        rows = [r for r in self.rows() if r.get("meets_limit_bound")]
        return sorted(
            rows,
            key=lambda r: (
                r["sim_never_provisioned_share"] or 0.0,
                len(countermeasure_set(str(r["countermeasures"]))),
                -r["portal_session"],
                -r["activation_max"],
                -r["permission_set_session"],
                r["sim_tta_p99"] if r["sim_tta_p99"] is not None else float("inf"),
                r["cell"],
            ),
        )

    def to_csv(self) -> str:
        """Return the rows as CSV (durations in seconds; empty cells for missing values)."""
        rows = self.rows()
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["cell"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping: the spec, the metric definitions and the rows (no timing, so same seed →
        same bytes)."""
        metrics = {**METRICS, **(LIMIT_COLUMNS if self.limits_dict() else {})}
        return {
            "spec": self.spec.model_dump(mode="json"),
            "limits": self.limits_dict(),
            "metrics": metrics,
            "cells": self.rows(),
        }

    def to_json(self) -> str:
        """Return :meth:`to_dict` as JSON with sorted keys."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1) + "\n"

    def write(self, out_dir: Path) -> list[Path]:
        """Write ``sweep.csv`` and ``sweep.json`` into ``out_dir``; return their paths."""
        out_dir.mkdir(parents=True, exist_ok=True)
        csv_path, json_path = out_dir / "sweep.csv", out_dir / "sweep.json"
        csv_path.write_text(self.to_csv(), encoding="utf-8")
        json_path.write_text(self.to_json(), encoding="utf-8")
        return [csv_path, json_path]

    def summary(self) -> str:
        """Return a short human summary: the answer to the limits first, then cells, never-provisioned, the worst cell."""
        rows = self.rows()
        total = sum(int(r["activations"]) for r in rows)
        engine = sum(int(r["engine_runs"]) for r in rows)
        runs = len(rows) * self.spec.replications
        lines = self.limit_lines(rows)
        lines.append(
            f"{len(rows)} cells × {self.spec.replications} replications, {total} activations in {self.elapsed:.2f} s "
            f"({self.executor}); {engine} of {runs} runs needed the event engine"
        )
        never = sum(int(r["sim_never_provisioned"]) for r in rows)
        if never:
            cells = sum(1 for r in rows if r["sim_never_provisioned"])
            lines.append(
                f"{never} of {total} simulated requesters ({never / total:.1%}) in {cells} cells never got access "
                "(activation ended before provisioning); time-to-access figures cover only those who did"
            )
        worst = worst_cell(rows)
        if worst is not None:
            sim = worst["sim_window_max"]
            lines.append(
                f"worst cell #{worst['cell']} (longest bound): window bound {format_duration(float(worst['bound_window']))}, "
                f"simulated {format_duration(float(sim)) if sim is not None else 'n/a'}; activation "
                f"{format_duration(float(worst['activation_max']))}, portal {format_duration(float(worst['portal_session']))}, "
                f"mode {worst['entitlement_mode']}, countermeasures {worst['countermeasures']}, arrivals {worst['arrivals']}"
            )
        bad = [r["cell"] for r in rows if not r["within_bound"]]
        lines.append("every cell within the closed-form bound" if not bad else f"cells over the bound: {bad}")
        return "\n".join(lines)

    def limit_lines(self, rows: list[dict[str, Any]] | None = None, show: int = 5) -> list[str]:
        """Return the answer to the limits: how many cells meet them by bound and by simulation, the best few."""
        if self.limits is None or self.limits.is_empty():
            return []
        rows = self.rows() if rows is None else rows
        by_bound = sum(1 for r in rows if r["meets_limit_bound"])
        by_sim = sum(1 for r in rows if r["meets_limit_sim"])
        false_pass = sum(1 for r in rows if r["meets_limit_sim"] and not r["meets_limit_bound"])
        lines = [
            f"limit {_limit_text(self.limits)}: {by_bound} of {len(rows)} cells meet it by their bound; "
            f"{by_sim} by simulation ({false_pass} of those only because the simulation missed the worst case)"
        ]
        for r in self.passing()[:show]:
            lines.append(
                f"  cell #{r['cell']}: activation {format_duration(float(r['activation_max']))}, portal "
                f"{format_duration(float(r['portal_session']))}, permission set "
                f"{format_duration(float(r['permission_set_session']))}, {r['entitlement_mode']}, "
                f"countermeasures {r['countermeasures']}, arrivals {r['arrivals']}: window bound "
                f"{format_duration(float(r['bound_window']))}, never provisioned {r['sim_never_provisioned']}"
            )
        return lines


def chunked(indices: Sequence[int], size: int) -> list[list[int]]:
    """Return ``indices`` cut into consecutive chunks of at most ``size``."""
    it = iter(indices)
    return [list(c) for c in iter(lambda: list(itertools.islice(it, size)), [])]


def run_sweep(
    spec: SweepSpec,
    executor: Executor | None = None,
    *,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    engine: str | None = None,
    limits: Limits | None = None,
) -> SweepResult:
    """Run every cell of ``spec`` on ``executor`` (default: local processes) and return the results in grid order.

    ``engine`` overrides ``spec.engine`` (the bench uses it for the engine-alone comparison). Results do not depend
    on the executor or the chunking.
    """
    executor = executor or LocalExecutor()
    cells = list(spec.cells())
    if chunk_size is None:
        workers = getattr(executor, "workers", 4)
        chunk_size = max(1, min(200, math.ceil(len(cells) / (4 * workers))))
    chunks = chunked(cells, chunk_size)
    started = time.perf_counter()
    results = executor.run(spec, chunks, engine, progress or (lambda _n: None))
    elapsed = time.perf_counter() - started
    flat = [cell for chunk in results for cell in chunk]
    return SweepResult(spec, flat, executor.name, elapsed, limits)
