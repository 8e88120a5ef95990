"""Pins the event kernel (order, ties, exact event counts) and the simulator's per-activation timing rules."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sim import rules
from sim.bounds import worst_case
from sim.engine import simulate_events
from sim.kernel import Kernel
from sim.population import Population
from sim.results import COLUMNS, RunResult
from sim.settings import APPROVAL_TIMEOUT, MIN_ACTIVE_BEFORE_DEACTIVATE, EntitlementMode, load_settings

MIN = 60.0
HOUR = 3600.0


# --- kernel --------------------------------------------------------------------------------------------


def test_kernel_runs_events_in_time_order_and_ties_in_schedule_order() -> None:
    k = Kernel()
    seen: list[tuple[float, int]] = []

    def note(arg: int) -> None:
        seen.append((k.now, arg))

    k.schedule(5.0, note, 1)
    k.schedule(1.0, note, 2)
    k.schedule(5.0, note, 3)
    k.schedule(1.0, note, 4)
    assert k.run() == 4
    assert seen == [(1.0, 2), (1.0, 4), (5.0, 1), (5.0, 3)]
    assert k.processed == 4


def test_kernel_source_merges_with_heap_and_runs_first_on_ties() -> None:
    k = Kernel()
    seen: list[str] = []
    k.schedule(2.0, lambda a: seen.append(f"heap{a}"), 0)
    k.source([1.0, 2.0, 3.0], lambda i: seen.append(f"src{i}"))
    assert len(k) == 4
    assert k.peek() == 1.0
    assert k.run() == 4
    assert seen == ["src0", "src1", "heap0", "src2"]
    assert len(k) == 0 and k.peek() == math.inf


def test_kernel_callbacks_may_schedule_and_counts_are_exact() -> None:
    k = Kernel()

    def chain(left: int) -> None:
        if left:
            k.schedule(k.now + 1.0, chain, left - 1)

    k.schedule(0.0, chain, 9)
    assert k.run() == 10
    assert k.now == 9.0


def test_kernel_run_until_stops_and_advances_now() -> None:
    k = Kernel()
    hits: list[float] = []
    for t in (1.0, 2.0, 3.0):
        k.schedule(t, lambda _a: hits.append(k.now))
    assert k.run(until=2.0) == 2
    assert k.now == 2.0 and hits == [1.0, 2.0]
    k.step()
    assert hits == [1.0, 2.0, 3.0]
    with pytest.raises(IndexError):
        k.step()


def test_kernel_refuses_the_past_and_unsorted_sources() -> None:
    k = Kernel(start=10.0)
    with pytest.raises(ValueError, match="before now"):
        k.schedule(9.0, lambda _a: None)
    with pytest.raises(ValueError, match="sorted"):
        k.source([11.0, 10.5], lambda _i: None)


# --- simulator: event counts ---------------------------------------------------------------------------


def test_event_count_without_approval_is_request_plus_entra_add() -> None:
    r = simulate_events(load_settings(), Population.explicit([0.0, 10.0, 20.0]), seed=1)
    assert r.events == 6  # 3 requests + 3 Entra adds


def test_event_count_with_approval_adds_one_decision_per_request() -> None:
    s = load_settings({"approval_required": True})
    pop = Population.explicit(
        [0.0, 10.0, 20.0, 30.0],
        approver_delay={"kind": "choice", "values": ["10m", "25h"]},
        deny_probability=0.0,
    )
    r = simulate_events(s, pop, seed=3)
    activated = int(np.sum(~np.isnan(r.columns["start"])))
    assert 0 < activated < 4
    assert r.events == 4 + 4 + activated


def test_empty_population_runs_no_events() -> None:
    r = simulate_events(load_settings(), Population.explicit([]), seed=0)
    assert r.n == 0 and r.events == 0
    assert r.aggregates()["counts"]["requests"] == 0
    assert r.aggregates()["within_bound"]


# --- simulator: the documented rules per activation ----------------------------------------------------


def test_fast_path_admits_five_per_ten_seconds_and_the_sixth_waits_for_the_cycle() -> None:
    # [E-AWS][E-PIMG]: first 5 activations per 10 s per app take the fast path, the 6th+ the next regular cycle
    s = load_settings({"membership_latency_max": 0, "cycle_phase": "30m"})
    r = simulate_events(s, Population.explicit([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 11.0]), seed=0)
    paths = [rec.path for rec in r.records()]
    assert paths == ["fast"] * 5 + ["throttled", "fast"]
    sixth = r.record(5)
    assert sixth.idc_start == 30 * MIN  # next cycle after its Entra add
    assert sixth.time_to_access == 30 * MIN - 5.0
    for rec in r.records():
        if rec.path == "fast":
            assert rec.time_to_access is not None and 2 * MIN <= rec.time_to_access <= 10 * MIN


def test_each_enterprise_app_has_its_own_throttle() -> None:
    s = load_settings({"membership_latency_max": 0})
    pop = Population.burst(40, within=5.0, apps=4)
    r = simulate_events(s, pop, seed=2)
    fast = r.aggregates()["counts"]["fast_path"]
    assert fast == 20  # 5 per app, 4 apps, all within one 10-s window


def test_fixed_window_mode_counts_per_aligned_window() -> None:
    s = load_settings({"membership_latency_max": 0, "fast_path_window_mode": "fixed"})
    r = simulate_events(s, Population.explicit([8.0, 8.5, 9.0, 9.5, 9.9, 10.0, 10.1]), seed=0)
    assert [rec.path for rec in r.records()] == ["fast"] * 7  # 5 in [0,10), 2 in [10,20)
    s2 = s.replace(fast_path_window_mode="sliding")
    r2 = simulate_events(s2, Population.explicit([8.0, 8.5, 9.0, 9.5, 9.9, 10.0, 10.1]), seed=0)
    assert [rec.path for rec in r2.records()].count("throttled") == 2


def test_removal_waits_for_the_next_cycle_after_the_entra_removal() -> None:
    # [E-AWS]: deprovisioning is not accelerated
    s = load_settings({"activation_max": "1h", "membership_latency_max": 0})
    r = simulate_events(s, Population.explicit([0.0]), seed=0)
    rec = r.record(0)
    assert rec.intended_end == HOUR
    assert rec.entra_remove == HOUR
    assert rec.idc_end == rules.next_cycle_after(HOUR, 40 * MIN) == 80 * MIN


def test_remove_idc_membership_countermeasure_ends_membership_at_the_intended_end() -> None:
    s = load_settings({"activation_max": "1h", "remove_idc_membership": True})
    rec = simulate_events(s, Population.explicit([100.0]), seed=0).record(0)
    assert rec.idc_end == rec.intended_end == 100.0 + HOUR


def test_seed_blog_worst_case_user_reaches_about_ten_hours_forty() -> None:
    # [AWS-BLOG] 10 h window + [E-AWS] deprovisioning wait
    s = load_settings({"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"})
    pop = Population.model_validate({"arrivals": [{"kind": "poisson", "rate_per_hour": 6, "count": 300}]})
    r = simulate_events(s, pop, seed=4)
    worst = r.worst_window()
    assert 10 * HOUR + 35 * MIN < worst <= worst_case(s).effective_end
    assert r.aggregates()["within_bound"]


def test_worst_case_behaviour_launches_at_the_latest_permitted_instant() -> None:
    s = load_settings({"activation_max": "1h"})
    r = simulate_events(s, Population.explicit([0.0, 50.0], behaviour="worst_case"), seed=0)
    for rec in r.records():
        assert rec.first_launch == rec.latest_launch
        assert rec.effective_end == rec.worst_effective_end


def test_typical_user_relaunches_until_the_intended_end_and_launch_check_refuses_after_removal() -> None:
    s = load_settings({"activation_max": "4h", "membership_latency_max": 0})
    pop = Population.explicit(
        [0.0], signin_delay={"kind": "fixed", "value": 0}, launch_delay={"kind": "fixed", "value": 0}
    )
    rec = simulate_events(s, pop, seed=0).record(0)
    assert rec.launches == 4  # 1-h role sessions from the fast-path landing until past the 4-h intended end
    assert rec.effective_end is not None and rec.effective_end >= 4 * HOUR
    late = Population.explicit([0.0], signin_delay={"kind": "fixed", "value": "6h"})
    snap = simulate_events(s, late, seed=0).record(0)
    check = simulate_events(s.replace(entitlement_mode=EntitlementMode.LAUNCH_CHECK), late, seed=0).record(0)
    assert snap.launches == 0 == check.launches  # signed in after Identity Center removal (4 h 0 m + cycle)


def test_approval_expires_after_24_hours() -> None:
    # [E-APPRV]: approvers have 24 h, not configurable
    s = load_settings({"approval_required": True})
    pop = Population.explicit([0.0, 0.0], approver_delay={"kind": "choice", "values": ["23h", "24h"]})
    r = simulate_events(s, pop, seed=9)
    by_delay = {rec.outcome: rec for rec in r.records()}
    assert set(by_delay) <= {"approved", "expired"}
    for rec in r.records():
        if rec.outcome == "expired":
            assert rec.decision == APPROVAL_TIMEOUT and rec.start is None and rec.path == "none"
        else:
            assert rec.decision == rec.start == 23 * HOUR


def test_self_deactivation_floor_is_a_switch() -> None:
    # ActiveDurationTooShort (third-party, UNCONFIRMED): refused within 5 minutes when enforce_min_active
    pop = Population.explicit(
        [0.0, 100.0],
        self_deactivate_probability=1.0,
        self_deactivate_after={"kind": "choice", "values": ["2m"]},
    )
    on = simulate_events(load_settings({"activation_max": "1h"}), pop, seed=0)
    assert all(rec.deactivation_refused and not rec.self_deactivated for rec in on.records())
    assert on.record(0).intended_end == HOUR
    off = simulate_events(load_settings({"activation_max": "1h", "enforce_min_active": False}), pop, seed=0)
    assert all(rec.self_deactivated for rec in off.records())
    assert off.record(0).intended_end == 2 * MIN < MIN_ACTIVE_BEFORE_DEACTIVATE


def test_activation_ended_before_any_hop_is_never_provisioned() -> None:
    s = load_settings({"enforce_min_active": False, "fast_path_latency_min": "5m", "cycle_phase": "39m"})
    pop = Population.explicit(
        [0.0], self_deactivate_probability=1.0, self_deactivate_after={"kind": "fixed", "value": "1m"}
    )
    rec = simulate_events(s, pop, seed=0).record(0)
    assert rec.path == "never" and rec.idc_start is None and rec.worst_effective_end is None


def test_requested_duration_is_capped_at_the_policy_maximum() -> None:
    s = load_settings({"activation_max": "2h"})
    pop = Population.explicit([0.0], requested_duration={"kind": "fixed", "value": "5h"})
    rec = simulate_events(s, pop, seed=0).record(0)
    assert rec.requested == 2 * HOUR and rec.intended_end == 2 * HOUR


# --- result type ----------------------------------------------------------------------------------------


def test_result_columns_match_the_documented_column_list() -> None:
    r = simulate_events(load_settings(), Population.burst(12), seed=5)
    assert list(r.columns) == list(COLUMNS)
    assert all(len(col) == 12 for col in r.columns.values())
    assert isinstance(r, RunResult)


def test_json_is_byte_identical_for_the_same_seed_and_differs_for_another() -> None:
    s = load_settings({"approval_required": True, "activation_max": "1h"})
    pop = Population.model_validate(
        {"arrivals": [{"kind": "poisson", "rate_per_hour": 30, "count": 40}], "self_deactivate_probability": 0.3}
    )
    a = simulate_events(s, pop, seed=42).to_json()
    b = simulate_events(s, pop, seed=42).to_json()
    c = simulate_events(s, pop, seed=43).to_json()
    assert a == b and a != c
    doc = json.loads(a)
    assert len(doc["records"]) == 40
    assert set(doc["aggregates"]) >= {"counts", "time_to_access", "overhang", "bound", "within_bound"}
    assert {"p50", "p90", "p99", "max"} <= set(doc["aggregates"]["time_to_access"])


def test_aggregates_count_paths_and_outcomes() -> None:
    s = load_settings({"membership_latency_max": 0, "approval_required": True})
    pop = Population.burst(20, within=1.0, approver_delay={"kind": "fixed", "value": "1m"}, deny_probability=0.0)
    c = simulate_events(s, pop, seed=1).aggregates()["counts"]
    assert c["requests"] == 20 and c["approved"] == 20
    assert c["fast_path"] == 5 and c["throttled"] == 15 and c["never_provisioned"] == 0


def test_json_records_equal_the_record_objects() -> None:
    s = load_settings({"approval_required": True, "activation_max": "2h"})
    pop = Population.model_validate(
        {
            "arrivals": [{"kind": "poisson", "rate_per_hour": 20, "count": 60}],
            "approver_delay": {"kind": "choice", "values": ["5m", "30h"]},
            "deny_probability": 0.2,
            "self_deactivate_probability": 0.5,
        }
    )
    r = simulate_events(s, pop, seed=8)
    rows = r.record_dicts()
    for i, row in enumerate(rows):
        rec = r.record(i).__dict__
        assert row == {k: (round(v, 3) if isinstance(v, float) else v) for k, v in rec.items()}
    assert {row["outcome"] for row in rows} >= {"approved", "expired"}
