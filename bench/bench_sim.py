"""The event engine against the same population model written in SimPy (the peer and the test oracle).

:func:`simpy_simulate` is the model as a SimPy user would write it: a source process starts one process per
activation request, and a provisioning-cycle process wakes every cycle; users wait with ``env.timeout`` for every
step of their timeline (approver, Entra add, Identity Center add, sign-in, each launch, removal). It shares the draws
(:meth:`sim.population.Population.sample`) and the session rules of :mod:`sim.rules` with the engine, but models
provisioning (cycles, fast path, cancellation, removal) with events instead of closed forms, so it is an independent
oracle for that part: its columns equal :func:`sim.engine.simulate_events`'s (``tests/test_engine_oracle.py``).

``python -m bench sim`` prints activations/second on one throttled Poisson population for the simulator as users call
it (:func:`sim.run.simulate`, ``engine="auto"``: the numpy path, throttled bursts included), for the event engine alone and for
SimPy, with the ratios to SimPy first, then times 1,000,000 activations in the simulator.
"""

from __future__ import annotations

import math
import os
import time
from array import array
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim import rules
from sim.engine import simulate_events
from sim.population import Population
from sim.run import simulate
from sim.settings import APPROVAL_TIMEOUT, MIN_ACTIVE_BEFORE_DEACTIVATE, Settings, load_settings

NAN = math.nan


