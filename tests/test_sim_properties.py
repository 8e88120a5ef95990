"""Property tests over random settings and populations (bounded hypothesis examples; long fuzzing is ``slow``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from sim import rules
from sim.bounds import worst_case
from sim.engine import simulate_events
from sim.population import Population
from sim.settings import EntitlementMode, Settings
from sim.strategies import populations, seeds, settings

FAST = hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HOUR = 3600.0


def _nan_le(a: np.ndarray, b: np.ndarray) -> bool:
    """a <= b where both are defined, and both undefined together."""
    same_nan = np.array_equal(np.isnan(a), np.isnan(b))
    ok = np.isnan(a) | (a <= b + 1e-6)
    return same_nan and bool(np.all(ok))


@FAST
@given(settings(entra_constants=False), populations(), seeds())
def test_simulated_worst_case_never_exceeds_the_closed_form_bound(s: Settings, p: Population, seed: int) -> None:
    r = simulate_events(s, p, seed)
    agg = r.aggregates()
    assert agg["within_bound"], agg["bound_checks"]
    b = worst_case(s)
    window = r.columns["worst_effective_end"] - r.columns["start"]
    assert np.all(np.isnan(window) | (window <= b.effective_end + 1e-6))


@FAST
@given(settings(entra_constants=False), populations(), seeds())
def test_throttled_activations_never_reach_identity_center_before_the_next_cycle(
    s: Settings, p: Population, seed: int
) -> None:
    c = simulate_events(s, p, seed).columns
    for add, start, path in zip(c["entra_add"], c["idc_start"], c["path"], strict=True):
        if path == 2:  # throttled [E-AWS]
            cycle = rules.next_cycle_after(float(add), s.cycle_interval, s.cycle_phase)
            assert start >= cycle
            assert start == cycle + s.cycle_processing


@FAST
@given(settings(entra_constants=False), populations(), seeds())
def test_removal_never_before_the_next_cycle_after_expiry(s: Settings, p: Population, seed: int) -> None:
    c = simulate_events(s, p, seed).columns
    for remove, end, intended in zip(c["entra_remove"], c["idc_end"], c["intended_end"], strict=True):
        if np.isnan(end):
            continue
        cycle = rules.next_cycle_after(float(remove), s.cycle_interval, s.cycle_phase)
        if s.remove_idc_membership:  # countermeasure [UG-revoke]
            assert end <= intended or end >= cycle
        else:
            assert end >= cycle and end >= intended


@FAST
@given(settings(entra_constants=False), populations(relaunch=False), seeds(), st.integers(1, 11), st.booleans())
def test_a_longer_portal_or_permission_set_session_never_shortens_any_window(
    s: Settings, p: Population, seed: int, hours: int, portal: bool
) -> None:
    if portal:
        longer = s.replace(portal_session=min(s.portal_session + hours * HOUR, 90 * 24 * HOUR))
    else:
        longer = s.replace(permission_set_session=min(s.permission_set_session + hours * HOUR, 12 * HOUR))
    a = simulate_events(s, p, seed).columns
    b = simulate_events(longer, p, seed).columns
    for col in ("intended_end", "idc_start", "idc_end"):
        assert np.array_equal(a[col], b[col], equal_nan=True)
    assert _nan_le(a["latest_launch"], b["latest_launch"])
    assert _nan_le(a["worst_effective_end"], b["worst_effective_end"])
    # the modelled user (one launch each): a launch allowed before is still allowed, and its session lasts as long
    ea, eb = a["effective_end"], b["effective_end"]
    assert bool(np.all(np.isnan(ea) | (eb >= ea - 1e-6)))


@FAST
@given(settings(entra_constants=False), populations(), seeds())
def test_launch_check_never_exceeds_signin_snapshot(s: Settings, p: Population, seed: int) -> None:
    snap = simulate_events(s.replace(entitlement_mode=EntitlementMode.SIGNIN_SNAPSHOT), p, seed).columns
    check = simulate_events(s.replace(entitlement_mode=EntitlementMode.LAUNCH_CHECK), p, seed).columns
    ws, wc = snap["worst_effective_end"], check["worst_effective_end"]
    assert np.array_equal(np.isnan(ws), np.isnan(wc))
    assert bool(np.all(np.isnan(ws) | (wc <= ws + 1e-6)))
    es, ec = snap["effective_end"], check["effective_end"]
    assert bool(np.all(np.isnan(ec) | (ec <= es + 1e-6)))
    assert bool(np.all(check["launches"] <= snap["launches"]))


@hyp_settings(max_examples=25, deadline=None)
@given(settings(entra_constants=False), populations(max_requests=10), seeds())
def test_same_seed_gives_identical_json(s: Settings, p: Population, seed: int) -> None:
    assert simulate_events(s, p, seed).to_json() == simulate_events(s, p, seed).to_json()


@FAST
@given(settings(entra_constants=False), populations(), seeds())
def test_event_count_is_exact(s: Settings, p: Population, seed: int) -> None:
    r = simulate_events(s, p, seed)
    activated = int(np.sum(~np.isnan(r.columns["start"])))
    decisions = r.n if s.approval_required else 0
    assert r.events == r.n + decisions + activated


@FAST
@given(settings(entra_constants=False), populations(), seeds())
def test_time_to_access_and_paths_are_consistent(s: Settings, p: Population, seed: int) -> None:
    c = simulate_events(s, p, seed).columns
    provisioned = (c["path"] == 1) | (c["path"] == 2)
    assert np.array_equal(provisioned, ~np.isnan(c["idc_start"]))
    assert bool(np.all(c["time_to_access"][provisioned] >= 0))
    assert bool(np.all(c["idc_end"][provisioned] > c["idc_start"][provisioned]))
    for i in np.flatnonzero(c["path"] == 1):
        add, landing, start = (
            float(c["entra_add"][i]),
            float(c["entra_add"][i] + c["fast_latency"][i]),
            c["idc_start"][i],
        )
        if landing < c["entra_remove"][i]:  # the fast path lands, unless an earlier cycle carried the add [E-AWS]
            assert start <= landing
        else:  # removed before the fast path landed: only the cycle that saw the membership carries it
            assert start == rules.next_cycle_after(add, s.cycle_interval, s.cycle_phase) + s.cycle_processing


@pytest.mark.slow
@hyp_settings(deadline=None, suppress_health_check=list(HealthCheck))
@given(settings(entra_constants=False), populations(max_requests=80), seeds())
def test_bound_and_cycle_rules_long_fuzz(s: Settings, p: Population, seed: int) -> None:
    r = simulate_events(s, p, seed)
    assert r.aggregates()["within_bound"]
    c = r.columns
    for add, start, path in zip(c["entra_add"], c["idc_start"], c["path"], strict=True):
        if path == 2:
            assert start >= rules.next_cycle_after(float(add), s.cycle_interval, s.cycle_phase)
