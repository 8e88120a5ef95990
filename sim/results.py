"""The results of one run: per-activation record columns, aggregates and JSON.

- :data:`COLUMNS` — every per-activation column (numpy arrays, one entry per activation request), with its meaning;
- :class:`RunResult` — the columns plus the inputs, with :meth:`RunResult.records`, :meth:`RunResult.aggregates`
  (percentiles and the sim-vs-bound check against :func:`sim.bounds.worst_case`) and :meth:`RunResult.to_json`
  (same seed, same bytes).

Both the event engine (:func:`sim.engine.simulate_events`) and the vectorised path (:func:`sim.vector.simulate_vector`)
fill the same columns and finish them with :func:`finish_columns`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.bounds import Bound, worst_case
from sim.durations import format_duration
from sim.population import Population
from sim.settings import Settings

__all__ = [
    "BOUND_TOLERANCE",
    "COLUMNS",
    "OUTCOMES",
    "PATHS",
    "ActivationRecord",
    "RunResult",
    "finish_columns",
    "percentiles",
]

NAN = math.nan

BOUND_TOLERANCE = 1e-6
"""Seconds a simulated value may exceed the closed-form bound by before the check fails (float rounding)."""

OUTCOMES = ("not_required", "approved", "denied", "expired")
"""Approval outcome codes (column ``outcome`` holds the index): no approval needed, approved in time, denied by
the approver, expired after 24 h without an answer [E-APPRV]."""

PATHS = ("none", "fast", "throttled", "never")
"""Provisioning path codes (column ``path``): not activated, fast path, throttled to the next cycle, activated but
never reached Identity Center (ended before any cycle or fast path carried it)."""

COLUMNS: dict[str, str] = {
    "id": "activation index, in request order",
    "app": "enterprise app (fast-path throttle) index",
    "request": "request time",
    "outcome": "approval outcome, index into OUTCOMES",
    "decision": "approver decision or expiry time (NaN without approval)",
    "start": "activation start (NaN when denied or expired)",
    "requested": "requested duration (capped at activation_max)",
    "intended_end": "end of the intended window (expiry or self-deactivation)",
    "self_deactivated": "user ended the activation early",
    "deactivation_refused": "self-deactivation refused (within 5 min, enforce_min_active)",
    "entra_add": "Entra group membership added",
    "entra_remove": "Entra group membership removed",
    "path": "provisioning path, index into PATHS",
    "fast_latency": "sampled fast-path latency (used only on the fast path)",
    "idc_start": "Identity Center membership start",
    "idc_end": "Identity Center membership end",
    "time_to_access": "idc_start - request",
    "signin": "modelled user's portal sign-in",
    "first_launch": "modelled user's first permission-set launch",
    "launches": "modelled user's number of allowed launches",
    "effective_end": "modelled user's last instant of AWS access",
    "latest_launch": "latest launch any user could achieve (supremum)",
    "worst_effective_end": "worst-case user's last instant of AWS access",
    "overhang": "worst_effective_end - intended_end (headline)",
    "overhang_modelled": "effective_end - intended_end (modelled user)",
    "removal_failures": "failed removal attempts before the one that succeeded (drawn) [E-PLOGS][E-QUAR]",
    "removal_quarantined": "the removal met a quarantined job, one cycle a day (drawn) [E-QUAR]",
    "removal_initial_delay": "extra time of the first removal attempt in an initial cycle (drawn; 0 = none) [E-WHEN]",
}
"""Every per-activation column of :class:`RunResult`, with its meaning."""

_INT_COLUMNS = ("id", "app", "outcome", "path", "launches", "removal_failures")
_BOOL_COLUMNS = ("self_deactivated", "deactivation_refused", "removal_quarantined")


def finish_columns(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return ``cols`` with the derived columns added, in :data:`COLUMNS` order.

    Derived: ``time_to_access`` = ``idc_start - request``, ``overhang`` = ``worst_effective_end - intended_end``,
    ``overhang_modelled`` = ``effective_end - intended_end``.
    """
    cols["time_to_access"] = cols["idc_start"] - cols["request"]
    cols["overhang"] = cols["worst_effective_end"] - cols["intended_end"]
    cols["overhang_modelled"] = cols["effective_end"] - cols["intended_end"]
    return {k: cols[k] for k in COLUMNS}


