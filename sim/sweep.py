"""Sweeps: a grid of settings × arrival patterns, Monte Carlo replications, run in parallel, written as CSV + JSON.

A :class:`SweepSpec` names the grid axes — activation maximum [AWS-BLOG][E-SET], portal session [UG-uis],
permission-set session [UG23-howto], entitlement mode (UNCONFIRMED which AWS uses: [AWS-BLOG]/[UG-revoke]/
[UG23-auth]), countermeasure sets [UG-endsess][IAM-revoke][UG-revoke] and arrival patterns — plus activations per
cell, replications and the base seed. Cells are numbered in grid order (:meth:`SweepSpec.cells`); replication ``r``
of cell ``i`` uses the seed :func:`cell_seed` ``(seed, i, r)`` derived with ``numpy.random.SeedSequence``, so results
are identical whatever the executor, the number of workers or the chunking.

Each cell runs through :func:`sim.vector.simulate_auto` (``engine = "auto"``: the numpy path where the closed form
holds, the event engine for sliding-window fast-path bursts), or one path forced (``vector`` / ``engine``).

Executors: ``serial`` (in process), ``local`` (a process pool over local cores, the default) and ``dask``
(``distributed.Client`` on a scheduler address, or a client you pass in). They all return results in cell order.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from sim.bounds import worst_case
from sim.durations import DurationError, format_duration, parse_duration
from sim.engine import simulate
from sim.population import Population
from sim.settings import COUNTERMEASURES, HOUR, EntitlementMode, Settings, SettingsError, load_settings
from sim.vector import simulate_auto, simulate_vector

__all__ = [
    "METRICS",
    "CellResult",
    "DaskExecutor",
    "LocalExecutor",
    "SerialExecutor",
    "SweepError",
    "SweepResult",
    "SweepSpec",
    "arrival_population",
    "cell_seed",
    "load_sweep_file",
    "make_executor",
    "make_spec",
    "run_cells",
    "run_sweep",
]


METRICS: dict[str, str] = {
    "activations": "activation requests over all replications",
    "fast_path": "activations that took the fast path [E-AWS]",
    "throttled": "activations that waited for the regular cycle [E-AWS]",
    "never_provisioned": "activations that never reached Identity Center",
    "overhang_max": "worst overhang: worst-case user's access end − intended end (s)",
    "overhang_p99": "p99 of the worst-case user's overhang (s)",
    "overhang_p50": "median of the worst-case user's overhang (s)",
    "window_max": "largest effective window from activation start (s)",
    "tta_p50": "median time to access, request → Identity Center (s)",
    "tta_p99": "p99 time to access (s)",
    "tta_max": "worst time to access (s)",
    "overhang_p99_sd": "standard deviation of the per-replication p99 overhang (s)",
    "tta_p99_sd": "standard deviation of the per-replication p99 time to access (s)",
    "bound_window": "closed-form worst-case window, sim.bounds.worst_case (s)",
    "bound_overhang": "closed-form worst-case overhang (s)",
    "within_bound": "no activation exceeded the closed-form bound",
    "engine_runs": "replications run by the event engine (the rest by the numpy path)",
}
"""Every per-cell metric in the CSV/JSON output, with its meaning."""


class SweepError(ValueError):
    """A sweep specification that cannot run; the message names the field, flag or pattern."""


# --- arrival patterns ----------------------------------------------------------------------------------

ARRIVAL_HELP = (
    "steady (Poisson 6/h), busy (Poisson 360/h), incident (bursts of 30 within 1 min every 6 h), "
    "poisson:RATE_PER_HOUR, burst:COUNT:WITHIN:EVERY (e.g. burst:30:1m:6h)"
)


def arrival_population(pattern: str, count: int, base: dict[str, Any] | None = None) -> Population:
    """Return a :class:`Population` of ``count`` activations arriving per the named ``pattern``.

    Patterns: ``steady`` = Poisson 6 per hour; ``busy`` = Poisson 360 per hour (the fast-path limit of 5 per 10 s
    [E-AWS] sometimes binds); ``incident`` = bursts of 30 engineers within one minute (the simulator issue's
    example), one every 6 hours; ``poisson:R``; ``burst:COUNT:WITHIN:EVERY``. ``base`` holds the other
    :class:`Population` fields. Raises :class:`SweepError` naming the pattern.
    """
    kind, _, rest = pattern.partition(":")
    arrivals: list[dict[str, Any]]
    try:
        if pattern == "steady":
            arrivals = [{"kind": "poisson", "rate_per_hour": 6.0, "count": count}]
        elif pattern == "busy":
            arrivals = [{"kind": "poisson", "rate_per_hour": 360.0, "count": count}]
        elif kind == "poisson" and rest:
            arrivals = [{"kind": "poisson", "rate_per_hour": float(rest), "count": count}]
        elif pattern == "incident" or (kind == "burst" and rest):
            size_s, within_s, every_s = ("30", "1m", "6h") if pattern == "incident" else rest.split(":")
            size, within, every = int(size_s), parse_duration(within_s), parse_duration(every_s)
            if size <= 0 or every <= 0:
                raise ValueError("COUNT and EVERY must be positive")
            arrivals = []
            for k, left in enumerate(range(count, 0, -size)):
                arrivals.append({"kind": "burst", "count": min(size, left), "within": within, "start": k * every})
        else:
            raise ValueError("unknown pattern")
    except (ValueError, DurationError) as exc:
        raise SweepError(f"arrival pattern {pattern!r}: {exc}; use {ARRIVAL_HELP}") from None
    try:
        return Population.model_validate({**(base or {}), "arrivals": arrivals or [{"kind": "explicit", "times": []}]})
    except ValidationError as exc:
        problems = [
            f"population.{'.'.join(str(p) for p in err['loc'])}: {str(err['msg']).removeprefix('Value error, ')}"
            for err in exc.errors()
        ]
        raise SweepError("; ".join(problems)) from None


# --- the grid ------------------------------------------------------------------------------------------


def _durations(values: Any, field: str) -> list[float]:
    if isinstance(values, str):
        values = values.split(",")
    if not isinstance(values, list) or not values:
        raise ValueError(f"{field} must be a non-empty list")
    out = []
    for v in values:
        try:
            out.append(parse_duration(v.strip() if isinstance(v, str) else v))
        except DurationError as exc:
            raise ValueError(str(exc)) from None
    return out


def countermeasure_set(name: str) -> tuple[str, ...]:
    """Return the switches of a countermeasure set name: ``none``, ``all`` or names joined with ``+``."""
    if name == "none":
        return ()
    if name == "all":
        return COUNTERMEASURES
    parts = tuple(p for p in name.split("+") if p)
    for p in parts:
        if p not in COUNTERMEASURES:
            raise ValueError(f"{p!r} is not a countermeasure; use none, all or a '+'-joined set of {COUNTERMEASURES}")
    return parts


class SweepSpec(BaseModel):
    """A sweep: the grid axes, the Monte Carlo size and the seed (durations accept ``1h`` / ``PT1H``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    activation_max: list[float] = Field(default_factory=lambda: [HOUR, 8 * HOUR])
    portal_session: list[float] = Field(default_factory=lambda: [HOUR, 8 * HOUR])
    permission_set_session: list[float] = Field(default_factory=lambda: [HOUR])
    entitlement_mode: list[EntitlementMode] = Field(default_factory=lambda: [EntitlementMode.SIGNIN_SNAPSHOT])
    countermeasures: list[str] = Field(default_factory=lambda: ["none"])
    arrivals: list[str] = Field(default_factory=lambda: ["steady"])
    activations: int = Field(default=1000, ge=1, le=10_000_000)
    replications: int = Field(default=1, ge=1, le=10_000)
    seed: int = Field(default=0, ge=0)
    engine: Literal["auto", "vector", "engine"] = "auto"
    base: dict[str, Any] = Field(default_factory=dict)
    """Other :class:`sim.settings.Settings` fields, the same in every cell."""
    population: dict[str, Any] = Field(default_factory=dict)
    """Other :class:`sim.population.Population` fields (not ``arrivals``), the same in every cell."""

    @field_validator("activation_max", "portal_session", "permission_set_session", mode="before")
    @classmethod
    def _parse_durations(cls, v: Any, info: ValidationInfo) -> list[float]:
        return _durations(v, info.field_name or "duration")

    @field_validator("countermeasures")
    @classmethod
    def _check_countermeasures(cls, v: list[str]) -> list[str]:
        for name in v:
            countermeasure_set(name)
        return v

    AXES: ClassVar[tuple[str, ...]] = (
        "activation_max",
        "portal_session",
        "permission_set_session",
        "entitlement_mode",
        "countermeasures",
        "arrivals",
    )

    @property
    def n_cells(self) -> int:
        """Return the number of grid cells."""
        return math.prod(len(getattr(self, a)) for a in self.AXES)

    def cell_axes(self, index: int) -> dict[str, Any]:
        """Return the axis values of cell ``index`` (grid order: the last axis varies fastest)."""
        values: dict[str, Any] = {}
        for axis in reversed(self.AXES):
            options = getattr(self, axis)
            index, k = divmod(index, len(options))
            values[axis] = options[k]
        return {a: values[a] for a in self.AXES}

    def cell_settings(self, index: int) -> Settings:
        """Return the validated settings of cell ``index``."""
        ax = self.cell_axes(index)
        cms = countermeasure_set(ax["countermeasures"])
        return load_settings(
            {
                **self.base,
                "activation_max": ax["activation_max"],
                "portal_session": ax["portal_session"],
                "permission_set_session": ax["permission_set_session"],
                "entitlement_mode": ax["entitlement_mode"],
                **{c: c in cms for c in COUNTERMEASURES},
            },
            where="",
        )

    def cells(self) -> Iterator[int]:
        """Yield every cell index in grid order."""
        return iter(range(self.n_cells))

    def validate_grid(self, where: str = "sweep") -> None:
        """Raise :class:`SweepError` (prefixed with ``where``) naming the first bad base field, axis value outside
        its documented range, or bad arrival pattern / population field."""
        if "arrivals" in self.population:
            raise SweepError(f"{where}: population.arrivals: set arrival patterns with the arrivals axis instead")
        for name in self.base:
            if name in self.AXES or name in COUNTERMEASURES:
                axis = "countermeasures" if name in COUNTERMEASURES else name
                raise SweepError(f"{where}: base.{name}: every cell sets it from the {axis} axis; set it there instead")
        try:
            load_settings(self.base, where="base")
            for axis in ("activation_max", "portal_session", "permission_set_session"):
                for value in getattr(self, axis):
                    load_settings({**self.base, axis: value}, where="")
        except SettingsError as exc:
            raise SweepError(f"{where}: {exc}") from None
        for pattern in self.arrivals:
            try:
                arrival_population(pattern, 1, self.population)
            except SweepError as exc:
                raise SweepError(f"{where}: {exc}") from None


def load_sweep_file(path: Path, **overrides: Any) -> SweepSpec:
    """Return the :class:`SweepSpec` in a TOML file (its fields at the top level), with ``overrides`` applied."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SweepError(f"{path}: cannot read the sweep file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise SweepError(f"{path}: not a UTF-8 text file (sweep files are TOML)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{path}: not valid TOML: {exc}") from None
    return make_spec({**data, **{k: v for k, v in overrides.items() if v is not None}}, where=str(path))


def make_spec(data: dict[str, Any], where: str = "sweep") -> SweepSpec:
    """Return a validated :class:`SweepSpec`; :class:`SweepError` names ``where`` and each bad field."""
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"{where}: {loc}: {msg}")
        raise SweepError("\n".join(lines)) from None
    spec.validate_grid(where)
    return spec


def cell_seed(seed: int, cell: int, replication: int) -> int:
    """Return the seed of replication ``replication`` of cell ``cell``, derived from the base ``seed``.

    ``numpy.random.SeedSequence(seed, spawn_key=(cell, replication))`` — independent streams per cell and
    replication, the same on every machine and executor.
    """
    state = np.random.SeedSequence(seed, spawn_key=(cell, replication)).generate_state(1, np.uint32)
    return int(state[0])


# --- one cell ------------------------------------------------------------------------------------------


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


def _max(values: np.ndarray) -> float | None:
    """Return the largest non-NaN value rounded to milliseconds, or None when there is none."""
    if values.size == 0 or np.all(np.isnan(values)):
        return None
    return round(float(np.nanmax(values)), 3)


def _pct(values: np.ndarray, q: Sequence[float], with_max: bool = False) -> list[float | None]:
    """Return the ``q`` percentiles of the non-NaN ``values`` (and their max), rounded to milliseconds."""
    v = values[~np.isnan(values)]
    if len(v) == 0:
        return [None] * (len(q) + with_max)
    out: list[float | None] = [round(float(x), 3) for x in np.percentile(v, q)]
    if with_max:
        out.append(round(float(v.max()), 3))
    return out


def run_cell(spec: SweepSpec, index: int, engine: str | None = None) -> CellResult:
    """Return the metrics of cell ``index`` over ``spec.replications`` runs (columns pooled for percentiles)."""
    s = spec.cell_settings(index)
    axes = spec.cell_axes(index)
    population = arrival_population(axes["arrivals"], spec.activations, spec.population)
    how = engine or spec.engine
    overhang, tta, window, paths = [], [], [], []
    p99_overhang, p99_tta = [], []
    engine_runs = 0
    for r in range(spec.replications):
        seed = cell_seed(spec.seed, index, r)
        if how == "engine":
            run, used = simulate(s, population, seed), "engine"
        elif how == "vector":
            run, used = simulate_vector(s, population, seed), "vector"
        else:
            run, used = simulate_auto(s, population, seed)
        engine_runs += used == "engine"
        c = run.columns
        overhang.append(c["overhang"])
        tta.append(c["time_to_access"])
        window.append(c["worst_effective_end"] - c["start"])
        paths.append(c["path"])
        if spec.replications > 1:  # the spread of p99 across replications
            p99_overhang.append(_pct(c["overhang"], [99])[0])
            p99_tta.append(_pct(c["time_to_access"], [99])[0])
    o, t, w, p = (np.concatenate(x) for x in (overhang, tta, window, paths))
    b = worst_case(s)
    o50, o99, omax = _pct(o, [50, 99], with_max=True)
    t50, t99, tmax = _pct(t, [50, 99], with_max=True)
    wmax = _max(w)
    eps = 1e-6

    def sd(values: list[float | None]) -> float | None:
        v = [x for x in values if x is not None]
        return round(float(np.std(v)), 3) if len(v) > 1 else None

    metrics: dict[str, float | int | bool | None] = {
        "activations": len(o),
        "fast_path": int(np.sum(p == 1)),
        "throttled": int(np.sum(p == 2)),
        "never_provisioned": int(np.sum(p == 3)),
        "overhang_max": omax,
        "overhang_p99": o99,
        "overhang_p50": o50,
        "window_max": wmax,
        "tta_p50": t50,
        "tta_p99": t99,
        "tta_max": tmax,
        "overhang_p99_sd": sd(p99_overhang),
        "tta_p99_sd": sd(p99_tta),
        "bound_window": b.effective_end,
        "bound_overhang": b.overhang,
        "within_bound": (wmax is None or wmax <= b.effective_end + eps) and (omax is None or omax <= b.overhang + eps),
        "engine_runs": engine_runs,
    }
    return CellResult(index, axes, metrics)


def run_cells(spec: SweepSpec, indices: Sequence[int], engine: str | None = None) -> list[CellResult]:
    """Return :func:`run_cell` for each index (the unit of work shipped to an executor's worker)."""
    return [run_cell(spec, i, engine) for i in indices]


# --- executors -----------------------------------------------------------------------------------------

Progress = Callable[[int], None]
Task = Callable[[SweepSpec, Sequence[int], str | None], list[CellResult]]


class Executor(Protocol):
    """Runs chunks of cells and returns their results in chunk order, reporting progress as chunks finish."""

    name: str

    def run(
        self, spec: SweepSpec, chunks: Sequence[Sequence[int]], engine: str | None, progress: Progress
    ) -> list[list[CellResult]]:
        """Return ``run_cells(spec, chunk, engine)`` for every chunk, in order; call ``progress(cells)`` as they end."""
        ...


class SerialExecutor:
    """Runs every chunk in this process (tests, debugging, tiny sweeps)."""

    name = "serial"

    def run(
        self, spec: SweepSpec, chunks: Sequence[Sequence[int]], engine: str | None, progress: Progress
    ) -> list[list[CellResult]]:
        """Run the chunks one after the other."""
        out = []
        for chunk in chunks:
            out.append(run_cells(spec, chunk, engine))
            progress(len(chunk))
        return out


class LocalExecutor:
    """A pool of ``workers`` local processes (``spawn``; default: every core)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def run(
        self, spec: SweepSpec, chunks: Sequence[Sequence[int]], engine: str | None, progress: Progress
    ) -> list[list[CellResult]]:
        """Run the chunks on the pool; results come back in chunk order."""
        out: list[list[CellResult] | None] = [None] * len(chunks)
        with ProcessPoolExecutor(max_workers=self.workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(run_cells, spec, list(chunk), engine): k for k, chunk in enumerate(chunks)}
            for future in as_completed(futures):
                k = futures[future]
                out[k] = future.result()
                progress(len(chunks[k]))
        return [x for x in out if x is not None]


class DaskExecutor:
    """Runs the chunks on a Dask cluster: a ``distributed.Client`` you pass, or one connected to ``scheduler``."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, client: Any = None) -> None:
        if client is None and not scheduler:
            raise SweepError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
        self.scheduler = scheduler
        self.client = client

    def run(
        self, spec: SweepSpec, chunks: Sequence[Sequence[int]], engine: str | None, progress: Progress
    ) -> list[list[CellResult]]:
        """Submit every chunk to the cluster and gather the results in chunk order."""
        import distributed

        dask: Any = distributed  # untyped library

        own = self.client is None
        try:
            client = self.client if self.client is not None else dask.Client(self.scheduler, timeout="10s")
        except OSError as exc:
            raise SweepError(f"--scheduler {self.scheduler}: cannot reach the Dask scheduler ({exc})") from None
        try:
            futures = [client.submit(run_cells, spec, list(chunk), engine, pure=False) for chunk in chunks]
            position = {f.key: k for k, f in enumerate(futures)}
            out: list[list[CellResult] | None] = [None] * len(chunks)
            for future in dask.as_completed(futures):
                k = position[future.key]
                out[k] = future.result()
                progress(len(chunks[k]))
            return [x for x in out if x is not None]
        finally:
            if own:
                client.close()


def make_executor(name: str, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """Return the executor called ``name`` (``local``, ``serial`` or ``dask``); errors name ``--executor``."""
    if name == "local":
        return LocalExecutor(workers)
    if name == "serial":
        return SerialExecutor()
    if name == "dask":
        return DaskExecutor(scheduler)
    raise SweepError(f"--executor: {name!r} is not an executor; use local, serial or dask")


# --- the sweep -----------------------------------------------------------------------------------------


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
