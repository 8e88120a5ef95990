"""The vectorised numpy path: the same per-activation quantities as :func:`sim.engine.simulate_events`, whole arrays at once.

It draws exactly the same samples (:meth:`sim.population.Population.sample` from ``default_rng(seed)``) and applies
the same rules as :mod:`sim.rules`, written as array operations. Each array helper names the scalar rule it
mirrors; a property test (``tests/test_vector.py``) holds every column equal to the event engine's, bit for bit.

Every population runs here, throttled bursts included. The ``sliding`` fast-path throttle ("first 5 activations per
10 s per app" [E-AWS][E-PIMG]) is a sequential greedy admission: where no app sees more than ``fast_path_limit``
activations within ``fast_path_window`` everyone is admitted (one array comparison); the throttle counts
activations at their start (:func:`sim.rules.fast_path_admission_time`); otherwise the activations split into
independent runs at gaps of a whole window, and the crowded runs go through
:meth:`sim.rules.FastPathThrottle.admit_many`, one linear pass. The ``fixed`` window mode is an aligned count,
vectorised exactly. The rest is array arithmetic.
"""

from __future__ import annotations

import numpy as np

from sim import rules
from sim.population import Population, Samples
from sim.results import RunResult, finish_columns
from sim.rules import FastPathThrottle
from sim.settings import (
    APPROVAL_TIMEOUT,
    ENTITLEMENT_CACHE,
    MIN_ACTIVE_BEFORE_DEACTIVATE,
    EntitlementMode,
    Settings,
    WindowMode,
)

__all__ = [
    "fast_path_admissions",
    "next_cycle_after_v",
    "simulate_vector",
    "vector_columns",
    "worst_case_columns",
]

NAN = np.nan
INF = np.inf
F64 = np.float64


def _cycle_offset_v(k: np.ndarray, jitter: float) -> np.ndarray:
    """Array form of :func:`sim.rules.cycle_offset`."""
    out: np.ndarray = jitter * np.mod((k + 1.0) * rules.PHI, 1.0)
    return out


def next_cycle_after_v(t: np.ndarray, interval: float, phase: float, jitter: float = 0.0) -> np.ndarray:
    """Array form of :func:`sim.rules.next_cycle_after`: the first regular cycle strictly after each ``t`` [E-AWS]."""
    k = np.floor((t - phase) / interval)
    with np.errstate(invalid="ignore"):  # one step where the rounded quotient is off (as in next_cycle_after)
        k = np.where(phase + k * interval > t, k - 1.0, k)
        k = np.where(phase + (k + 1.0) * interval <= t, k + 1.0, k)
    if jitter <= 0:
        out: np.ndarray = phase + (k + 1.0) * interval
        return out
    with np.errstate(invalid="ignore"):
        late = phase + k * interval + _cycle_offset_v(k, jitter)
        k1 = k + 1.0
        nxt = phase + k1 * interval + _cycle_offset_v(k1, jitter)
        out = np.where(late > t, late, nxt)
    return out


def fast_path_admissions(start: np.ndarray, app: np.ndarray, s: Settings) -> np.ndarray:
    """Array form of :class:`sim.rules.FastPathThrottle`: True where the activation takes the fast path.

    The throttle counts activations at their start (:func:`sim.rules.fast_path_admission_time`) [E-AWS][E-PIMG],
    per app in the engine's event order — by activation start, then index. ``fixed`` windows are counted exactly;
    ``sliding`` windows admit everyone unless some ``fast_path_limit + 1`` consecutive activations of one app fall
    within ``fast_path_window``, and then run the throttle's linear pass (:func:`_sliding_pass`).
    """
    n = len(start)
    admitted = np.zeros(n, dtype=bool)
    live = np.flatnonzero(~np.isnan(start))
    if len(live) == 0:
        return admitted
    limit = s.fast_path_limit
    if limit == 0:
        return admitted
    if s.fast_path_window_mode is WindowMode.FIXED:
        order = _engine_order(live, start, app)
        t = start[order]
        a = app[order]
        bucket = np.floor(t / s.fast_path_window)
        new_group = np.ones(len(order), dtype=bool)
        new_group[1:] = (a[1:] != a[:-1]) | (bucket[1:] != bucket[:-1])
        group_start = np.flatnonzero(new_group)
        sizes = np.diff(np.append(group_start, len(order)))
        rank = np.arange(len(order)) - np.repeat(group_start, sizes)
        admitted[order] = rank < limit
        return admitted
    order = _engine_order(live, start, app)
    t, a = start[order], app[order]
    if len(order) <= limit:
        admitted[order] = True
        return admitted
    # the throttle pops an admission when ``admitted <= t - window`` (sim.rules.FastPathThrottle.admit): where no
    # ``limit + 1`` consecutive adds of one app are that close, everyone is admitted
    crowded = (a[limit:] == a[:-limit]) & ~(t[:-limit] <= t[limit:] - s.fast_path_window)
    if not np.any(crowded):
        admitted[order] = True
        return admitted
    admitted[order] = _sliding_pass(t, a, s)
    return admitted


