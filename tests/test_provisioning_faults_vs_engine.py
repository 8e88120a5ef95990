"""Differential test on bursts and removal faults: the sandbox (PIM fake → provisioning engine → Identity Center
fake over HTTP, virtual clock) against the simulator's event engine on the same inputs.

- bursts: 6 or more activations within 10 s; the 6th and later wait for the next cycle on both sides, because both
  count the fast path at activation (:func:`sim.rules.fast_path_admission_time`) [E-AWS][E-PIMG];
- faults: ``POST /_sandbox/faults`` on the Identity Center fake answers a sequence of removal ``PATCH /Groups``
  with 500 (or lets them through); the job retries each failed removal on the next cycle [E-PLOGS]. The number of
  failed attempts each activation's removal met is replayed into the simulator
  (``Population.removal_failures``): the same failure sequence must give the same removal instants.

Inputs are deterministic on both sides (Entra latency 0, one fast-path latency, explicit request times, one
duration). Every add lands by the first 40-min cycle and every removal comes after the faults are installed.
"""

from __future__ import annotations

import math
from typing import Any

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pim_support import Sandbox, make_sandbox, many_users_world

from sim.engine import simulate_events
from sim.population import ExplicitArrivals, FixedDist, Population
from sim.settings import Settings

EC2 = "AWS - Amazon EC2 Admin"
FAULTS_AT = 50 * 60.0
"""When the faults are installed: after every add (fast path ≤ 10 min, throttled adds on the 40-min cycle) and
before every removal (durations ≥ 60 min)."""

INPUTS = {
    "offsets": st.lists(st.integers(min_value=0, max_value=10).map(lambda m: m * 60), max_size=4),
    "burst": st.integers(min_value=6, max_value=9),
    "duration_min": st.integers(min_value=60, max_value=180),
    "latency": st.integers(min_value=120, max_value=600),
    "faults": st.lists(st.sampled_from([200, 500]), max_size=5),
    "mode": st.sampled_from(["sliding", "fixed"]),
}


@settings(max_examples=6, deadline=None)
@given(**INPUTS)
def test_bursts_and_removal_faults_give_the_same_instants_in_sandbox_and_engine(
    offsets: list[int], burst: int, duration_min: int, latency: int, faults: list[int], mode: str
) -> None:
    check(offsets, burst, duration_min, latency, faults, mode)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(**INPUTS)
def test_bursts_and_removal_faults_give_the_same_instants_in_sandbox_and_engine_fuzz(
    offsets: list[int], burst: int, duration_min: int, latency: int, faults: list[int], mode: str
) -> None:
    check(offsets, burst, duration_min, latency, faults, mode)


def test_six_activations_one_second_apart_throttle_the_sixth_in_sandbox_and_engine() -> None:
    sb, result, _ = check([], 6, 60, 300, [500, 500], "sliding")
    assert [r.fast for r in sb.job.fast_path] == [True] * 5 + [False]
    # both injected 500s hit removal attempts, and each failed removal was retried on a later cycle [E-PLOGS]
    assert int(result.columns["removal_failures"].sum()) >= 2
    assert float(result.columns["idc_end"].max()) >= 80 * 60 + s_cycle()  # the 80-min cycle's removal failed


def _statuses(sb: Sandbox) -> list[int]:
    """Record the status of every later SCIM response, in the order of ``sb.calls`` (from its current length)."""
    out: list[int] = []

    def hook(response: httpx2.Response) -> None:
        out.append(response.status_code)

    sb.scim_client.event_hooks["response"].append(hook)
    return out


def check(
    offsets: list[int], burst: int, duration_min: int, latency: int, faults: list[int], mode: str
) -> tuple[Sandbox, Any, list[int]]:
    """Run the same activations and removal faults through the sandbox and the engine; assert equal instants."""
    times = sorted([float(o) for o in offsets] + [100.0 + k for k in range(burst)])  # burst: 1 s apart
    n = len(times)
    s = Settings(
        membership_latency_max=0,
        fast_path_latency_min=latency,
        fast_path_latency_max=latency,
        fast_path_window_mode=mode,
    )
    duration = duration_min * 60.0
    sb = make_sandbox(settings=s, world=many_users_world(n))
    first_call = len(sb.calls)
    statuses = _statuses(sb)
    origin = sb.job.origin
    assert origin is not None
    for i, t in enumerate(times):
        sb.clock.advance(origin + t - sb.clock.time())
        sb.activate(f"u{i}", duration=f"PT{duration_min}M")
    sb.clock.advance(origin + FAULTS_AT - sb.clock.time())
    if faults:
        rule = {"route": "PATCH Groups", "sequence": faults}
        assert sb.scim_client.post("/_sandbox/faults", json={"rules": [rule]}).status_code == 200
    sb.clock.advance(origin + max(times) + duration + (len(faults) + 2) * s.cycle_interval - sb.clock.time())

    ec2 = sb.job.groups[sb.group_id(EC2)].scim_id
    added: dict[str, float] = {}
    removed: dict[str, float] = {}
    failed: dict[str, int] = {}
    patches = [
        (c, st) for c, st in zip(sb.calls[first_call:], statuses, strict=True) if c[1] == "PATCH" and c[2].endswith(ec2)
    ]
    for (t, _method, _url, body), status in patches:
        for op in body["Operations"]:
            for v in op.get("value", []):
                if status >= 400:
                    assert op["op"].lower() == "remove", "a fault hit an add"
                    failed[v["value"]] = failed.get(v["value"], 0) + 1
                else:
                    (added if op["op"].lower() == "add" else removed).setdefault(v["value"], t - origin)
    scim_ids = [sb.job.users[sb.user_id(f"u{i}")].scim_id for i in range(n)]
    population = Population(
        arrivals=[ExplicitArrivals(times=times)],
        requested_duration=FixedDist(value=duration),
        removal_failures=[failed.get(sid, 0) for sid in scim_ids],
    )
    result = simulate_events(s, population, seed=1)
    for i, scim_id in enumerate(scim_ids):
        start, end = float(result.columns["idc_start"][i]), float(result.columns["idc_end"][i])
        assert not math.isnan(start)
        assert math.isclose(added[scim_id], start, abs_tol=1e-6)
        assert math.isclose(added[scim_id] - times[i], float(result.columns["time_to_access"][i]), abs_tol=1e-6)
        assert math.isclose(removed[scim_id], end, abs_tol=1e-6), (i, failed.get(scim_id, 0))
    assert [r.fast for r in sb.job.fast_path] == [int(p) == 1 for p in result.columns["path"]]
    return sb, result, statuses


def s_cycle() -> float:
    """The regular cycle interval the differential runs use (Entra's 40 min [E-AWS])."""
    return Settings().cycle_interval
