"""The event engine against the same population model written in SimPy (the peer and the test oracle).

:func:`simpy_simulate` is the model as a SimPy user would write it: a source process starts one process per
activation request, which waits for the approver, the Entra add, the fast path or the next cycle, the sign-in and
each launch with ``env.timeout``. It uses the same draws (:meth:`sim.population.Population.sample`) and the same
rules (:mod:`sim.rules`), so its columns equal :func:`sim.engine.simulate`'s (``tests/test_engine_oracle.py``).

``python -m bench sim`` prints activations/second for both on one population and the ratio, then times
1,000,000 activations in the engine (fast path, throttling, cycles, sessions).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim import rules
from sim.engine import simulate
from sim.population import Population
from sim.settings import APPROVAL_TIMEOUT, MIN_ACTIVE_BEFORE_DEACTIVATE, Settings, load_settings

NAN = math.nan


def simpy_simulate(s: Settings, population: Population, seed: int = 0) -> dict[str, np.ndarray]:
    """Return the per-activation columns of :func:`sim.engine.simulate` computed by a SimPy model."""
    rng = np.random.default_rng(seed)
    smp = population.sample(
        rng, s.activation_max, s.membership_latency_max, s.fast_path_latency_min, s.fast_path_latency_max
    )
    n = smp.n
    env = simpy.Environment()
    throttles = [rules.FastPathThrottle.from_settings(s) for _ in range(population.apps)]
    out: dict[str, list[Any]] = {
        k: [NAN] * n
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
    out["outcome"] = [0] * n
    out["path"] = [0] * n
    out["launches"] = [0] * n
    out["self_deactivated"] = [False] * n
    out["deactivation_refused"] = [False] * n
    request = smp.request.tolist()

    def user(i: int) -> Generator[simpy.Event, Any, None]:
        t = request[i]
        if s.approval_required:
            delay = float(smp.approver_delay[i])
            t = t + min(delay, APPROVAL_TIMEOUT)
            yield env.timeout(max(0.0, t - env.now))
            out["decision"][i] = t
            if rules.approval_expired(delay):
                out["outcome"][i] = 3
                return
            if smp.denied[i]:
                out["outcome"][i] = 2
                return
            out["outcome"][i] = 1
        start = t
        out["start"][i] = start
        requested = float(smp.requested[i])
        after = float(smp.deactivate_after[i])
        end = start + requested
        if after < requested:
            if s.enforce_min_active and after < MIN_ACTIVE_BEFORE_DEACTIVATE:
                out["deactivation_refused"][i] = True
            else:
                end = start + after
                out["self_deactivated"][i] = True
        out["intended_end"][i] = end
        remove = end + float(smp.remove_latency[i])
        out["entra_remove"][i] = remove
        add = start + float(smp.add_latency[i])
        yield env.timeout(max(0.0, add - env.now))
        out["entra_add"][i] = add
        fast = throttles[int(smp.app[i])].admit(add)
        m = rules.idc_membership(add, remove, end, fast, float(smp.fast_latency[i]), s)
        if m is None:
            out["path"][i] = 3
            return
        out["path"][i] = 1 if fast else 2
        yield env.timeout(max(0.0, m.start - env.now))  # the fast path lands or the cycle runs
        out["idc_start"][i] = m.start
        out["idc_end"][i] = m.end
        latest = rules.latest_launch(m, end, s)
        worst = rules.worst_effective_end(m, end, s)
        out["latest_launch"][i] = latest
        out["worst_effective_end"][i] = worst
        if population.behaviour == "worst_case":
            out["signin"][i] = m.end
            out["first_launch"][i] = latest
            out["launches"][i] = 1
            out["effective_end"][i] = worst
            return
        signin = m.start + float(smp.signin_delay[i])
        yield env.timeout(max(0.0, signin - env.now))
        out["signin"][i] = signin
        launch = signin + float(smp.launch_delay[i])
        yield env.timeout(max(0.0, launch - env.now))
        count = 0
        while count < population.max_launches and rules.launch_allowed(m, signin, launch, end, s):
            if count == 0:
                out["first_launch"][i] = launch
            count += 1
            role_end = rules.role_session_end(launch, end, s)
            out["effective_end"][i] = role_end
            if not population.relaunch or role_end >= end:
                break
            yield env.timeout(max(0.0, role_end - env.now))  # the role session runs out; launch again
            launch = role_end
        out["launches"][i] = count

    def source() -> Generator[simpy.Event, Any, None]:
        for i in range(n):
            yield env.timeout(max(0.0, request[i] - env.now))
            env.process(user(i))

    env.process(source())
    env.run()
    cols = {k: np.asarray(v) for k, v in out.items()}
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
    """Print engine vs SimPy activations/second (and the ratio) and the 1,000,000-activation time."""
    peer_n = int(os.environ.get("JITBOX_BENCH_PEER_N", "100000"))
    big_n = int(os.environ.get("JITBOX_BENCH_N", "1000000"))
    pop = bench_population(peer_n)
    s = BENCH_SETTINGS
    simulate(s, bench_population(1000), 0)  # warm up imports and caches
    dt_e, rate_e = _rate(lambda: simulate(s, pop, 1), peer_n)
    dt_p, rate_p = _rate(lambda: simpy_simulate(s, pop, 1), peer_n)
    print(f"population: {peer_n:,} Poisson requests at 3,000/h; PIM 1h, portal 8h, permission set 1h")
    print(f"  engine  {rate_e:12,.0f} activations/s  ({dt_e:.2f} s)")
    print(f"  SimPy   {rate_p:12,.0f} activations/s  ({dt_p:.2f} s)")
    print(f"  ratio   {rate_e / rate_p:.1f}x  (target >= 5x)")
    big = bench_population(big_n)
    t0 = time.perf_counter()
    result = simulate(s, big, 2)
    dt = time.perf_counter() - t0
    c = result.aggregates()["counts"]
    print(
        f"{big_n:,} activations in the engine: {dt:.2f} s ({big_n / dt:,.0f}/s; target < 10 s); "
        f"fast {c['fast_path']:,}, throttled {c['throttled']:,}, events {result.events:,}"
    )
