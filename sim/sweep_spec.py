"""Sweep specifications: the grid axes, arrival patterns, reading and validating sweep files, per-cell seeds.

A :class:`SweepSpec` names the grid axes — activation maximum [AWS-BLOG][E-SET], portal session [UG-uis],
permission-set session [UG23-howto], entitlement mode (UNCONFIRMED which AWS uses: [AWS-BLOG]/[UG-revoke]/
[UG23-auth]), countermeasure sets [UG-endsess][IAM-revoke][UG-revoke] and arrival patterns — plus activations per
cell, replications and the base seed. Cells are numbered in grid order (:meth:`SweepSpec.cells`); replication ``r``
of cell ``i`` uses the seed :func:`cell_seed` ``(seed, i, r)`` derived with ``numpy.random.SeedSequence``, so results
are identical whatever the executor, the number of workers or the chunking.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from sim.durations import DurationError, parse_duration
from sim.population import Population
from sim.settings import COUNTERMEASURES, HOUR, EntitlementMode, Settings, SettingsError, grid_settings, load_settings

__all__ = [
    "ARRIVAL_HELP",
    "SweepError",
    "SweepSpec",
    "arrival_population",
    "cell_seed",
    "countermeasure_set",
    "load_sweep_file",
    "make_spec",
]


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
        raise SweepError("; ".join(_problems(exc, "population."))) from None


def _problems(exc: ValidationError, prefix: str) -> list[str]:
    """Return one ``{prefix}{field path}: {message}`` line per validation error."""
    return [
        f"{prefix}{'.'.join(str(p) for p in err['loc'])}: {str(err['msg']).removeprefix('Value error, ')}"
        for err in exc.errors()
    ]


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
        return grid_settings(
            self.base,
            activation_max=ax["activation_max"],
            portal_session=ax["portal_session"],
            permission_set_session=ax["permission_set_session"],
            entitlement_mode=ax["entitlement_mode"],
            countermeasures=countermeasure_set(ax["countermeasures"]),
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
        raise SweepError("\n".join(_problems(exc, f"{where}: "))) from None
    spec.validate_grid(where)
    return spec


def cell_seed(seed: int, cell: int, replication: int) -> int:
    """Return the seed of replication ``replication`` of cell ``cell``, derived from the base ``seed``.

    ``numpy.random.SeedSequence(seed, spawn_key=(cell, replication))`` — independent streams per cell and
    replication, the same on every machine and executor.
    """
    state = np.random.SeedSequence(seed, spawn_key=(cell, replication)).generate_state(1, np.uint32)
    return int(state[0])
