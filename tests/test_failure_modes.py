"""Failure modes in the one timing model: failed removals, escrow, quarantine, cycle variation, legacy CLI, and the
fast-path admission counted at activation (sim.rules, sim.bounds, engine and vector path)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_support import code_under_test_env
from hypothesis import given
from hypothesis import strategies as st

from sim import rules
from sim.bounds import drawn_failures_worst, removal_wait_max, worst_case
from sim.engine import simulate_events
from sim.population import Population
from sim.run import simulate
from sim.settings import HOUR, MINUTE, QUARANTINE_CYCLE, Settings, SettingsError, load_settings
from sim.vector import simulate_vector

R, E = rules.FailureKind.RETRYABLE, rules.FailureKind.ESCROW


def test_six_activations_one_second_apart_throttle_the_sixth_in_every_seed() -> None:
    # the throttle counts users activating [E-AWS][E-PIMG], not Entra adds (which land up to 10 s later)
    p = Population.explicit([float(i) for i in range(6)])
    s = load_settings({"activation_max": "1h"})
    for seed in range(200):
        r = simulate_events(s, p, seed)
        assert [rec.path for rec in r.records()] == ["fast"] * 5 + ["throttled"], seed
        auto = simulate(s, p, seed)  # the numpy path counts the same way
        assert auto.engine == "vector"
        assert np.array_equal(auto.columns["path"], r.columns["path"])


def test_a_retryable_failure_waits_one_cycle_and_an_escrowed_one_six_hours() -> None:
    s = load_settings({"activation_max": "1h"})
    nominal = rules.idc_remove_time(HOUR, HOUR, s)
    assert nominal == 80 * MINUTE
    assert rules.idc_remove_time(HOUR, HOUR, s, (R,)) == 120 * MINUTE  # [E-PLOGS] retried in 40 minutes
    assert rules.idc_remove_time(HOUR, HOUR, s, (R, R)) == 160 * MINUTE
    assert rules.idc_remove_time(HOUR, HOUR, s, (E,)) == 80 * MINUTE + 6 * HOUR  # [E-QUAR] first retry at 6 h
    assert rules.idc_remove_time(HOUR, HOUR, s, (E, E)) == 80 * MINUTE + 12 * HOUR
    assert rules.idc_remove_time(HOUR, HOUR, s, (E, E, E, E)) == 80 * MINUTE + 48 * HOUR
    assert [rules.escrow_retry_offset(n) / HOUR for n in range(1, 6)] == [6, 12, 24, 48, 72]


def test_bound_grows_by_one_cycle_per_failed_removal_and_quarantine_waits_a_day() -> None:
    s = load_settings({"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"})
    nominal = worst_case(s)
    assert nominal.effective_end == 10 * HOUR + 40 * MINUTE + 10
    assert worst_case(s, (R,)).effective_end == nominal.effective_end + 40 * MINUTE
    assert worst_case(s, (R, R)).idc_removal == nominal.idc_removal + 80 * MINUTE
    assert worst_case(s, (E,)).idc_removal == nominal.idc_removal + 6 * HOUR
    assert worst_case(s, (), quarantined=True).idc_removal == HOUR + 10 + QUARANTINE_CYCLE
    assert worst_case(s, (), objects=1000).idc_removal == nominal.idc_removal + 80 * MINUTE  # 0.08 min x 1000
    assert removal_wait_max(s.replace(remove_idc_membership=True), (E, E)) == 0.0


def test_cycle_jitter_keeps_cycles_in_order_and_within_interval_plus_jitter() -> None:
    for t in np.linspace(0, 20 * HOUR, 997):
        plain = rules.next_cycle_after(float(t), 40 * MINUTE)
        assert plain == rules.next_cycle_after(float(t), 40 * MINUTE, 0.0, 0.0)
        late = rules.next_cycle_after(float(t), 40 * MINUTE, 0.0, 10 * MINUTE)
        assert t < late <= t + 50 * MINUTE
    s = load_settings({"activation_max": "1h", "cycle_jitter": "10m"})
    assert worst_case(s).deprovision_wait == 10 + 50 * MINUTE


def test_legacy_cli_keeps_eight_hours_whatever_the_portal_setting() -> None:
    s = load_settings({"activation_max": "1h", "portal_session": "1h", "legacy_cli": True})
    assert rules.portal_session_length(s) == 8 * HOUR
    assert worst_case(s).latest_launch == worst_case(s).idc_removal + 8 * HOUR
    # a portal session longer than 8 h is not cut short
    assert rules.portal_session_length(s.replace(portal_session="12h")) == 12 * HOUR
    # ending portal sessions is not documented to revoke a legacy CLI token (assumed not to)
    ended = s.replace(end_portal_sessions=True)
    assert worst_case(ended).latest_launch == worst_case(ended).idc_removal + 8 * HOUR


def test_failure_settings_are_validated_with_the_field_named() -> None:
    with pytest.raises(SettingsError, match="removal_failure_probability"):
        load_settings({"removal_failure_probability": 1.5})
    with pytest.raises(SettingsError, match="cycle_jitter"):
        load_settings({"cycle_interval": "10m", "cycle_jitter": "10m"})
    with pytest.raises(SettingsError, match="removal_failures_max"):
        load_settings({"removal_failures_max": 11})


def test_drawn_failures_give_a_distribution_within_the_bound_the_settings_state() -> None:
    s = load_settings(
        {
            "activation_max": "1h",
            "removal_failure_probability": 0.4,
            "removal_failure_escrow_share": 0.25,
            "removal_failures_max": 3,
        }
    )
    p = Population.burst(300, within=8 * HOUR, behaviour="worst_case")
    r = simulate_events(s, p, 5)
    counts = r.columns["removal_failures"]
    assert set(np.unique(counts)) == {0, 1, 2, 3}
    agg = r.aggregates()
    assert agg["within_bound"]
    assert drawn_failures_worst(s) == (E, E, E)
    # degraded windows are longer than the nominal bound, which the settings no longer claim
    nominal = worst_case(s, ())
    assert float(np.nanmax(r.effective_window())) > nominal.effective_end
    # same seed, same output; the vector path agrees column for column
    assert simulate_events(s, p, 5).to_json() == r.to_json()
    v = simulate_vector(s, p, 5)
    assert all(np.array_equal(v.columns[k], c, equal_nan=True) for k, c in r.columns.items())


def test_runs_without_failures_draw_exactly_what_they_drew_before() -> None:
    p = Population.burst(40, within=HOUR)
    base = load_settings({"activation_max": "1h"})
    with_switch = base.replace(removal_failures_max=7)  # no probability: nothing drawn
    a, b = simulate_events(base, p, 3), simulate_events(with_switch, p, 3)
    assert all(np.array_equal(a.columns[k], c, equal_nan=True) for k, c in b.columns.items())
    assert not a.columns["removal_failures"].any()


@given(
    p=st.floats(0.0, 1.0),
    share=st.floats(0.0, 1.0),
    m=st.integers(0, 4),
    jitter=st.floats(0.0, 20 * MINUTE),
    seed=st.integers(0, 2**16),
)
def test_engine_and_vector_agree_and_stay_within_the_bound_under_drawn_failures(
    p: float, share: float, m: int, jitter: float, seed: int
) -> None:
    s = Settings(
        activation_max=HOUR,
        removal_failure_probability=p,
        removal_failure_escrow_share=share,
        removal_failures_max=m,
        cycle_jitter=jitter,
    )
    pop = Population.burst(30, within=4 * HOUR, behaviour="worst_case")
    a = simulate_events(s, pop, seed)
    b = simulate(s, pop, seed)
    assert b.engine == "vector"
    for key, col in a.columns.items():
        assert np.array_equal(col, b.columns[key], equal_nan=True), key
    assert a.aggregates()["within_bound"]


# --- the command line ---------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jitbox", *args], capture_output=True, text=True, env=code_under_test_env(), check=False
    )


def test_bound_prints_the_nominal_case_its_conditions_and_each_failure_mode() -> None:
    out = _cli("bound", "--activation", "1h", "--portal", "8h", "--permission-set", "1h")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "worst-case access end  10h 40m 10s" in text
    assert "assumes (nominal):" in text and "every removal attempt succeeds" in text
    for title in (
        "1 failed removal(s)",
        "escrow",
        "quarantine",
        "cycles up to 10m late",
        "initial cycle",
        "legacy CLI",
    ):
        assert title in text, title
    assert "access until 11h 20m 10s" in text  # one failed removal: +40 min [E-PLOGS]


def test_bound_json_keeps_the_asked_case_and_adds_the_degraded_ones() -> None:
    out = _cli("bound", "--activation", "1h", "--failed-removals", "2", "--legacy-cli", "--portal", "1h", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["bound"]["idc_removal"] == HOUR + 10 + 40 * MINUTE * 3
    assert doc["bound"]["effective_end"] == doc["bound"]["idc_removal"] + 8 * HOUR + HOUR  # legacy CLI: 8 h
    assert doc["nominal"]["idc_removal"] == HOUR + 10 + 40 * MINUTE
    assert any("2 failed removal attempt(s)" in c for c in doc["conditions"])
    keys = [c["key"] for c in doc["degraded"]]
    assert keys == ["failed_removals", "escrow", "quarantine", "cycle_jitter", "initial_cycle"]
    assert all(c["effective_end"] >= doc["bound"]["effective_end"] for c in doc["degraded"])
    assert all(c["conditions"] for c in doc["degraded"])


def test_bound_names_the_bad_flag() -> None:
    out = _cli("bound", "--failed-removals", "11")
    assert out.returncode == 2 and "--failed-removals = 11" in out.stderr and "Traceback" not in out.stderr


def test_check_with_failed_removals_names_the_failure_mode_that_breaks_the_limit(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('activation_max = "1h"\nportal_session = "1h"\npermission_set_session = "1h"\n')
    assert _cli("check", str(f), "--max-window", "4h").returncode == 0
    out = _cli("check", str(f), "--max-window", "4h", "--failed-removals", "2", "--json")
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    (violation,) = doc["violations"]
    assert "2 failed removal attempt(s)" in violation["failure_mode"]
    assert doc["window"] == 5 * HOUR + 10
    text = _cli("check", str(f), "--max-window", "4h", "--failed-removals", "2").stdout
    assert "broken by the failure mode: 2 failed removal attempt(s)" in text


def test_advise_with_failed_removals_drops_combinations_that_only_hold_without_failures() -> None:
    # issue 11 renamed advise's grid flags to --portal/--activation and put the rows under "rows"
    base = _cli("advise", "--max-window", "4h", "--json", "--portal", "1h", "--activation", "1h")
    degraded = _cli(
        "advise", "--max-window", "4h", "--json", "--portal", "1h", "--activation", "1h", "--failed-removals", "2"
    )
    assert base.returncode == 0 and degraded.returncode == 0, degraded.stderr
    assert len(json.loads(degraded.stdout)["rows"]) < len(json.loads(base.stdout)["rows"])
