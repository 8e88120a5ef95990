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
from sim.sweep_cell import METRICS, CellResult
from sim.sweep_spec import SweepSpec

__all__ = ["SweepResult", "chunked", "run_sweep"]


@dataclass
class SweepResult:
    """Every cell's result in grid order, with the spec and how it ran."""

    spec: SweepSpec
    cells: list[CellResult]
    executor: str
    elapsed: float

    def rows(self) -> list[dict[str, Any]]:
        """Return one flat row per cell (see :meth:`CellResult.row`)."""
        return [c.row() for c in self.cells]

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
        return {"spec": self.spec.model_dump(mode="json"), "metrics": METRICS, "cells": self.rows()}

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
        """Return a short human summary: cells, activations, engine share, the worst cell."""
        rows = self.rows()
        total = sum(int(r["activations"]) for r in rows)
        engine = sum(int(r["engine_runs"]) for r in rows)
        runs = len(rows) * self.spec.replications
        worst = max(rows, key=lambda r: r["window_max"] if r["window_max"] is not None else -1.0, default=None)
        lines = [
            f"{len(rows)} cells × {self.spec.replications} replications, {total} activations in {self.elapsed:.2f} s "
            f"({self.executor}); {engine} of {runs} runs needed the event engine",
        ]
        if worst is not None and worst["window_max"] is not None:
            lines.append(
                f"worst cell #{worst['cell']}: window {format_duration(float(worst['window_max']))} "
                f"(bound {format_duration(float(worst['bound_window']))}), activation "
                f"{format_duration(float(worst['activation_max']))}, portal {format_duration(float(worst['portal_session']))}, "
                f"mode {worst['entitlement_mode']}, countermeasures {worst['countermeasures']}, arrivals {worst['arrivals']}"
            )
        bad = [r["cell"] for r in rows if not r["within_bound"]]
        lines.append("every cell within the closed-form bound" if not bad else f"cells over the bound: {bad}")
        return "\n".join(lines)


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
    return SweepResult(spec, flat, executor.name, elapsed)