def _engine_order(live: np.ndarray, start: np.ndarray, app: np.ndarray) -> np.ndarray:
    """Return the activations ``live`` sorted by app, then start, then index (the engine's event order per app);
    without sorting when there is one app and the starts already rise (no approval: starts are the sorted
    requests)."""
    t = start[live]
    a = app[live]
    if not np.any(a[1:] != a[:-1]) and not np.any(t[1:] < t[:-1]):
        return live
    order: np.ndarray = live[np.lexsort((live, t, a))]
    return order


def _sliding_pass(t: np.ndarray, a: np.ndarray, s: Settings) -> np.ndarray:
    """Return the sliding-window admissions of adds sorted by app then engine order: one linear pass.

    A gap of at least ``fast_path_window`` since an app's previous add empties that app's window, so the adds split
    into independent runs; runs of at most ``fast_path_limit`` adds are all admitted, and only the longer (throttled)
    runs go through :meth:`sim.rules.FastPathThrottle.admit_many` — the rule is not restated here.
    """
    n = len(t)
    fresh = np.ones(n, dtype=bool)
    fresh[1:] = (a[1:] != a[:-1]) | (t[:-1] <= t[1:] - s.fast_path_window)
    run_start = np.flatnonzero(fresh)
    run_end = np.append(run_start[1:], n)
    out = np.ones(n, dtype=bool)
    long_runs = run_end - run_start > s.fast_path_limit
    for lo, hi in zip(run_start[long_runs].tolist(), run_end[long_runs].tolist(), strict=True):
        out[lo:hi] = FastPathThrottle.from_settings(s).admit_many(t[lo:hi].tolist())
    return out


def vector_columns(s: Settings, population: Population, smp: Samples) -> dict[str, np.ndarray]:
    """Return the per-activation columns of :data:`sim.results.COLUMNS` computed from ``smp`` with array rules."""
    c = _timeline(s, smp)
    member, idc_start, idc_end = c.pop("member"), c["idc_start"], c["idc_end"]
    intended_end, latest, worst_end = c["intended_end"], c["latest_launch"], c["worst_effective_end"]
    if population.behaviour != "worst_case":
        signin, first_launch, launches, effective_end = _modelled_user(
            s, population, smp, member, idc_start, idc_end, intended_end
        )
    else:  # the worst-case user signs in at removal and launches at the latest instant (sim.rules.latest_launch)
        signin = np.where(member, idc_end, NAN)
        first_launch = np.where(member, latest, NAN)
        launches = member.astype(np.int64)
        effective_end = np.where(member, worst_end, NAN)
    c.update(
        {
            "id": np.arange(smp.n, dtype=np.int64),
            "app": np.asarray(smp.app, dtype=np.int64),
            "fast_latency": smp.fast_latency.astype(F64),
            "signin": signin,
            "first_launch": first_launch,
            "launches": launches,
            "effective_end": effective_end,
            "removal_failures": np.asarray(smp.removal_failures, dtype=np.int64),
            "removal_quarantined": np.asarray(smp.removal_quarantined, dtype=bool),
            "removal_initial_delay": np.asarray(smp.removal_initial_delay, dtype=F64),
        }
    )
    return finish_columns(c)


def worst_case_columns(s: Settings, smp: Samples) -> dict[str, np.ndarray]:
    """Return what a sweep cell reads, computed like :func:`vector_columns` but without the modelled user's sign-in
    and launches: ``path``, ``time_to_access`` (``idc_start - request``), ``overhang`` (``worst_effective_end -
    intended_end``) and ``window`` (``worst_effective_end - start``, :meth:`sim.results.RunResult.effective_window`).
    """
    c = _timeline(s, smp)
    worst_end = c["worst_effective_end"]
    return {
        "path": c["path"],
        "time_to_access": c["idc_start"] - c["request"],
        "overhang": worst_end - c["intended_end"],
        "window": worst_end - c["start"],
    }


