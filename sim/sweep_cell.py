"""One sweep cell: its replications run on the numpy path or the event engine, and the metrics they give.

Each cell runs through :func:`sim.run.simulate` (``engine = "auto"``: the numpy path, for every population,
throttled bursts included), or one path forced (``vector`` / ``engine``, the reference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.bounds import worst_case
from sim.population import Population
from sim.results import BOUND_TOLERANCE, percentiles
from sim.run import choose_engine, simulate
from sim.settings import EntitlementMode, Settings
from sim.sweep_spec import SweepSpec, arrival_population, cell_seed
from sim.vector import worst_case_columns

__all__ = ["METRICS", "CellResult", "run_cell", "run_cells"]


METRICS: dict[str, str] = {
    "activations": "activation requests over all replications",
    "sim_fast_path": "simulated: activations that took the fast path [E-AWS]",
    "sim_throttled": "simulated: activations that waited for the regular cycle [E-AWS]",
    "sim_never_provisioned": "simulated: requesters who never got access (activation ended before provisioning)",
    "sim_never_provisioned_share": "simulated: share of requesters who never got access (0–1)",
    "sim_overhang_max": "simulated: worst overhang, worst-case user's access end − intended end (s)",
    "sim_overhang_p99": "simulated: p99 of the worst-case user's overhang (s)",
    "sim_overhang_p50": "simulated: median of the worst-case user's overhang (s)",
    "sim_window_max": "simulated: largest effective window from activation start (s)",
    "sim_tta_p50": "simulated: median time to access, request → Identity Center, of those who got access (s)",
    "sim_tta_p99": "simulated: p99 time to access of those who got access (s); see sim_never_provisioned",
    "sim_tta_max": "simulated: worst time to access of those who got access (s)",
    "sim_overhang_p99_sd": "simulated: standard deviation of the per-replication p99 overhang (s)",
    "sim_tta_p99_sd": "simulated: standard deviation of the per-replication p99 time to access (s)",
    "bound_window": "bound: closed-form worst-case window from activation start, sim.bounds.worst_case (s)",
    "bound_overhang": "bound: closed-form worst-case overhang (s)",
    "bound_tta": "bound: worst time to access on either path, incl. approval when required (s)",
    "bound_never_provisioned_share": "bound: share of throttled requesters whose activation ends before the cycle",
    "within_bound": "no simulated activation exceeded the closed-form bound",
    "engine_runs": "replications run by the event engine (the rest by the numpy path)",
}
"""Every per-cell metric in the CSV/JSON output, with its meaning."""


@dataclass(frozen=True)
class CellResult:
    """The metrics of one cell (see :data:`METRICS`) and its axis values."""

    index: int
    axes: dict[str, Any]
    metrics: dict[str, float | int | bool | None]

    def row(self) -> dict[str, Any]:
        """Return one flat CSV/JSON row: index, axis values (durations in seconds), metrics."""
        axes = {k: (v.value if isinstance(v, EntitlementMode) else v) for k, v in self.axes.items()}
        return {"cell": self.index, **axes, **self.metrics}


def _replication(s: Settings, population: Population, seed: int, how: str) -> dict[str, np.ndarray]:
    """Return the columns a cell reads from one replication (``path``, ``time_to_access``, ``overhang``,
    ``window``): on the event engine for ``how == "engine"``, else on the numpy path without the modelled user's
    launches, which no sweep metric reads (:func:`sim.vector.worst_case_columns`; same values)."""
    if how != "engine":
        return worst_case_columns(s, population.draw(s, seed))
    run = simulate(s, population, seed, engine="engine")
    c = run.columns
    return {
        "path": c["path"],
        "time_to_access": c["time_to_access"],
        "overhang": c["overhang"],
        "window": run.effective_window(),
    }


def _sd(values: list[float | None]) -> float | None:
    """Return the standard deviation of the known values rounded to milliseconds, or None for fewer than two."""
    v = [x for x in values if x is not None]
    return round(float(np.std(v)), 3) if len(v) > 1 else None


def run_cell(spec: SweepSpec, index: int, engine: str | None = None) -> CellResult:
    """Return the metrics of cell ``index`` over ``spec.replications`` runs (columns pooled for percentiles)."""
    s = spec.cell_settings(index)
    axes = spec.cell_axes(index)
    population = arrival_population(axes["arrivals"], spec.activations, spec.population)
    overhang, tta, window, paths = [], [], [], []
    p99_overhang, p99_tta = [], []
    how = choose_engine(s, population, engine or spec.engine)
    engine_runs = 0
    for r in range(spec.replications):
        c = _replication(s, population, cell_seed(spec.seed, index, r), how)
        engine_runs += how == "engine"
        overhang.append(c["overhang"])
        tta.append(c["time_to_access"])
        window.append(c["window"])
        paths.append(c["path"])
        if spec.replications > 1:  # the spread of p99 across replications
            p99_overhang.append(percentiles(c["overhang"], [99])[0])
            p99_tta.append(percentiles(c["time_to_access"], [99])[0])
    o, t, w, p = (np.concatenate(x) for x in (overhang, tta, window, paths))
    b = worst_case(s)
    o50, o99, omax = percentiles(o, [50, 99], with_max=True)
    t50, t99, tmax = percentiles(t, [50, 99], with_max=True)
    (wmax,) = percentiles(w, [], with_max=True)
    eps = BOUND_TOLERANCE
    never = int(np.sum(p == 3))
    metrics: dict[str, float | int | bool | None] = {
        "activations": len(o),
        "sim_fast_path": int(np.sum(p == 1)),
        "sim_throttled": int(np.sum(p == 2)),
        "sim_never_provisioned": never,
        "sim_never_provisioned_share": round(never / len(o), 6) if len(o) else None,
        "sim_overhang_max": omax,
        "sim_overhang_p99": o99,
        "sim_overhang_p50": o50,
        "sim_window_max": wmax,
        "sim_tta_p50": t50,
        "sim_tta_p99": t99,
        "sim_tta_max": tmax,
        "sim_overhang_p99_sd": _sd(p99_overhang),
        "sim_tta_p99_sd": _sd(p99_tta),
        "bound_window": b.effective_end,
        "bound_overhang": b.overhang,
        "bound_tta": b.worst_time_to_access(),
        "bound_never_provisioned_share": b.never_provisioned_throttled,
        "within_bound": (wmax is None or wmax <= b.effective_end + eps) and (omax is None or omax <= b.overhang + eps),
        "engine_runs": engine_runs,
    }
    return CellResult(index, axes, metrics)


def run_cells(spec: SweepSpec, indices: Sequence[int], engine: str | None = None) -> list[CellResult]:
    """Return :func:`run_cell` for each index (the unit of work shipped to an executor's worker)."""
    return [run_cell(spec, i, engine) for i in indices]
