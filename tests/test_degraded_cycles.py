"""The simulator draws a quarantined job and initial-cycle time too [E-QUAR][E-WHEN], shows them in the Monte Carlo
distribution, and no simulated run exceeds ``jitbox bound`` under the conditions it states (engine and vector path).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_support import bound_json, code_under_test_env
from hypothesis import given
from hypothesis import strategies as st

from sim import rules
from sim.bounds import drawn_cycle_conditions, worst_case
from sim.engine import simulate_events as simulate
from sim.population import Population
from sim.results import BOUND_TOLERANCE
from sim.settings import (
    COUNTERMEASURES,
    HOUR,
    INITIAL_CYCLE_PER_OBJECT_MAX,
    INITIAL_CYCLE_PER_OBJECT_MIN,
    MINUTE,
    QUARANTINE_CYCLE,
    EntitlementMode,
    Settings,
    SettingsError,
    load_settings,
)
from sim.vector import simulate_vector


def test_a_quarantined_removal_waits_for_the_daily_cycle_and_an_initial_cycle_adds_its_time() -> None:
    s = Settings(cycle_interval=40 * MINUTE)
    assert rules.idc_remove_time(100.0, 0.0, s) == 40 * MINUTE
    assert rules.idc_remove_time(100.0, 0.0, s, quarantined=True) == QUARANTINE_CYCLE  # one cycle a day [E-QUAR]
    # a failed attempt in quarantine waits for the next daily cycle too
    assert rules.idc_remove_time(100.0, 0.0, s, (rules.FailureKind.RETRYABLE,), quarantined=True) == 2 * DAY
    assert rules.idc_remove_time(100.0, 0.0, s, initial_delay=600.0) == 40 * MINUTE + 600.0  # [E-WHEN]
    # a retry after a slow initial cycle waits for the next regular cycle after it
    assert rules.idc_remove_time(100.0, 0.0, s, (rules.FailureKind.RETRYABLE,), initial_delay=600.0) == 80 * MINUTE


DAY = QUARANTINE_CYCLE


def test_monte_carlo_shows_quarantine_and_initial_cycles_when_the_settings_ask() -> None:
    s = load_settings(
        {
            "activation_max": "1h",
            "removal_quarantine_probability": 0.3,
            "initial_cycle_probability": 0.5,
            "initial_cycle_objects": 2000,
        }
    )
    pop = Population.burst(400, within=12 * HOUR, behaviour="worst_case")
    r = simulate(s, pop, 9)
    q, delay = r.columns["removal_quarantined"], r.columns["removal_initial_delay"]
    assert 0.2 < q.mean() < 0.4 and 0.4 < (delay > 0).mean() < 0.6
    assert (
        delay.max() <= 2000 * INITIAL_CYCLE_PER_OBJECT_MAX
        and delay[delay > 0].min() >= 2000 * INITIAL_CYCLE_PER_OBJECT_MIN
    )
    agg = r.aggregates()
    assert agg["counts"]["removal_quarantined"] == int(q.sum())
    assert agg["counts"]["removal_initial_cycle"] == int((delay > 0).sum())
    # the distribution of the deprovisioning wait reaches past a day (quarantine), the nominal one never does
    waits = r.columns["idc_end"] - r.columns["intended_end"]
    assert np.nanmax(waits[q]) > 12 * HOUR and np.nanmax(waits[~q]) < 4 * HOUR  # 40 min + up to 160 min
    assert agg["deprovision_wait"]["max"] == pytest.approx(float(np.nanmax(waits)), abs=1e-3)
    assert agg["within_bound"]
    assert (
        agg["bound"]["effective_end"]
        == worst_case(s).effective_end
        > worst_case(Settings(activation_max=HOUR)).effective_end
    )
    record = r.record(int(np.flatnonzero(q)[0]))
    assert record.removal_quarantined is True
    v = simulate_vector(s, pop, 9)
    assert all(np.array_equal(v.columns[k], c, equal_nan=True) for k, c in r.columns.items())


def test_runs_that_do_not_ask_draw_exactly_what_they_drew_before() -> None:
    pop = Population.burst(50, within=HOUR)
    base = load_settings({"activation_max": "1h", "removal_failure_probability": 0.3})
    asked_nothing = base.replace(initial_cycle_objects=5000)  # no probability: nothing drawn
    a, b = simulate(base, pop, 4), simulate(asked_nothing, pop, 4)
    assert all(np.array_equal(a.columns[k], c, equal_nan=True) for k, c in b.columns.items())
    assert not a.columns["removal_quarantined"].any() and not a.columns["removal_initial_delay"].any()


def test_new_settings_are_validated_with_the_field_named() -> None:
    with pytest.raises(SettingsError, match=r"removal_quarantine_probability = 2.0 must be a probability.*\[E-QUAR\]"):
        load_settings({"removal_quarantine_probability": 2})
    with pytest.raises(SettingsError, match=r"initial_cycle_objects = -1 must be in 0 – 10,000,000"):
        load_settings({"initial_cycle_objects": -1})


# --- the property: no simulated run exceeds the bound the settings state ------------------------------------------

SETTINGS = st.fixed_dictionaries(
    {
        "activation_max": st.sampled_from([30 * MINUTE, HOUR, 2 * HOUR]),
        "portal_session": st.sampled_from([15 * MINUTE, HOUR, 8 * HOUR]),
        "permission_set_session": st.sampled_from([HOUR, 4 * HOUR]),
        "entitlement_mode": st.sampled_from(list(EntitlementMode)),
        "membership_latency_max": st.sampled_from([0.0, 10.0, 120.0]),
        "cycle_jitter": st.sampled_from([0.0, 5 * MINUTE]),
        "cycle_processing": st.sampled_from([0.0, 90.0]),
        "removal_failure_probability": st.sampled_from([0.0, 0.3, 1.0]),
        "removal_failure_escrow_share": st.sampled_from([0.0, 0.5, 1.0]),
        "removal_failures_max": st.integers(0, 3),
        "failed_removals": st.integers(0, 2),
        "removal_quarantine_probability": st.sampled_from([0.0, 0.2, 1.0]),
        "initial_cycle_probability": st.sampled_from([0.0, 0.5, 1.0]),
        "initial_cycle_objects": st.sampled_from([0, 100, 5000]),
        "legacy_cli": st.booleans(),
        "countermeasures": st.sets(st.sampled_from(COUNTERMEASURES), max_size=2),
    }
)


def within_the_stated_bound(raw: dict[str, Any], seed: int) -> None:
    """Simulate ``raw`` settings (engine and vector path, equal column for column) with the worst-case user; assert
    no activation's window,
    removal or overhang exceeds :func:`sim.bounds.worst_case` — the figure ``jitbox bound`` prints for them."""
    data = dict(raw)
    on = data.pop("countermeasures")
    s = load_settings({**data, **{c: c in on for c in COUNTERMEASURES}})
    pop = Population.burst(40, within=6 * HOUR, behaviour="worst_case")
    b = worst_case(s)
    runs = (simulate(s, pop, seed), simulate_vector(s, pop, seed))
    assert all(np.array_equal(runs[1].columns[k], c, equal_nan=True) for k, c in runs[0].columns.items())
    for r in runs:
        c = r.columns
        eps = BOUND_TOLERANCE
        window = r.effective_window()
        assert np.all(np.isnan(window) | (window <= b.effective_end + eps))
        assert np.all(np.isnan(c["overhang"]) | (c["overhang"] <= b.overhang + eps))
        removal = c["idc_end"] - c["start"]
        assert np.all(np.isnan(removal) | (removal <= b.idc_removal + eps))
        assert r.aggregates()["within_bound"]
    quarantined, objects = drawn_cycle_conditions(s)
    assert quarantined == (s.removal_quarantine_probability > 0)
    assert objects == (s.initial_cycle_objects if s.initial_cycle_probability > 0 else 0)


@given(raw=SETTINGS, seed=st.integers(0, 2**16))
def test_no_simulated_run_exceeds_the_bound_under_drawn_quarantine_initial_cycles_and_failures(
    raw: dict[str, Any], seed: int
) -> None:
    within_the_stated_bound(raw, seed)


@pytest.mark.slow
@given(raw=SETTINGS, seed=st.integers(0, 2**32 - 1))
def test_no_simulated_run_exceeds_the_bound_under_drawn_quarantine_initial_cycles_and_failures_fuzz(
    raw: dict[str, Any], seed: int
) -> None:
    within_the_stated_bound(raw, seed)


# --- jitbox bound states the same conditions -----------------------------------------------------------------------


def test_jitbox_bound_quarantined_initial_cycle_covers_every_simulated_run_with_those_draws() -> None:
    doc = bound_json("--activation", "1h", "--portal", "8h", "--quarantined", "--initial-cycle", "--objects", "1000")
    s = load_settings(doc["settings"])
    assert s.removal_quarantine_probability == 1.0 and s.initial_cycle_objects == 1000
    assert any("quarantined: one cycle a day" in c for c in doc["conditions"])
    assert any("initial cycle over 1000 objects" in c for c in doc["conditions"])
    # a day for the quarantined cycle + up to 0.08 min x 1000 objects [E-QUAR][E-WHEN]
    assert doc["bound"]["idc_removal"] == HOUR + 10 + DAY + 1000 * INITIAL_CYCLE_PER_OBJECT_MAX
    assert doc["bound"]["effective_end"] > doc["nominal"]["effective_end"] + 20 * HOUR
    r = simulate(s, Population.burst(200, within=DAY, behaviour="worst_case"), 2)
    assert np.all(r.columns["removal_quarantined"]) and np.all(r.columns["removal_initial_delay"] > 0)
    window = r.effective_window()
    assert np.nanmax(window) <= doc["bound"]["effective_end"] + BOUND_TOLERANCE
    assert np.nanmax(r.columns["idc_end"] - r.columns["start"]) <= doc["bound"]["idc_removal"] + BOUND_TOLERANCE
    # and the simulated distribution reaches most of the way there (the bound is not loose by a day)
    assert np.nanmax(window) > doc["bound"]["effective_end"] - 2 * HOUR


def test_jitbox_bound_initial_cycle_needs_objects() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jitbox", "bound", "--initial-cycle"],
        capture_output=True,
        text=True,
        env=code_under_test_env(),
        check=False,
    )
    assert out.returncode == 2 and "--initial-cycle needs --objects N" in out.stderr


def test_jitbox_run_shows_drawn_quarantine_and_initial_cycles_when_the_scenario_asks(tmp_path: Path) -> None:
    scenario = tmp_path / "degraded.toml"
    scenario.write_text(
        'name = "degraded"\nseed = 4\n\n[settings]\nactivation_max = "1h"\nremoval_quarantine_probability = 0.25\n'
        'initial_cycle_probability = 0.5\ninitial_cycle_objects = 1000\n\n[population]\nbehaviour = "worst_case"\n\n'
        '[[population.arrivals]]\nkind = "poisson"\nrate_per_hour = 4\ncount = 200\n',
        encoding="utf-8",
    )
    run = [sys.executable, "-m", "jitbox", "run", str(scenario)]
    env = code_under_test_env()
    table = subprocess.run(run, capture_output=True, text=True, env=env, check=True).stdout
    assert "f/q/i" in table and "deprov" in table
    doc = json.loads(subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, check=True).stdout)
    aggregates = doc["runs"][0]["aggregates"]
    counts = aggregates["counts"]
    assert counts["removal_quarantined"] > 20 and counts["removal_initial_cycle"] > 60
    assert f"{counts['removal_failed']}/{counts['removal_quarantined']}/" in table  # the f/q/i cell
    assert aggregates["deprovision_wait"]["max"] > 12 * HOUR
    assert aggregates["within_bound"]
    plain = subprocess.run(
        [sys.executable, "-m", "jitbox", "run", "seed-blog"], capture_output=True, text=True, env=env, check=True
    )
    assert "f/q/i" not in plain.stdout  # nothing drawn, nothing shown