def _timeline(s: Settings, smp: Samples) -> dict[str, np.ndarray]:
    """Return every column up to the worst-case user (request, approval, intended end, Entra, the fast path,
    Identity Center membership, latest launch and worst effective end) and ``member`` (reached Identity Center)."""
    request = smp.request.astype(F64)
    requested = smp.requested.astype(F64)
    decision, outcome, start = _approval(s, smp, request)
    active = ~np.isnan(start)

    # intended end and self-deactivation (5-min floor [E-ASSIGN]; switch enforce_min_active)
    after = smp.deactivate_after
    wants = active & (after < requested)
    refused = wants & (after < MIN_ACTIVE_BEFORE_DEACTIVATE) if s.enforce_min_active else np.zeros(smp.n, dtype=bool)
    self_deactivated = wants & ~refused
    intended_end = np.where(self_deactivated, start + after, start + requested)
    entra_remove = intended_end + smp.remove_latency  # Entra removal within seconds [E-ACT]
    entra_add = start + smp.add_latency  # Entra add within seconds [E-ACT]

    fast = fast_path_admissions(start, smp.app, s)
    member, idc_start, idc_end = _membership(s, smp, active, fast, entra_add, entra_remove, intended_end)
    path = np.where(~active, 0, np.where(~member, 3, np.where(fast, 1, 2))).astype(np.int8)
    latest, worst_end = _worst_case_user(s, idc_end, intended_end)
    return {
        "request": request,
        "outcome": outcome,
        "decision": decision,
        "start": start,
        "requested": requested,
        "intended_end": intended_end,
        "self_deactivated": self_deactivated,
        "deactivation_refused": refused,
        "entra_add": entra_add,
        "entra_remove": entra_remove,
        "path": path,
        "idc_start": idc_start,
        "idc_end": idc_end,
        "latest_launch": latest,
        "worst_effective_end": worst_end,
        "member": member,
    }