@dataclass(frozen=True)
class ActivationRecord:
    """One activation request and everything that followed it (see :data:`COLUMNS`; ``None`` = never happened)."""

    id: int
    app: int
    request: float
    outcome: str
    decision: float | None
    start: float | None
    requested: float
    intended_end: float | None
    self_deactivated: bool
    deactivation_refused: bool
    entra_add: float | None
    entra_remove: float | None
    path: str
    fast_latency: float
    idc_start: float | None
    idc_end: float | None
    time_to_access: float | None
    signin: float | None
    first_launch: float | None
    launches: int
    effective_end: float | None
    latest_launch: float | None
    worst_effective_end: float | None
    overhang: float | None
    overhang_modelled: float | None
    removal_failures: int
    removal_quarantined: bool
    removal_initial_delay: float | None


def _json_float(x: float) -> float | None:
    return round(x, 3) if math.isfinite(x) else None


def percentiles(values: np.ndarray, q: Sequence[float], with_max: bool = False) -> list[float | None]:
    """Return the ``q`` percentiles of the non-NaN ``values`` (and their max), rounded to milliseconds.

    Every entry is None when no value is finite. The values are ``numpy.percentile``'s (its default ``linear``
    method, computed the same way to the bit: ``tests/test_results.py`` holds them equal), from one partial sort
    for every rank needed and the max instead of one per call — sweeps take three per cell.
    """
    v = values[~np.isnan(values)]
    n = len(v)
    if n == 0:
        return [None] * (len(q) + with_max)
    virtual = [(n - 1) * (x / 100) for x in q]
    lows = [math.floor(x) for x in virtual]
    kth = sorted({k for lo in lows if lo < n - 1 for k in (lo, lo + 1)})
    if kth:
        v.partition(kth)
    top = float(v.max())
    out: list[float | None] = []
    for x, lo in zip(virtual, lows, strict=True):
        if x >= n - 1:  # numpy takes the max on both sides, with its index -1 in the weight
            a = b = top
            t = x + 1
        else:
            a, b = float(v[lo]), float(v[lo + 1])
            t = x - lo
        diff = b - a  # numpy's _lerp: from below under one half, from above at or over it
        out.append(round(b - diff * (1 - t) if t >= 0.5 else a + diff * t, 3))
    if with_max:
        out.append(round(top, 3))
    return out


def _summary(values: np.ndarray) -> dict[str, float | int | None]:
    p50, p90, p99, top = percentiles(values, [50, 90, 99], with_max=True)
    return {"n": int(np.sum(~np.isnan(values))), "p50": p50, "p90": p90, "p99": p99, "max": top}


