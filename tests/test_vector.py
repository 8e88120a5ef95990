"""Pins the vectorised path: bit-for-bit equal to the event engine for every population, throttled bursts and drawn
removal failures included, and ``sim.run.simulate`` taking it by default for everything the CLI can run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from sim.engine import simulate_events
from sim.population import Population
from sim.run import choose_engine, simulate
from sim.settings import EntitlementMode, WindowMode, load_settings
from sim.vector import fast_path_admissions, simulate_vector


def _assert_same(settings: Any, population: Population, seed: int) -> str:
    engine = simulate(settings, population, seed, engine="engine")
    auto = simulate(settings, population, seed)
    assert engine.engine == "engine" and (engine.events > 0 or engine.n == 0)
    assert set(auto.columns) == set(engine.columns)
    for key, column in engine.columns.items():
        assert auto.columns[key].dtype == column.dtype, key
        assert np.array_equal(auto.columns[key], column, equal_nan=True), key
    assert auto.aggregates() == engine.aggregates()
    return auto.engine


settings_strategy = st.fixed_dictionaries(
    {
        "activation_max": st.integers(1800, 86400),
        "portal_session": st.integers(900, 3 * 86400),
        "permission_set_session": st.integers(3600, 12 * 3600),
        "entitlement_mode": st.sampled_from(list(EntitlementMode)),
        "end_portal_sessions": st.booleans(),
        "deny_tokens_before_expiry": st.booleans(),
        "remove_idc_membership": st.booleans(),
        "approval_required": st.booleans(),
        "enforce_min_active": st.booleans(),
        "fast_path_window_mode": st.sampled_from(list(WindowMode)),
        "cycle_interval": st.sampled_from([600, 2400, 3600]),
        "cycle_processing": st.sampled_from([0, 30, 300]),
        "membership_latency_max": st.sampled_from([0, 10, 120]),
        "cycle_phase": st.sampled_from([0, 17, 599]),
        "fast_path_limit": st.sampled_from([0, 1, 5]),
        "fast_path_window": st.sampled_from([10, 60]),
        "fast_path_latency_min": st.sampled_from([0, 120]),
        "cycle_jitter": st.sampled_from([0, 299]),
        "legacy_cli": st.booleans(),
        # drawn removal failures (retryable or escrowed) and assumed ones [E-PLOGS][E-QUAR]
        "removal_failure_probability": st.sampled_from([0.0, 0.0, 0.3, 1.0]),
        "removal_failure_escrow_share": st.sampled_from([0.0, 0.5, 1.0]),
        "removal_failures_max": st.sampled_from([0, 1, 3]),
        "failed_removals": st.sampled_from([0, 0, 1, 2]),
    }
)

population_strategy = st.fixed_dictionaries(
    {
        "arrivals": st.lists(
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "kind": st.just("poisson"),
                        "rate_per_hour": st.sampled_from([2, 20, 200]),
                        "count": st.integers(0, 60),
                    }
                ),
                st.fixed_dictionaries(
                    {
                        "kind": st.just("burst"),
                        "count": st.integers(1, 40),
                        "within": st.sampled_from([1, 10, 60]),
                        "start": st.integers(0, 7200),
                        "spacing": st.sampled_from(["random", "even"]),
                    }
                ),
                st.fixed_dictionaries(
                    {
                        "kind": st.just("explicit"),
                        "times": st.lists(
                            st.one_of(st.integers(0, 30), st.floats(0, 7200, allow_nan=False)), max_size=20
                        ),
                    }
                ),
            ),
            min_size=1,
            max_size=3,
        ),
        "requested_duration": st.one_of(
            st.none(),
            st.just({"kind": "uniform", "low": 600, "high": 36000}),
            st.just({"kind": "fixed", "value": 3600}),
        ),
        "approver_delay": st.sampled_from(
            [{"kind": "exponential", "mean": 900}, {"kind": "lognormal", "median": 3600, "sigma": 2.5}]
        ),
        "signin_delay": st.sampled_from(
            [{"kind": "uniform", "low": 0, "high": 300}, {"kind": "choice", "values": [0, 60, 28800]}]
        ),
        "launch_delay": st.sampled_from([{"kind": "uniform", "low": 0, "high": 120}, {"kind": "fixed", "value": 0}]),
        "deny_probability": st.sampled_from([0.0, 0.3]),
        "self_deactivate_probability": st.sampled_from([0.0, 0.5]),
        "behaviour": st.sampled_from(["typical", "worst_case"]),
        "relaunch": st.booleans(),
        "apps": st.sampled_from([1, 2, 3]),
        "max_launches": st.sampled_from([1, 3, 24]),
    }
)


@hsettings(max_examples=120, deadline=None)
@given(settings=settings_strategy, population=population_strategy, seed=st.integers(0, 2**32 - 1))
def test_vector_path_equals_the_event_engine_column_for_column(
    settings: dict[str, Any], population: dict[str, Any], seed: int
) -> None:
    _assert_same(load_settings(settings), Population.model_validate(population), seed)


def test_auto_uses_the_vector_path_for_steady_arrivals_and_for_a_throttled_sliding_burst() -> None:
    steady = Population.model_validate({"arrivals": [{"kind": "poisson", "rate_per_hour": 6, "count": 500}]})
    assert _assert_same(load_settings({}), steady, 3) == "vector"
    burst = Population.burst(30, within=60)  # 30 engineers within a minute: 5 per 10 s fast, the rest wait [E-AWS]
    assert _assert_same(load_settings({}), burst, 3) == "vector"
    paths = simulate_vector(load_settings({}), burst, 3).columns["path"]
    assert 0 < int(np.sum(paths == 1)) < 30 and int(np.sum(paths == 2)) > 0  # throttled: some wait for a cycle
    # the fixed window is an aligned count, vectorised exactly even for bursts
    fixed = load_settings({"fast_path_window_mode": "fixed"})
    assert _assert_same(fixed, burst, 3) == "vector"
    even = Population.model_validate({"arrivals": [{"kind": "burst", "count": 30, "within": 10, "spacing": "even"}]})
    result = simulate_vector(fixed.replace(membership_latency_max=0), even, 0)
    assert int(np.sum(result.columns["path"] == 1)) == 5  # one aligned 10-s window: the first 5 fast [E-AWS]


def test_fixed_window_admissions_count_per_app_and_window() -> None:
    s = load_settings({"fast_path_window_mode": "fixed"})
    t = np.array([0.0, 1, 2, 3, 4, 5, 6, 10, 11, 0.5])
    app = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    admitted = fast_path_admissions(t, app, s)
    assert admitted.tolist() == [True] * 5 + [False, False, True, True, True]


def test_sliding_window_admissions_are_the_throttle_s_one_pass() -> None:
    s = load_settings({})
    t = np.array([0.0, 1, 2, 3, 4, 5, 9.9, 10.0, 10.5, 30, 0.5])
    app = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    admitted = fast_path_admissions(t, app, s)
    # 5 in [0, 4]; 5 and 9.9 refused; at 10.0 the activation at 0 has left the window, at 10.5 only the one at 0 had
    assert admitted.tolist() == [True] * 5 + [False, False, True, False, True, True]


def test_vector_path_is_deterministic_and_engine_free() -> None:
    p = Population.model_validate({"arrivals": [{"kind": "poisson", "rate_per_hour": 6, "count": 200}]})
    a = simulate_vector(load_settings({}), p, 11)
    b = simulate_vector(load_settings({}), p, 11)
    assert a.to_json() == b.to_json() and a.events == 0


@pytest.mark.slow
@hsettings(deadline=None)
@given(settings=settings_strategy, population=population_strategy, seed=st.integers(0, 2**32 - 1))
def test_vector_path_equals_the_event_engine_long_fuzz(
    settings: dict[str, Any], population: dict[str, Any], seed: int
) -> None:
    _assert_same(load_settings(settings), Population.model_validate(population), seed)


@given(
    st.lists(st.floats(0, 200, allow_nan=False), max_size=60),
    st.sampled_from([0, 1, 2, 5]),
    st.sampled_from([0.5, 10.0]),
    st.sampled_from(list(WindowMode)),
)
def test_admit_many_answers_what_admit_answers_one_by_one(
    times: list[float], limit: int, window: float, mode: WindowMode
) -> None:
    from sim.rules import FastPathThrottle

    times = sorted(times)
    half = len(times) // 2
    one, many = FastPathThrottle(limit, window, mode), FastPathThrottle(limit, window, mode)
    expected = [one.admit(t) for t in times]
    # in two batches: the state left by the first carries over to the second
    assert many.admit_many(times[:half]) + many.admit_many(times[half:]) == expected


CLI_ARRIVAL_PATTERNS = ["steady", "busy", "incident", "poisson:3000", "burst:40:10s:1h"]
"""Every arrival pattern kind a sweep (``jitbox sweep`` / ``sim.sweep_spec.arrival_population``) can name."""


@pytest.mark.parametrize("pattern", CLI_ARRIVAL_PATTERNS)
def test_every_sweep_arrival_pattern_takes_the_numpy_path_with_the_engine_s_results(pattern: str) -> None:
    from sim.sweep_spec import arrival_population

    population = arrival_population(pattern, 400)
    for s in (load_settings({}), load_settings({"approval_required": True, "removal_failure_probability": 0.4})):
        assert _assert_same(s, population, 7) == "vector"


def test_every_shipped_scenario_runs_on_the_numpy_path_with_the_engine_s_results() -> None:
    from sim.scenario import list_scenarios, load_scenario, run_scenario

    for path in list_scenarios():
        sc = load_scenario(path)
        fast, reference = run_scenario(sc), run_scenario(sc, engine="engine")
        for a, b in zip(fast, reference, strict=True):
            assert (a.engine, b.engine) == ("vector", "engine"), a.name
            assert a.aggregates() == b.aggregates(), a.name
            assert all(np.array_equal(a.columns[k], c, equal_nan=True) for k, c in b.columns.items()), a.name


def test_a_replayed_failure_sequence_takes_the_numpy_path_with_the_engine_s_results() -> None:
    # removal failures given per request (a sandbox run's faults replayed in the simulator) [E-PLOGS]
    population = Population.explicit([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0], removal_failures=[0, 1, 2, 0, 3, 0, 1])
    assert _assert_same(load_settings({"activation_max": "1h"}), population, 2) == "vector"


def test_simulate_forces_either_path_and_names_a_bad_choice() -> None:
    import sim

    p = Population.burst(30, within=60)
    s = load_settings({})
    assert sim.simulate is simulate
    assert simulate(s, p, 1, engine="vector").engine == "vector"
    assert simulate(s, p, 1, engine="engine").events > 0
    assert simulate_events(s, p, 1).to_json() == simulate(s, p, 1, engine="engine").to_json()
    assert choose_engine(s, p) == "vector"
    with pytest.raises(ValueError, match="engine 'simpy' is not one of auto, vector, engine"):
        simulate(s, p, 1, engine="simpy")
