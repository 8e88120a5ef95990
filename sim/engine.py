"""The event engine: a tiny heapq kernel and the population simulator built on it.

Public API (stable; ``sim.vector``, sweeps, reports and the CLI build on it):

- :class:`Kernel` — a SimPy-core-like discrete-event kernel: events are ``(time, seq, callback, arg)`` tuples in a
  heap; ``seq`` breaks ties so events at the same instant run in the order they were scheduled (deterministic).
- :func:`simulate` ``(settings, population, seed) -> RunResult`` — run one population under one settings
  combination.
- :class:`RunResult` — per-activation columns (numpy arrays, one entry per activation request, see
  :data:`COLUMNS`), :meth:`RunResult.records`, :meth:`RunResult.aggregates`, :meth:`RunResult.to_json`.

What the engine runs as events: the request of each activation (a pre-sorted :meth:`Kernel.source`, so the heap
stays small), the approver's decision or the 24 h approval expiry [E-APPRV], and the Entra membership add, where
the per-enterprise-app fast-path throttle admits activations in time order [E-AWS][E-PIMG]. Everything after the
admission follows in closed form from :mod:`sim.rules` (one implementation of each timing rule), so an activation
costs three events at most.

Per activation (all times in seconds from t = 0; ``NaN`` where a step never happens):

- ``intended_end`` = start + requested duration (≤ ``activation_max`` [AWS-BLOG]), earlier when the user
  self-deactivates (refused within 5 min when ``enforce_min_active``, UNCONFIRMED third-party rule);
- Entra add/remove "within seconds" [E-ACT] (uniform in ``[0, membership_latency_max]``);
- ``fast_path`` from :class:`sim.rules.FastPathThrottle`, fast latency uniform 2–10 min [E-AWS];
- Identity Center membership from :func:`sim.rules.idc_membership` (removal only on the regular cycle [E-AWS]);
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
import itertools
import json
import math
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim import rules
from sim.bounds import Bound, worst_case
from sim.population import Population
from sim.settings import APPROVAL_TIMEOUT, MIN_ACTIVE_BEFORE_DEACTIVATE, Settings

__all__ = [
    "COLUMNS",
    "OUTCOMES",
    "PATHS",
    "ActivationRecord",
    "Kernel",
    "RunResult",
    "simulate",
]

NAN = math.nan
INF = math.inf

OUTCOMES = ("not_required", "approved", "denied", "expired")
"""Approval outcome codes (column ``outcome`` holds the index): no approval needed, approved in time, denied by
the approver, expired after 24 h without an answer [E-APPRV]."""

PATHS = ("none", "fast", "throttled", "never")
"""Provisioning path codes (column ``path``): not activated, fast path, throttled to the next cycle, activated but
never reached Identity Center (ended before any cycle or fast path carried it)."""

COLUMNS: dict[str, str] = {
    "id": "activation index, in request order",
    "app": "enterprise app (fast-path throttle) index",
    "request": "request time",
    "outcome": "approval outcome, index into OUTCOMES",
    "decision": "approver decision or expiry time (NaN without approval)",
    "start": "activation start (NaN when denied or expired)",
    "requested": "requested duration (capped at activation_max)",
    "intended_end": "end of the intended window (expiry or self-deactivation)",
    "self_deactivated": "user ended the activation early",
    "deactivation_refused": "self-deactivation refused (within 5 min, enforce_min_active)",
    "entra_add": "Entra group membership added",
    "entra_remove": "Entra group membership removed",
    "path": "provisioning path, index into PATHS",
    "fast_latency": "sampled fast-path latency (used only on the fast path)",
    "idc_start": "Identity Center membership start",
    "idc_end": "Identity Center membership end",
    "time_to_access": "idc_start - request",
    "signin": "modelled user's portal sign-in",
    "first_launch": "modelled user's first permission-set launch",
    "launches": "modelled user's number of allowed launches",
    "effective_end": "modelled user's last instant of AWS access",
    "latest_launch": "latest launch any user could achieve (supremum)",
    "worst_effective_end": "worst-case user's last instant of AWS access",
    "overhang": "worst_effective_end - intended_end (headline)",
    "overhang_modelled": "effective_end - intended_end (modelled user)",
}
"""Every per-activation column of :class:`RunResult`, with its meaning."""

_INT_COLUMNS = ("id", "app", "outcome", "path", "launches")
_BOOL_COLUMNS = ("self_deactivated", "deactivation_refused")


class Kernel:
    """A minimal deterministic discrete-event kernel (after SimPy's ``core.py``).

    ``schedule(time, callback, arg)`` queues ``callback(arg)`` at ``time``; :meth:`run` pops events in
    ``(time, seq)`` order, sets :attr:`now` to each event's time and calls it. Callbacks may schedule more events,
    but never in the past. :attr:`processed` counts the events run.

    :meth:`source` adds one pre-sorted stream of events (e.g. activation requests) that is merged with the heap
    instead of being pushed onto it; at equal times a source event runs before heap events.
    """

    __slots__ = ("_queue", "_seq", "_src_cb", "_src_i", "_src_times", "now", "processed")

    def __init__(self, start: float = 0.0) -> None:
        self._queue: list[tuple[float, int, Callable[[int], None], int]] = []
        self._seq = itertools.count()
        self._src_times: list[float] = []
        self._src_cb: Callable[[int], None] = _no_source
        self._src_i = 0
        self.now = start
        self.processed = 0

    def schedule(self, time: float, callback: Callable[[int], None], arg: int = 0) -> None:
        """Queue ``callback(arg)`` at ``time`` (must not be before :attr:`now`)."""
        if time < self.now:
            raise ValueError(f"cannot schedule an event at {time} before now ({self.now})")
        heapq.heappush(self._queue, (time, next(self._seq), callback, arg))

    def source(self, times: list[float], callback: Callable[[int], None]) -> None:
        """Feed ``callback(i)`` at ``times[i]`` for every ``i``; ``times`` must be sorted and not before now.

        Only one source may be pending at a time.
        """
        if self._src_i < len(self._src_times):
            raise ValueError("a source is already pending; run it first")
        if times and (times[0] < self.now or bool(np.any(np.diff(np.asarray(times)) < 0))):
            raise ValueError("source times must be sorted and not before now")
        self._src_times, self._src_cb, self._src_i = times, callback, 0

    def __len__(self) -> int:
        return len(self._queue) + len(self._src_times) - self._src_i

    def peek(self) -> float:
        """Return the time of the next event, or ``inf`` when there is none."""
        top = self._queue[0][0] if self._queue else INF
        return min(top, self._src_times[self._src_i]) if self._src_i < len(self._src_times) else top

    def step(self) -> None:
        """Run the next event; raise ``IndexError`` when there is none."""
        if not self.run(self.peek(), limit=1):
            raise IndexError("no events left")

    def run(self, until: float = INF, limit: int = -1) -> int:
        """Run events with time ``<= until`` in order (at most ``limit`` when >= 0); return how many ran."""
        queue = self._queue
        pop = heapq.heappop
        times = self._src_times
        feed = self._src_cb
        i = self._src_i
        m = len(times)
        nxt = times[i] if i < m else INF
        ran = 0
        while ran != limit:
            top = queue[0][0] if queue else INF
            if nxt <= top:
                if nxt == INF or nxt > until:
                    break
                self.now = nxt
                i += 1
                self._src_i = i
                feed(i - 1)
                nxt = times[i] if i < m else INF
            else:
                if top > until:
                    break
                time, _, callback, arg = pop(queue)
                self.now = time
                callback(arg)
            ran += 1
        self.processed += ran
        if until != INF and until > self.now and limit < 0:
            self.now = until
        return ran


def _no_source(i: int) -> None:
    raise IndexError(f"no source event {i}")


@dataclass(frozen=True)
class ActivationRecord:
    """One activation request and everything that followed it (see :data:`COLUMNS`; ``None`` = never happened)."""

    id: int
    app: int
    request: float
    outcome: str
    decision: float | None
    start: float | None
    requested: float
    intended_end: float | None
    self_deactivated: bool
    deactivation_refused: bool
    entra_add: float | None
    entra_remove: float | None
    path: str
    fast_latency: float
    idc_start: float | None
    idc_end: float | None
    time_to_access: float | None
    signin: float | None
    first_launch: float | None
    launches: int
    effective_end: float | None
    latest_launch: float | None
    worst_effective_end: float | None
    overhang: float | None
    overhang_modelled: float | None


def _json_float(x: float) -> float | None:
    return round(x, 3) if math.isfinite(x) else None


def _percentiles(values: np.ndarray) -> dict[str, float | int | None]:
    v = values[~np.isnan(values)]
    if len(v) == 0:
        return {"n": 0, "p50": None, "p90": None, "p99": None, "max": None}
    p50, p90, p99 = np.percentile(v, [50, 90, 99])
    return {
        "n": len(v),
        "p50": round(float(p50), 3),
        "p90": round(float(p90), 3),
        "p99": round(float(p99), 3),
        "max": round(float(v.max()), 3),
    }


@dataclass
class RunResult:
    """The outcome of one run: per-activation ``columns`` (numpy arrays keyed as in :data:`COLUMNS`) plus inputs.

    ``events`` is the number of kernel events processed (0 for results built by a vectorised path).
    """

    settings: Settings
    population: Population
    seed: int
    columns: dict[str, np.ndarray]
    events: int = 0
    name: str = ""

    @property
    def n(self) -> int:
        """Return the number of activation requests."""
        return len(self.columns["request"])

    def bound(self) -> Bound:
        """Return the closed-form worst case for this run's settings (:func:`sim.bounds.worst_case`)."""
        return worst_case(self.settings)

    def record(self, i: int) -> ActivationRecord:
        """Return activation ``i`` as an :class:`ActivationRecord`."""
        c = self.columns
        values: dict[str, Any] = {}
        for key in COLUMNS:
            x = c[key][i]
            if key == "outcome":
                values[key] = OUTCOMES[int(x)]
            elif key == "path":
                values[key] = PATHS[int(x)]
            elif key in _INT_COLUMNS:
                values[key] = int(x)
            elif key in _BOOL_COLUMNS:
                values[key] = bool(x)
            else:
                f = float(x)
                values[key] = None if math.isnan(f) and key not in ("requested", "fast_latency") else f
        return ActivationRecord(**values)

    def records(self) -> Iterator[ActivationRecord]:
        """Yield every activation as an :class:`ActivationRecord`, in request order."""
        for i in range(self.n):
            yield self.record(i)

    def worst_window(self) -> float:
        """Return the largest ``worst_effective_end - start`` of the run (NaN when nothing was provisioned)."""
        w = self.columns["worst_effective_end"] - self.columns["start"]
        return float(np.nanmax(w)) if np.any(~np.isnan(w)) else NAN

    def aggregates(self) -> dict[str, Any]:
        """Return counts, percentiles (p50/p90/p99/max) and the closed-form bound with the sim-vs-bound check.

        ``within_bound`` is True when no activation's effective window (worst-case user, from activation start),
        overhang or time to access exceeds :func:`sim.bounds.worst_case` — a violated bound is a model bug.
        """
        c = self.columns
        outcome = c["outcome"]
        path = c["path"]
        counts = {
            "requests": self.n,
            "approval_not_required": int(np.sum(outcome == 0)),
            "approved": int(np.sum(outcome == 1)),
            "denied": int(np.sum(outcome == 2)),
            "approval_expired": int(np.sum(outcome == 3)),
            "activated": int(np.sum(path != 0)),
            "fast_path": int(np.sum(path == 1)),
            "throttled": int(np.sum(path == 2)),
            "never_provisioned": int(np.sum(path == 3)),
            "self_deactivated": int(np.sum(c["self_deactivated"])),
            "deactivation_refused": int(np.sum(c["deactivation_refused"])),
            "launched": int(np.sum(c["launches"] > 0)),
        }
        window = c["worst_effective_end"] - c["start"]
        b = self.bound()
        tta_bound = max(b.time_to_access_fast, b.time_to_access_throttled)
        if self.settings.approval_required:
            tta_bound += APPROVAL_TIMEOUT
        eps = 1e-6
        checks = {
            "effective_window": bool(np.all(np.isnan(window) | (window <= b.effective_end + eps))),
            "overhang": bool(np.all(np.isnan(c["overhang"]) | (c["overhang"] <= b.overhang + eps))),
            "time_to_access": bool(np.all(np.isnan(c["time_to_access"]) | (c["time_to_access"] <= tta_bound + eps))),
        }
        worst = self.worst_window()
        return {
            "counts": counts,
            "time_to_access": _percentiles(c["time_to_access"]),
            "intended_window": _percentiles(c["intended_end"] - c["start"]),
            "idc_membership": _percentiles(c["idc_end"] - c["idc_start"]),
            "effective_window": _percentiles(window),
            "overhang": _percentiles(c["overhang"]),
            "overhang_modelled": _percentiles(c["overhang_modelled"]),
            "sim_worst_window": _json_float(worst),
            "bound": {k: _json_float(v) if v is not None else None for k, v in b.as_dict().items()},
            "bound_checks": checks,
            "within_bound": all(checks.values()),
        }

    def to_dict(self, records: bool = True) -> dict[str, Any]:
        """Return a JSON-ready mapping: inputs, aggregates and (by default) every per-activation record."""
        out: dict[str, Any] = {
            "name": self.name,
            "seed": self.seed,
            "settings": self.settings.model_dump(mode="json"),
            "population": self.population.model_dump(mode="json"),
            "events": self.events,
            "aggregates": self.aggregates(),
        }
        if records:
            out["records"] = self.record_dicts()
        return out

    def record_dicts(self) -> list[dict[str, Any]]:
        """Return every activation as a JSON-ready dict (column-wise conversion; floats rounded to milliseconds,
        ``None`` for steps that never happened)."""
        lists: list[list[Any]] = []
        for key in COLUMNS:
            col = self.columns[key]
            if key == "outcome":
                lists.append([OUTCOMES[x] for x in col.tolist()])
            elif key == "path":
                lists.append([PATHS[x] for x in col.tolist()])
            elif key in _INT_COLUMNS:
                lists.append(col.astype(np.int64).tolist())
            elif key in _BOOL_COLUMNS:
                lists.append(col.astype(bool).tolist())
            else:
                lists.append([_json_float(x) for x in col.tolist()])
        keys = list(COLUMNS)
        return [dict(zip(keys, row, strict=True)) for row in zip(*lists, strict=True)]

    def to_json(self, records: bool = True) -> str:
        """Return :meth:`to_dict` as JSON: sorted keys, compact separators, floats rounded to milliseconds — same seed, same bytes."""
        return json.dumps(self.to_dict(records), sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"


def simulate(settings: Settings, population: Population, seed: int = 0, name: str = "") -> RunResult:
    """Run ``population`` under ``settings`` with random draws from ``numpy.random.default_rng(seed)``.

    Returns a :class:`RunResult` whose columns follow :data:`COLUMNS`. Deterministic: the same inputs give
    identical columns and identical :meth:`RunResult.to_json` bytes.
    """
    s = settings
    rng = np.random.default_rng(seed)
    smp = population.sample(
        rng, s.activation_max, s.membership_latency_max, s.fast_path_latency_min, s.fast_path_latency_max
    )
    n = smp.n
    approval = s.approval_required
    worst_case_user = population.behaviour == "worst_case"
    single_app = population.apps == 1
    unused: list[Any] = []
    request = smp.request.tolist()
    app = unused if single_app else smp.app.tolist()
    requested = smp.requested.tolist()
    approver_delay = smp.approver_delay.tolist() if approval else unused
    denied = smp.denied.tolist() if approval else unused
    add_latency = smp.add_latency.tolist()
    remove_latency = smp.remove_latency.tolist()
    fast_latency = smp.fast_latency.tolist()
    signin_delay = unused if worst_case_user else smp.signin_delay.tolist()
    launch_delay = unused if worst_case_user else smp.launch_delay.tolist()
    deactivate_after = smp.deactivate_after.tolist()

    # typed arrays: item writes as cheap as a list's, and numpy views them without a copy at the end
    def floats() -> array[float]:
        return array("d", [NAN]) * n

    def small() -> array[int]:
        return array("b", [0]) * n

    outcome = small()
    decision = floats()
    start = floats()
    intended_end = floats()
    self_deactivated = small()
    refused = small()
    entra_add = floats()
    entra_remove = floats()
    path = small()
    idc_start = floats()
    idc_end = floats()
    signin = floats()
    first_launch = floats()
    launches = array("q", [0]) * n
    effective_end = floats()
    latest = floats()
    worst_end = floats()

    kernel = Kernel()
    schedule = kernel.schedule
    # activations are scheduled straight onto the kernel's heap: their times are never in the past
    queue = kernel._queue
    push = heapq.heappush
    next_seq = kernel._seq.__next__
    throttles = [rules.FastPathThrottle.from_settings(s) for _ in range(population.apps)]
    admit_single = throttles[0].admit
    enforce_min = s.enforce_min_active
    relaunch = population.relaunch
    max_launches = population.max_launches
    idc_membership = rules.idc_membership
    launch_allowed = rules.launch_allowed
    role_session_end = rules.role_session_end
    latest_launch = rules.latest_launch
    worst_effective_end = rules.worst_effective_end

    def activate(i: int, t: float) -> None:
        start[i] = t
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

    def on_entra_add(i: int) -> None:
        t = kernel.now
        entra_add[i] = t
        fast = admit_single(t) if single_app else throttles[app[i]].admit(t)
        end = intended_end[i]
        m = idc_membership(t, entra_remove[i], end, fast, fast_latency[i], s)
        if m is None:
            path[i] = 3
            return
        path[i] = 1 if fast else 2
        idc_start[i] = m.start
        idc_end[i] = m.end
        latest[i] = latest_launch(m, end, s)  # type: ignore[assignment]  # not None: m is not None
        worst = worst_effective_end(m, end, s)
        worst_end[i] = worst  # type: ignore[assignment]
        if worst_case_user:
            signin[i] = m.end
            first_launch[i] = latest[i]
            launches[i] = 1
            effective_end[i] = worst  # type: ignore[assignment]
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

    kernel.source(request, on_request)
    kernel.run()

    f64 = np.float64

    def view(a: array[Any], dtype: type[np.generic]) -> np.ndarray:
        return np.frombuffer(a, dtype=dtype) if n else np.empty(0, dtype=dtype)

    cols: dict[str, np.ndarray] = {
        "id": np.arange(n, dtype=np.int64),
        "app": np.asarray(smp.app, dtype=np.int64),
        "request": smp.request.astype(f64),
        "outcome": view(outcome, np.int8),
        "decision": view(decision, f64),
        "start": view(start, f64),
        "requested": smp.requested.astype(f64),
        "intended_end": view(intended_end, f64),
        "self_deactivated": view(self_deactivated, np.int8).astype(bool),
        "deactivation_refused": view(refused, np.int8).astype(bool),
        "entra_add": view(entra_add, f64),
        "entra_remove": view(entra_remove, f64),
        "path": view(path, np.int8),
        "fast_latency": smp.fast_latency.astype(f64),
        "idc_start": view(idc_start, f64),
        "idc_end": view(idc_end, f64),
        "signin": view(signin, f64),
        "first_launch": view(first_launch, f64),
        "launches": view(launches, np.int64),
        "effective_end": view(effective_end, f64),
        "latest_launch": view(latest, f64),
        "worst_effective_end": view(worst_end, f64),
    }
    cols["time_to_access"] = cols["idc_start"] - cols["request"]
    cols["overhang"] = cols["worst_effective_end"] - cols["intended_end"]
    cols["overhang_modelled"] = cols["effective_end"] - cols["intended_end"]
    cols = {k: cols[k] for k in COLUMNS}
    return RunResult(settings=s, population=population, seed=seed, columns=cols, events=kernel.processed, name=name)