@dataclass
class RunResult:
    """The outcome of one run: per-activation ``columns`` (numpy arrays keyed as in :data:`COLUMNS`) plus inputs.

    ``events`` is the number of kernel events processed (0 for results built by the numpy path); ``engine`` says
    which implementation ran (``vector`` or ``engine``, see :func:`sim.run.simulate`).
    """

    settings: Settings
    population: Population
    seed: int
    columns: dict[str, np.ndarray]
    events: int = 0
    name: str = ""
    engine: str = "engine"

    @property
    def n(self) -> int:
        """Return the number of activation requests."""
        return len(self.columns["request"])

    def __repr__(self) -> str:
        """Return a one-line summary (the columns hold one value per activation: print ``records()`` for those)."""
        worst = self.worst_window()
        shown = "none provisioned" if math.isnan(worst) else f"worst window {format_duration(worst)}"
        label = f"{self.name!r}, " if self.name else ""
        return (
            f"RunResult({label}{self.n} activations, seed {self.seed}, {shown}, "
            f"engine {self.engine!r}, {len(self.columns)} columns)"
        )

    def bound(self) -> Bound:
        """Return the closed-form worst case for this run's settings (:func:`sim.bounds.worst_case`)."""
        return worst_case(self.settings)

    def record(self, i: int) -> ActivationRecord:
        """Return activation ``i`` as an :class:`ActivationRecord`."""
        c = self.columns
        values: dict[str, Any] = {}
        for key in COLUMNS:
            x = c[key][i]
            if key == "outcome":
                values[key] = OUTCOMES[int(x)]
            elif key == "path":
                values[key] = PATHS[int(x)]
            elif key in _INT_COLUMNS:
                values[key] = int(x)
            elif key in _BOOL_COLUMNS:
                values[key] = bool(x)
            else:
                f = float(x)
                values[key] = None if math.isnan(f) and key not in ("requested", "fast_latency") else f
        return ActivationRecord(**values)

    def records(self) -> Iterator[ActivationRecord]:
        """Yield every activation as an :class:`ActivationRecord`, in request order."""
        for i in range(self.n):
            yield self.record(i)

    def effective_window(self) -> np.ndarray:
        """Return each activation's worst-case effective window, ``worst_effective_end - start`` (NaN if none)."""
        window: np.ndarray = self.columns["worst_effective_end"] - self.columns["start"]
        return window

    def worst_window(self) -> float:
        """Return the largest ``worst_effective_end - start`` of the run (NaN when nothing was provisioned)."""
        w = self.effective_window()
        return float(np.nanmax(w)) if np.any(~np.isnan(w)) else NAN

    def aggregates(self) -> dict[str, Any]:
        """Return counts, percentiles (p50/p90/p99/max) and the closed-form bound with the sim-vs-bound check.

        ``within_bound`` is True when no activation's effective window (worst-case user, from activation start),
        overhang or time to access exceeds :func:`sim.bounds.worst_case` — a violated bound is a model bug.
        """
        c = self.columns
        outcome = c["outcome"]
        path = c["path"]
        counts = {
            "requests": self.n,
            "approval_not_required": int(np.sum(outcome == 0)),
            "approved": int(np.sum(outcome == 1)),
            "denied": int(np.sum(outcome == 2)),
            "approval_expired": int(np.sum(outcome == 3)),
            "activated": int(np.sum(path != 0)),
            "fast_path": int(np.sum(path == 1)),
            "throttled": int(np.sum(path == 2)),
            "never_provisioned": int(np.sum(path == 3)),
            "self_deactivated": int(np.sum(c["self_deactivated"])),
            "deactivation_refused": int(np.sum(c["deactivation_refused"])),
            "launched": int(np.sum(c["launches"] > 0)),
            "removal_failed": int(np.sum(c["removal_failures"] > 0)),
            "removal_quarantined": int(np.sum(c["removal_quarantined"])),
            "removal_initial_cycle": int(np.sum(c["removal_initial_delay"] > 0)),
        }
        window = self.effective_window()
        b = self.bound()
        tta_bound = b.worst_time_to_access()
        eps = BOUND_TOLERANCE
        checks = {
            "effective_window": bool(np.all(np.isnan(window) | (window <= b.effective_end + eps))),
            "overhang": bool(np.all(np.isnan(c["overhang"]) | (c["overhang"] <= b.overhang + eps))),
            "time_to_access": bool(np.all(np.isnan(c["time_to_access"]) | (c["time_to_access"] <= tta_bound + eps))),
        }
        worst = self.worst_window()
        return {
            "counts": counts,
            "time_to_access": _summary(c["time_to_access"]),
            "intended_window": _summary(c["intended_end"] - c["start"]),
            "idc_membership": _summary(c["idc_end"] - c["idc_start"]),
            "deprovision_wait": _summary(c["idc_end"] - c["intended_end"]),
            "effective_window": _summary(window),
            "overhang": _summary(c["overhang"]),
            "overhang_modelled": _summary(c["overhang_modelled"]),
            "sim_worst_window": _json_float(worst),
            "bound": {k: _json_float(v) if v is not None else None for k, v in b.as_dict().items()},
            "bound_checks": checks,
            "within_bound": all(checks.values()),
        }

    def to_dict(self, records: bool = True) -> dict[str, Any]:
        """Return a JSON-ready mapping: inputs, aggregates and (by default) every per-activation record."""
        out: dict[str, Any] = {
            "name": self.name,
            "seed": self.seed,
            "settings": self.settings.model_dump(mode="json"),
            "population": self.population.model_dump(mode="json"),
            "engine": self.engine,
            "events": self.events,
            "aggregates": self.aggregates(),
        }
        if records:
            out["records"] = self.record_dicts()
        return out

    def record_dicts(self) -> list[dict[str, Any]]:
        """Return every activation as a JSON-ready dict (column-wise conversion; floats rounded to milliseconds,
        ``None`` for steps that never happened)."""
        lists: list[list[Any]] = []
        for key in COLUMNS:
            col = self.columns[key]
            if key == "outcome":
                lists.append([OUTCOMES[x] for x in col.tolist()])
            elif key == "path":
                lists.append([PATHS[x] for x in col.tolist()])
            elif key in _INT_COLUMNS:
                lists.append(col.astype(np.int64).tolist())
            elif key in _BOOL_COLUMNS:
                lists.append(col.astype(bool).tolist())
            else:
                lists.append([_json_float(x) for x in col.tolist()])
        keys = list(COLUMNS)
        return [dict(zip(keys, row, strict=True)) for row in zip(*lists, strict=True)]

    def to_json(self, records: bool = True) -> str:
        """Return :meth:`to_dict` as JSON: sorted keys, compact separators, floats rounded to milliseconds — same seed, same bytes."""
        return json.dumps(self.to_dict(records), sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"