class _UrgentTimeout(simpy.Event):  # type: ignore[misc]
    """A timeout that runs before ordinary events at the same instant (SimPy's ``Timeout`` with URGENT priority)."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, simpy.core.URGENT, delay)


def _delay_to(env: simpy.Environment, t: float) -> float:
    """Return the delay that lands exactly on ``t`` (``now + delay`` rounds; nudge it by ulps)."""
    now = env.now
    d = t - now
    if d <= 0.0:
        return 0.0
    while now + d < t:
        d = math.nextafter(d, math.inf)
    while d > 0.0 and now + d > t:
        d = math.nextafter(d, -math.inf)
    return d


def simpy_simulate(s: Settings, population: Population, seed: int = 0) -> dict[str, np.ndarray]:
    """Return the per-activation columns of :func:`sim.engine.simulate_events` computed by a SimPy model.

    Written the SimPy way, one process per activation plus a provisioning-cycle process; it shares only the draws
    and the session rules with the engine. Provisioning is modelled with events rather than closed forms:

    - the cycle process wakes every ``cycle_interval`` (from ``cycle_phase``) and carries each Entra add made
      strictly before the cycle if the user is still a member then, and each Entra removal made strictly before it,
      ``cycle_processing`` later [E-AWS];
    - a fast-path admission (:class:`sim.rules.FastPathThrottle`) starts a timer that adds the user to Identity
      Center ``fast_latency`` after the Entra add if still a member [E-AWS]; the first add wins;
    - with ``remove_idc_membership`` the tooling removes the membership at the intended end, and an add arriving
      at or after it is dropped [UG-revoke].

    At one instant, cycles and Identity Center changes run before users act (membership is half-open).
    Sign-ins and launches are decided when they happen, with what is known then (:func:`sim.rules.launch_allowed`).
    """
    smp = population.draw(s, seed)
    n = smp.n
    env = simpy.Environment()
    throttles = [rules.FastPathThrottle.from_settings(s) for _ in range(population.apps)]
    # results in typed arrays, as in the engine (no per-item objects for the garbage collector to scan)
    out: dict[str, Any] = {
        k: array("d", [NAN]) * n
        for k in [
            "decision",
            "start",
            "intended_end",
            "entra_add",
            "entra_remove",
            "idc_start",
            "idc_end",
            "signin",
            "first_launch",
            "effective_end",
            "latest_launch",
            "worst_effective_end",
        ]
    }
    for k in ("outcome", "path", "launches", "self_deactivated", "deactivation_refused"):
        out[k] = array("q", [0]) * n
    request = smp.request.tolist()
    idc_added: list[simpy.Event | None] = [None] * n  # value: the add time, or None when it never happens
    idc_removed: list[simpy.Event | None] = [None] * n
    pending_adds: list[int] = []  # Entra adds not yet seen by a cycle
    members: list[int] = []  # users whose Identity Center add is decided and removal is not
    busy = [0]  # activations whose provisioning is not finished, plus 1 while the source runs

    def at(t: float, urgent: bool = False) -> simpy.Event:
        d = _delay_to(env, t)
        return _UrgentTimeout(env, d) if urgent else env.timeout(d)

    def add_idc(i: int, t: float) -> None:
        ev = idc_added[i]
        assert ev is not None
        if ev.triggered:
            return
        if s.remove_idc_membership and t >= out["intended_end"][i]:
            ev.succeed(None)  # the tooling already removed the membership [UG-revoke]
            finish(i)
            return
        out["idc_start"][i] = t
        ev.succeed(t)

    def remove_idc(i: int, t: float) -> None:
        ev = idc_removed[i]
        assert ev is not None
        if ev.triggered or math.isnan(out["idc_start"][i]):
            return
        out["idc_end"][i] = t
        ev.succeed(t)
        finish(i)

    def finish(_i: int) -> None:
        busy[0] -= 1

    def later(t: float, fn: Any, *args: Any) -> None:
        at(t, urgent=True).callbacks.append(lambda _ev: fn(*args))

    def cycles() -> Generator[simpy.Event, Any, None]:
        k = 0
        while busy[0] > 0:
            c = s.cycle_phase + k * s.cycle_interval
            yield at(c, urgent=True)
            land = c + s.cycle_processing
            still: list[int] = []
            for i in pending_adds:
                if out["entra_add"][i] < c:
                    if c < out["entra_remove"][i]:
                        later(land, add_idc, i, land)
                        if i not in members_set:
                            members.append(i)
                            members_set.add(i)
                    elif i not in members_set:  # added and removed between two cycles: never provisioned
                        ev = idc_added[i]
                        assert ev is not None
                        ev.succeed(None)
                        finish(i)
                else:
                    still.append(i)
            pending_adds[:] = still
            keep: list[int] = []
            for i in members:
                if out["entra_remove"][i] < c:
                    later(land, remove_idc, i, land)
                    members_set.discard(i)
                else:
                    keep.append(i)
            members[:] = keep
            k += 1

    members_set: set[int] = set()

    def user(i: int) -> Generator[simpy.Event, Any, None]:
        t = request[i]
        if s.approval_required:
            delay = float(smp.approver_delay[i])
            t = t + min(delay, APPROVAL_TIMEOUT)
            yield at(t)
            out["decision"][i] = t
            if rules.approval_expired(delay):
                out["outcome"][i] = 3
                finish(i)
                return
            if smp.denied[i]:
                out["outcome"][i] = 2
                finish(i)
                return
            out["outcome"][i] = 1
        start = t
        out["start"][i] = start
        requested = float(smp.requested[i])
        after = float(smp.deactivate_after[i])
        end = start + requested
        if after < requested:
            if s.enforce_min_active and after < MIN_ACTIVE_BEFORE_DEACTIVATE:
                out["deactivation_refused"][i] = 1
            else:
                end = start + after
                out["self_deactivated"][i] = 1
        out["intended_end"][i] = end
        remove = end + float(smp.remove_latency[i])
        out["entra_remove"][i] = remove
        add = start + float(smp.add_latency[i])
        # the throttle counts users activating, at the activation's start [E-AWS][E-PIMG]
        fast = throttles[int(smp.app[i])].admit(rules.fast_path_admission_time(start))
        yield at(add)
        out["entra_add"][i] = add
        idc_added[i] = env.event()
        idc_removed[i] = env.event()
        out["path"][i] = 1 if fast else 2
        landing = add + float(smp.fast_latency[i])
        if fast and landing < remove:
            later(landing, add_idc, i, landing)
            members.append(i)
            members_set.add(i)
        pending_adds.append(i)
        if s.remove_idc_membership:
            later(end, remove_idc, i, end)
        started = yield idc_added[i]
        if started is None:
            out["path"][i] = 3
            return
        if population.behaviour == "typical":
            signin = started + float(smp.signin_delay[i])
            yield at(signin)
            out["signin"][i] = signin
            launch = signin + float(smp.launch_delay[i])
            yield at(launch)
            count = 0
            while count < population.max_launches:
                known_end = out["idc_end"][i]
                now_known = rules.Interval(started, math.inf if math.isnan(known_end) else known_end)
                if not rules.launch_allowed(now_known, signin, launch, end, s):
                    break
                if count == 0:
                    out["first_launch"][i] = launch
                count += 1
                role_end = rules.role_session_end(launch, end, s)
                out["effective_end"][i] = role_end
                if not population.relaunch or role_end >= end:
                    break
                yield at(role_end)  # the role session runs out; launch again
                launch = role_end
            out["launches"][i] = count
        removed = yield idc_removed[i]  # the worst-case user acts around the removal
        m = rules.Interval(started, removed)
        out["latest_launch"][i] = rules.latest_launch(m, end, s)
        out["worst_effective_end"][i] = rules.worst_effective_end(m, end, s)
        if population.behaviour == "worst_case":
            out["signin"][i] = removed
            out["first_launch"][i] = out["latest_launch"][i]
            out["launches"][i] = 1
            out["effective_end"][i] = out["worst_effective_end"][i]

    def source() -> Generator[simpy.Event, Any, None]:
        for i in range(n):
            yield at(request[i])
            busy[0] += 1
            env.process(user(i))
        finish(-1)

    busy[0] = 1
    env.process(source())
    env.process(cycles())
    env.run()
    cols = {k: np.frombuffer(v, dtype=np.float64 if v.typecode == "d" else np.int64) for k, v in out.items()}
    cols["request"] = smp.request
    cols["time_to_access"] = cols["idc_start"] - smp.request
    cols["overhang"] = cols["worst_effective_end"] - cols["intended_end"]
    cols["overhang_modelled"] = cols["effective_end"] - cols["intended_end"]
    return cols


def bench_population(count: int) -> Population:
    """Return the benchmark population: ``count`` Poisson requests at 3,000/h (the fast path throttles some)."""
    return Population.model_validate({"arrivals": [{"kind": "poisson", "rate_per_hour": 3000, "count": count}]})


BENCH_SETTINGS = load_settings({"activation_max": "1h", "portal_session": "8h", "permission_set_session": "1h"})
"""The seed's settings [AWS-BLOG]: PIM 1 h, portal 8 h, permission set 1 h."""