def _approval(s: Settings, smp: Samples, request: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return decision time, outcome code and activation start: mirrors the engine's request and decision events
    and :func:`sim.rules.approval_expired` [E-APPRV]."""
    if s.approval_required:
        decision = request + np.minimum(smp.approver_delay, APPROVAL_TIMEOUT)
        expired = smp.approver_delay >= APPROVAL_TIMEOUT
        denied = ~expired & smp.denied
        outcome = np.where(expired, 3, np.where(denied, 2, 1)).astype(np.int8)
        start = np.where(outcome == 1, decision, NAN)
    else:
        decision = np.full(smp.n, NAN)
        outcome = np.zeros(smp.n, dtype=np.int8)
        start = request.copy()
    return decision, outcome, start


def _membership(
    s: Settings,
    smp: Samples,
    active: np.ndarray,
    fast: np.ndarray,
    entra_add: np.ndarray,
    entra_remove: np.ndarray,
    intended_end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return where a membership reached Identity Center, and its start and end (NaN elsewhere): array form of
    :func:`sim.rules.idc_add_time` / :func:`sim.rules.idc_remove_time` / :func:`sim.rules.idc_membership`
    [E-AWS][UG-revoke]."""
    with np.errstate(invalid="ignore"):
        cycle = next_cycle_after_v(entra_add, s.cycle_interval, s.cycle_phase, s.cycle_jitter)
        by_cycle = np.where(cycle < entra_remove, cycle + s.cycle_processing, INF)
        arrive = entra_add + smp.fast_latency
        by_fast = np.where(fast & (arrive < entra_remove), arrive, INF)
        add = np.minimum(by_cycle, by_fast)
        remove = next_cycle_after_v(entra_remove, s.cycle_interval, s.cycle_phase, s.cycle_jitter) + s.cycle_processing
        degraded = (smp.removal_failures > 0) | smp.removal_quarantined | (smp.removal_initial_delay > 0)
        failing = active & (degraded | (s.failed_removals > 0))
        if failing.any():
            plain = s.replace(remove_idc_membership=False)
            for i in np.flatnonzero(failing):
                # failed removal attempts (assumed or drawn), a quarantined job, an initial cycle: the scalar rule,
                # row by row [E-PLOGS][E-QUAR][E-WHEN]
                failed = smp.failures(int(i), s.failed_removals)
                remove[i] = rules.idc_remove_time(
                    float(entra_remove[i]),
                    INF,
                    plain,
                    failed,
                    quarantined=bool(smp.removal_quarantined[i]),
                    initial_delay=float(smp.removal_initial_delay[i]),
                )
        if s.remove_idc_membership:
            remove = np.minimum(remove, intended_end)
        member = active & ~np.isinf(add) & (remove > add)
    return member, np.where(member, add, NAN), np.where(member, remove, NAN)


def _worst_case_user(s: Settings, r: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the latest launch and the worst-case effective end for removal ``r`` and intended end ``e``: array
    form of :func:`sim.rules.latest_launch` [AWS-BLOG][UG-revoke][UG23-auth] and
    :func:`sim.rules.worst_effective_end` [UG23-howto][IAM-revoke]."""
    mode = s.entitlement_mode
    with np.errstate(invalid="ignore"):
        if mode is EntitlementMode.LAUNCH_CHECK:
            latest = r.copy()
        else:
            portal = rules.portal_session_length(s)
            tail = portal if mode is EntitlementMode.SIGNIN_SNAPSHOT else min(ENTITLEMENT_CACHE, portal)
            latest = r + tail
            if s.end_portal_sessions and not s.legacy_cli:
                latest = np.where(r <= e, np.minimum(latest, e), latest)
        worst_end = latest + s.permission_set_session
        if s.deny_tokens_before_expiry:
            worst_end = np.where(latest <= e, np.minimum(worst_end, e), worst_end)
    return latest, worst_end


def _modelled_user(
    s: Settings,
    population: Population,
    smp: Samples,
    member: np.ndarray,
    idc_start: np.ndarray,
    idc_end: np.ndarray,
    e: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return sign-in, first launch, launch count and effective end of the typical user (the engine's loop).

    Launch ``k`` is allowed by :func:`sim.rules.launch_allowed` (inside :func:`sim.rules.portal_session_end`, and
    member at sign-in / launch / last hourly refresh by mode); each role session ends per
    :func:`sim.rules.role_session_end`; the user relaunches at the end while the intended window lasts. The loop runs
    over launch rounds, each round vectorised over every activation.
    """
    n = smp.n
    si = np.where(member, idc_start + smp.signin_delay, NAN)
    with np.errstate(invalid="ignore"):
        portal_end = si + rules.portal_session_length(s)
        if s.end_portal_sessions and not s.legacy_cli:
            portal_end = np.where(si < e, np.minimum(portal_end, e), portal_end)
        member_at_signin = (idc_start <= si) & (si < idc_end)
    launch = si + smp.launch_delay
    first_launch = np.full(n, NAN)
    effective_end = np.full(n, NAN)
    launches = np.zeros(n, dtype=np.int64)
    going = member.copy()
    mode = s.entitlement_mode
    for count in range(population.max_launches):
        if not going.any():
            break
        with np.errstate(invalid="ignore"):
            allowed = going & (si <= launch) & (launch < portal_end)
            if mode is EntitlementMode.SIGNIN_SNAPSHOT:
                allowed &= member_at_signin
            else:
                at = (
                    launch
                    if mode is EntitlementMode.LAUNCH_CHECK
                    else si + np.floor((launch - si) / ENTITLEMENT_CACHE) * ENTITLEMENT_CACHE
                )
                allowed &= (idc_start <= at) & (at < idc_end)
            if count == 0:
                first_launch = np.where(allowed, launch, NAN)
            launches += allowed
            role_end = launch + s.permission_set_session
            if s.deny_tokens_before_expiry:
                role_end = np.where(launch < e, np.minimum(role_end, e), role_end)
            effective_end = np.where(allowed, role_end, effective_end)
            going = allowed & (role_end < e) if population.relaunch else np.zeros(n, dtype=bool)
        launch = np.where(going, role_end, launch)
    return si, first_launch, launches, effective_end


def simulate_vector(settings: Settings, population: Population, seed: int = 0, name: str = "") -> RunResult:
    """Return the :class:`sim.results.RunResult` of :func:`sim.engine.simulate_events`, computed with array rules.

    Same draws, same columns, ``events = 0``, ``engine = "vector"``. :func:`sim.run.simulate` runs it by default.
    """
    cols = vector_columns(settings, population, population.draw(settings, seed))
    return RunResult(
        settings=settings, population=population, seed=seed, columns=cols, events=0, name=name, engine="vector"
    )
