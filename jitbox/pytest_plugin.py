"""pytest plugin shipped with jitbox (entry point ``pytest11: jitbox``).

Fixtures for users' CI:

- ``jitbox_clock`` — a fresh :class:`sim.clock.ManualClock` at the default epoch; advance it instead of sleeping.
- ``jitbox_settings`` — the documented default :class:`sim.settings.Settings`.
- ``jitbox_simulate`` — ``jitbox_simulate(settings, population, seed=0) -> RunResult``; fails the test if the run
  exceeds its closed-form bound (:func:`sim.bounds.worst_case`).
- ``jitbox_run`` — ``jitbox_run("seed-blog" | path, seed=None) -> dict[label, RunResult]`` runs a scenario file (base
  run under ``"base"``, variants under their names), with the same bound check.

Hypothesis strategies for settings and populations are in :mod:`sim.strategies`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sim.clock import ManualClock
from sim.engine import simulate
from sim.population import Population
from sim.results import RunResult
from sim.scenario import load_scenario, run_scenario
from sim.settings import Settings


@pytest.fixture
def jitbox_clock() -> ManualClock:
    """Return a virtual clock that moves only when advanced."""
    return ManualClock()


@pytest.fixture
def jitbox_settings() -> Settings:
    """Return the documented default settings (PIM 8 h, portal 8 h, permission set 1 h, signin_snapshot)."""
    return Settings()


def _checked(result: RunResult) -> RunResult:
    agg = result.aggregates()
    if not agg["within_bound"]:
        raise AssertionError(f"jitbox run {result.name or 'run'} exceeds its closed-form bound: {agg['bound_checks']}")
    return result


@pytest.fixture
def jitbox_simulate() -> Callable[..., RunResult]:
    """Return ``simulate(settings, population, seed=0) -> RunResult`` that also checks the closed-form bound."""

    def run(settings: Settings, population: Population, seed: int = 0) -> RunResult:
        return _checked(simulate(settings, population, seed))

    return run


@pytest.fixture
def jitbox_run() -> Callable[..., dict[str, RunResult]]:
    """Return ``run(scenario, seed=None) -> {label: RunResult}`` for a scenario name or path (bound-checked)."""

    def run(scenario: str | Path, seed: int | None = None) -> dict[str, RunResult]:
        sc = load_scenario(scenario)
        labels = [label for label, _ in sc.runs()]
        return {label: _checked(r) for label, r in zip(labels, run_scenario(sc, seed), strict=True)}

    return run