def _rate(fn: Any, count: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    return dt, count / dt


def main() -> None:
    """Print simulator (auto: the numpy path) vs SimPy, engine vs SimPy, and the 1,000,000-activation time."""
    peer_n = int(os.environ.get("JITBOX_BENCH_PEER_N", "100000"))
    big_n = int(os.environ.get("JITBOX_BENCH_N", "1000000"))
    pop = bench_population(peer_n)
    s = BENCH_SETTINGS
    simulate_events(s, bench_population(1000), 0)  # warm up imports and caches
    simulate(s, bench_population(1000), 0)
    dt_a, rate_a = _rate(lambda: simulate(s, pop, 1), peer_n)
    dt_e, rate_e = _rate(lambda: simulate_events(s, pop, 1), peer_n)
    dt_p, rate_p = _rate(lambda: simpy_simulate(s, pop, 1), peer_n)
    path = simulate(s, bench_population(peer_n), 1).engine
    print(f"population: {peer_n:,} Poisson requests at 3,000/h (throttled); PIM 1h, portal 8h, permission set 1h")
    print(
        f"  simulator {rate_a / rate_p:7.1f}x SimPy (target >= 50x): {rate_a:12,.0f} activations/s ({dt_a:.2f} s, {path})"
    )
    print(f"  engine    {rate_e / rate_p:7.1f}x SimPy: {rate_e:12,.0f} activations/s ({dt_e:.2f} s)")
    print(f"  SimPy                 {rate_p:12,.0f} activations/s ({dt_p:.2f} s)")
    big = bench_population(big_n)
    t0, c0 = time.perf_counter(), time.process_time()
    result = simulate(s, big, 2)
    path = result.engine
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    c = result.aggregates()["counts"]
    print(
        f"{big_n:,} activations in the simulator ({path}): {dt:.2f} s wall, {cpu:.2f} s CPU ({big_n / dt:,.0f}/s; "
        "target <= 1 s); "
        f"fast {c['fast_path']:,}, throttled {c['throttled']:,}"
    )
