"""Holds the event engine equal to the same population model written in SimPy (``bench/bench_sim.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings

from sim.engine import simulate_events
from sim.population import Population
from sim.scenario import load_scenario
from sim.settings import Settings
from sim.strategies import populations, seeds, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ is not an installed package
from bench.bench_sim import simpy_simulate

INT_COLUMNS = ("outcome", "path", "launches", "self_deactivated", "deactivation_refused")


def assert_same(s: Settings, p: Population, seed: int) -> None:
    engine = simulate_events(s, p, seed).columns
    oracle = simpy_simulate(s, p, seed)
    for key, col in oracle.items():
        if key in INT_COLUMNS:
            assert np.array_equal(engine[key], col.astype(engine[key].dtype)), key
        else:
            assert np.allclose(engine[key], col, rtol=0.0, atol=1e-6, equal_nan=True), key


@hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(settings(entra_constants=False), populations(), seeds())
def test_engine_equals_simpy_model_on_random_settings_and_populations(s: Settings, p: Population, seed: int) -> None:
    assert_same(s, p, seed)


def test_engine_equals_simpy_model_on_every_shipped_scenario() -> None:
    for name in ("seed-blog", "incident-burst", "approval", "revocation-modes", "self-deactivation"):
        sc = load_scenario(name)
        for _label, s in sc.runs():
            assert_same(s, sc.population, sc.seed)


@pytest.mark.slow
@hyp_settings(deadline=None, suppress_health_check=list(HealthCheck))
@given(settings(entra_constants=False), populations(max_requests=80), seeds())
def test_engine_equals_simpy_model_long_fuzz(s: Settings, p: Population, seed: int) -> None:
    assert_same(s, p, seed)


def test_bench_runner_lists_sim_and_rejects_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.__main__ import available, main

    assert "sim" in available()
    assert main(["no-such-bench"]) == 2
    assert "unknown benchmark(s) no-such-bench" in capsys.readouterr().err
