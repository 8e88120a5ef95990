"""The simulator's entry point: :func:`simulate` runs a population on the numpy path or the event engine.

Two implementations of one model, equal column for column (``tests/test_vector.py`` holds them equal over every
population kind, approvals, self-deactivation, throttled bursts, several apps and drawn removal failures):

- ``vector`` — :func:`sim.vector.simulate_vector`, whole arrays at once (the fast path; about 10–20× the engine);
- ``engine`` — :func:`sim.engine.simulate_events`, the event engine on :class:`sim.kernel.Kernel`: one event per
  request, decision and Entra add, the readable reference and the oracle the numpy path is checked against.

``engine="auto"`` (the default) picks the numpy path whenever it gives the event engine's results, which today is
every population :class:`sim.population.Population` can describe (every arrival kind, throttled bursts included:
the fast-path throttle is one linear pass, :func:`sim.vector.fast_path_admissions`). ``engine="engine"`` forces the
event engine, ``engine="vector"`` the numpy path; :attr:`sim.results.RunResult.engine` says which ran.
"""

from __future__ import annotations

from typing import Literal, get_args

from sim.engine import simulate_events
from sim.population import Population
from sim.results import RunResult
from sim.settings import Settings
from sim.vector import simulate_vector

__all__ = ["ENGINES", "Engine", "choose_engine", "simulate"]

Engine = Literal["auto", "vector", "engine"]
"""Which implementation runs: ``auto`` (the numpy path wherever it equals the engine), ``vector`` or ``engine``."""

ENGINES: tuple[str, ...] = get_args(Engine)


def choose_engine(settings: Settings, population: Population, engine: str = "auto") -> Literal["vector", "engine"]:
    """Return the implementation :func:`simulate` runs for ``engine`` (``auto``, ``vector`` or ``engine``).

    ``auto`` answers ``vector`` for every population and settings combination: the numpy path covers every
    arrival kind, approvals, self-deactivation, several apps, throttled bursts (sliding and fixed windows),
    drawn or assumed removal failures and drawn quarantine and initial cycles, equal to the event engine column for column. Raises ``ValueError`` naming
    ``engine`` when it is none of :data:`ENGINES`.
    """
    if engine == "engine":
        return "engine"
    if engine in ("auto", "vector"):
        return "vector"
    raise ValueError(f"engine {engine!r} is not one of {', '.join(ENGINES)}")


def simulate(
    settings: Settings, population: Population, seed: int = 0, name: str = "", *, engine: str = "auto"
) -> RunResult:
    """Run ``population`` under ``settings`` with draws from ``numpy.random.default_rng(seed)``; return the
    :class:`sim.results.RunResult` (columns per :data:`sim.results.COLUMNS`).

    ``engine`` picks the implementation (:func:`choose_engine`): ``auto`` (default, the numpy path), ``vector`` or
    ``engine`` (the event engine, the reference). Every choice gives the same columns and aggregates; the same
    inputs give identical :meth:`~sim.results.RunResult.to_json` bytes.
    """
    if choose_engine(settings, population, engine) == "engine":
        return simulate_events(settings, population, seed, name)
    return simulate_vector(settings, population, seed, name)
