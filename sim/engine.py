"""The event engine: the population simulator, run on the event kernel (:class:`sim.kernel.Kernel`).

The readable reference and the oracle of the numpy path (:mod:`sim.vector`, held equal column for column by
``tests/test_vector.py``). Users call :func:`sim.run.simulate`, which runs the numpy path unless told
``engine="engine"``.

- :func:`simulate_events` ``(settings, population, seed) -> RunResult`` — run one population under one settings
  combination on the event engine.
- :class:`sim.results.RunResult` — per-activation columns (numpy arrays, one entry per activation request, see
  :data:`sim.results.COLUMNS`), :meth:`~sim.results.RunResult.records`, :meth:`~sim.results.RunResult.aggregates`,
  :meth:`~sim.results.RunResult.to_json`.

What the engine runs as events: the request of each activation (a pre-sorted :meth:`sim.kernel.Kernel.source`, so the heap
stays small), the approver's decision or the 24 h approval expiry [E-APPRV] (the activation, where the per-enterprise-app fast-path throttle counts it
[E-AWS][E-PIMG]), and the Entra membership add. Everything after the
admission follows in closed form from :mod:`sim.rules` (one implementation of each timing rule), so an activation
costs three events at most.

Per activation (all times in seconds from t = 0; ``NaN`` where a step never happens):

- ``intended_end`` = start + requested duration (≤ ``activation_max`` [AWS-BLOG]), earlier when the user
  self-deactivates (refused within 5 min when ``enforce_min_active`` [E-ASSIGN]);
- Entra add/remove "within seconds" [E-ACT] (uniform in ``[0, membership_latency_max]``);
- ``fast_path`` from :class:`sim.rules.FastPathThrottle`, counted at activation, fast latency uniform 2–10 min
  [E-AWS];
- Identity Center membership from :func:`sim.rules.idc_membership` (removal only on the regular cycle [E-AWS],
  pushed on by drawn failed attempts: next cycle [E-PLOGS] or escrow [E-QUAR]; by a drawn quarantine, one cycle a
  day [E-QUAR]; by a drawn initial cycle, 0.01 – 0.08 min per object [E-WHEN]);
- ``time_to_access`` = Identity Center add − request;
- the modelled user's sign-in and launches (:func:`sim.rules.launch_allowed`) and ``effective_end``;
- ``latest_launch`` (:func:`sim.rules.latest_launch`) and ``worst_effective_end``
  (:func:`sim.rules.worst_effective_end`) of the worst-case user who signs in and launches at the last permitted
  instant;
- ``overhang`` = ``worst_effective_end`` − ``intended_end`` (the headline figure, comparable with
  :func:`sim.bounds.worst_case`) and ``overhang_modelled`` = ``effective_end`` − ``intended_end`` for the modelled
  user.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections.abc import Callable
from typing import Any

import numpy as np

from sim import rules
from sim.kernel import Kernel
from sim.population import Population, Samples
from sim.results import RunResult, finish_columns
from sim.settings import APPROVAL_TIMEOUT, MIN_ACTIVE_BEFORE_DEACTIVATE, Settings

__all__ = ["simulate_events"]

NAN = math.nan

Handler = Callable[[int], None]


class _Outputs:
    """The per-activation columns the events fill in, as typed arrays: item writes are as cheap as a list's, and
    numpy views them without a copy at the end (:meth:`columns`)."""

    __slots__ = (
        "decision",
        "effective_end",
        "entra_add",
        "entra_remove",
        "fast",
        "first_launch",
        "idc_end",
        "idc_start",
        "intended_end",
        "latest",
        "launches",
        "n",
        "outcome",
        "path",
        "refused",
        "self_deactivated",
        "signin",
        "start",
        "worst_end",
    )

    def __init__(self, n: int) -> None:
        self.n = n
        self.outcome, self.self_deactivated, self.refused, self.path, self.fast = (
            array("b", [0]) * n for _ in range(5)
        )
        self.launches = array("q", [0]) * n
        (
            self.decision,
            self.start,
            self.intended_end,
            self.entra_add,
            self.entra_remove,
            self.idc_start,
            self.idc_end,
            self.signin,
            self.first_launch,
            self.effective_end,
            self.latest,
            self.worst_end,
        ) = (array("d", [NAN]) * n for _ in range(12))

    def _view(self, a: array[Any], dtype: type[np.generic]) -> np.ndarray:
        return np.frombuffer(a, dtype=dtype) if self.n else np.empty(0, dtype=dtype)

    def columns(self, smp: Samples) -> dict[str, np.ndarray]:
        """Return every column of :data:`sim.results.COLUMNS`: the filled arrays, the draws they came from and the
        derived columns (:func:`sim.results.finish_columns`)."""
        f64, view = np.float64, self._view
        cols: dict[str, np.ndarray] = {
            "id": np.arange(self.n, dtype=np.int64),
            "app": np.asarray(smp.app, dtype=np.int64),
            "request": smp.request.astype(f64),
            "outcome": view(self.outcome, np.int8),
            "decision": view(self.decision, f64),
            "start": view(self.start, f64),
            "requested": smp.requested.astype(f64),
            "intended_end": view(self.intended_end, f64),
            "self_deactivated": view(self.self_deactivated, np.int8).astype(bool),
            "deactivation_refused": view(self.refused, np.int8).astype(bool),
            "entra_add": view(self.entra_add, f64),
            "entra_remove": view(self.entra_remove, f64),
            "path": view(self.path, np.int8),
            "fast_latency": smp.fast_latency.astype(f64),
            "idc_start": view(self.idc_start, f64),
            "idc_end": view(self.idc_end, f64),
            "signin": view(self.signin, f64),
            "first_launch": view(self.first_launch, f64),
            "launches": view(self.launches, np.int64),
            "effective_end": view(self.effective_end, f64),
            "latest_launch": view(self.latest, f64),
            "worst_effective_end": view(self.worst_end, f64),
            "removal_failures": np.asarray(smp.removal_failures, dtype=np.int64),
            "removal_quarantined": np.asarray(smp.removal_quarantined, dtype=bool),
            "removal_initial_delay": np.asarray(smp.removal_initial_delay, dtype=f64),
        }
        return finish_columns(cols)


def simulate_events(settings: Settings, population: Population, seed: int = 0, name: str = "") -> RunResult:
    """Run ``population`` under ``settings`` on the event engine with random draws from ``numpy.random.default_rng(seed)``.

    Returns a :class:`sim.results.RunResult` whose columns follow :data:`sim.results.COLUMNS`. Deterministic: the
    same inputs give identical columns and identical :meth:`~sim.results.RunResult.to_json` bytes.
    """
    smp = population.draw(settings, seed)
    out = _Outputs(smp.n)
    kernel = Kernel()
    on_entra_add = _entra_add_handler(kernel, settings, population, smp, out)
    on_request = _request_handler(kernel, settings, population, smp, out, on_entra_add)
    kernel.source(smp.request.tolist(), on_request)
    kernel.run()
    cols = out.columns(smp)
    return RunResult(
        settings=settings,
        population=population,
        seed=seed,
        columns=cols,
        events=kernel.processed,
        name=name,
        engine="engine",
    )


def _request_handler(
    kernel: Kernel, s: Settings, population: Population, smp: Samples, out: _Outputs, on_entra_add: Handler
) -> Handler:
    """Return the handler of a request event: the approver's decision or the 24 h expiry [E-APPRV], then the
    activation (intended end, self-deactivation, Entra removal time [E-ACT], the fast-path admission counted at
    activation [E-AWS][E-PIMG]) and its Entra add event."""
    approval = s.approval_required
    unused: list[Any] = []
    requested = smp.requested.tolist()
    approver_delay = smp.approver_delay.tolist() if approval else unused
    denied = smp.denied.tolist() if approval else unused
    add_latency = smp.add_latency.tolist()
    remove_latency = smp.remove_latency.tolist()
    deactivate_after = smp.deactivate_after.tolist()
    outcome, decision, start = out.outcome, out.decision, out.start
    intended_end, entra_remove = out.intended_end, out.entra_remove
    self_deactivated, refused = out.self_deactivated, out.refused
    schedule = kernel.schedule
    # activations go straight onto the kernel's heap: their times are never in the past
    queue = kernel._queue
    push = heapq.heappush
    next_seq = kernel._seq.__next__
    enforce_min = s.enforce_min_active
    fast = out.fast
    throttles = [rules.FastPathThrottle.from_settings(s) for _ in range(population.apps)]
    app = smp.app.tolist()

    def activate(i: int, t: float) -> None:
        start[i] = t
        fast[i] = throttles[app[i]].admit(rules.fast_path_admission_time(t))
        end = t + requested[i]
        after = deactivate_after[i]
        if after < requested[i]:
            if enforce_min and after < MIN_ACTIVE_BEFORE_DEACTIVATE:
                refused[i] = 1
            else:
                end = t + after
                self_deactivated[i] = 1
        intended_end[i] = end
        entra_remove[i] = end + remove_latency[i]
        push(queue, (t + add_latency[i], next_seq(), on_entra_add, i))

    def on_request(i: int) -> None:
        if not approval:
            activate(i, kernel.now)
            return
        schedule(kernel.now + min(approver_delay[i], APPROVAL_TIMEOUT), on_decision, i)

    def on_decision(i: int) -> None:
        decision[i] = kernel.now
        if rules.approval_expired(approver_delay[i]):
            outcome[i] = 3
        elif denied[i]:
            outcome[i] = 2
        else:
            outcome[i] = 1
            activate(i, kernel.now)

    return on_request


def _entra_add_handler(kernel: Kernel, s: Settings, population: Population, smp: Samples, out: _Outputs) -> Handler:
    """Return the handler of an Entra add event: the fast path (admitted at activation [E-AWS][E-PIMG]), the Identity
    Center membership (:func:`sim.rules.idc_membership`), the worst-case user and the modelled user's launches."""
    worst_case_user = population.behaviour == "worst_case"
    unused: list[Any] = []
    fast_latency = smp.fast_latency.tolist()
    signin_delay = unused if worst_case_user else smp.signin_delay.tolist()
    launch_delay = unused if worst_case_user else smp.launch_delay.tolist()
    intended_end, entra_add, entra_remove, path = out.intended_end, out.entra_add, out.entra_remove, out.path
    idc_start, idc_end, latest, worst_end = out.idc_start, out.idc_end, out.latest, out.worst_end
    signin, first_launch, launches, effective_end = out.signin, out.first_launch, out.launches, out.effective_end
    admitted = out.fast
    failures = smp.failures
    assumed = s.failed_removals
    any_failures = assumed > 0 or bool(np.any(smp.removal_failures))
    quarantined = smp.removal_quarantined.tolist()
    initial_delay = smp.removal_initial_delay.tolist()
    relaunch, max_launches = population.relaunch, population.max_launches
    idc_membership, launch_allowed, role_session_end = (
        rules.idc_membership,
        rules.launch_allowed,
        rules.role_session_end,
    )
    latest_launch, worst_end_after = rules.latest_launch, rules.worst_end_after

    def on_entra_add(i: int) -> None:
        t = kernel.now
        entra_add[i] = t
        fast = bool(admitted[i])
        end = intended_end[i]
        failed = failures(i, assumed) if any_failures else ()
        m = idc_membership(
            t, entra_remove[i], end, fast, fast_latency[i], s, failed,
            quarantined=quarantined[i], initial_delay=initial_delay[i],
        )  # fmt: skip
        if m is None:
            path[i] = 3
            return
        path[i] = 1 if fast else 2
        idc_start[i] = m.start
        idc_end[i] = m.end
        last: float = latest_launch(m, end, s)  # type: ignore[assignment]  # not None: m is not None
        latest[i] = last
        worst = worst_end_after(last, end, s)  # = rules.worst_effective_end(m, end, s)
        worst_end[i] = worst
        if worst_case_user:
            signin[i] = m.end
            first_launch[i] = last
            launches[i] = 1
            effective_end[i] = worst
            return
        si = m.start + signin_delay[i]
        signin[i] = si
        launch = si + launch_delay[i]
        count = 0
        while count < max_launches and launch_allowed(m, si, launch, end, s):
            if count == 0:
                first_launch[i] = launch
            count += 1
            role_end = role_session_end(launch, end, s)
            effective_end[i] = role_end
            if not relaunch or role_end >= end:
                break
            launch = role_end
        launches[i] = count

    return on_entra_add
