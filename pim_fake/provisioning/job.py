"""The provisioning job of one enterprise application: cycles, the PIM fast path and start/pause/restart.

Timing (sources in ``../shared/reference/entra-pim-provisioning.md``), using :mod:`sim.rules` — not re-implemented:

- initial cycle when the job starts, then regular incremental cycles at
  ``origin + sim.rules.next_cycle_after(t - origin, cycle_interval, cycle_phase, cycle_jitter)``, about every
  40 min [E-AWS][E-SCIM] (``cycle_jitter``: the same fixed pattern of late starts as the simulator); a cycle reads the directory when it starts and sends its SCIM calls ``cycle_processing``
  later (UNCONFIRMED, default 0);
- PIM fast path: an activation takes the fast path when the per-app :class:`sim.rules.FastPathThrottle` admits it,
  counted when the user activates (:func:`sim.rules.fast_path_admission_time`; first 5 per 10 s [E-AWS][E-PIMG]); it reaches the target after a latency drawn uniformly from
  ``fast_path_latency_min``–``fast_path_latency_max`` (2–10 min) with a seeded ``random.Random``; the rest wait
  for the next cycle. Removals and deactivations happen only on regular cycles [E-AWS].

The job owns its parts: the directory view (:mod:`.source`), the SCIM client (:mod:`.scim_client`), the exporter
(:mod:`.export`), the failure handler (:mod:`.escrow`), the provisioning log (:mod:`.logs`) and provision on demand
(:mod:`.on_demand`); it alone changes its status (``code`` and ``state``).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from fakekit.http_client import keepalive_client
from fakekit.ids import seeded_uuid
from pim_fake.directory import Directory, ServicePrincipal, iso
from pim_fake.provisioning.escrow import (
    CallCounts,
    EscrowEntry,
    FailureHandler,
    ObjectKey,
    ScimFailure,
    Verdict,
    internal_failure,
    iso_at,
)
from pim_fake.provisioning.export import Exporter
from pim_fake.provisioning.logs import Change, ProvisioningLog
from pim_fake.provisioning.on_demand import OnDemand, parse_subject
from pim_fake.provisioning.options import EngineOptions, ScimTarget
from pim_fake.provisioning.render import job_resource
from pim_fake.provisioning.scim_client import ScimClient, TargetGroup, TargetUser
from pim_fake.provisioning.source import DirectoryView, Snapshot
from sim.clock import Clock, Timer
from sim.rules import FastPathThrottle, fast_path_admission_time, next_cycle_after
from sim.settings import Settings

__all__ = ["FastPathRecord", "ProvisioningJob"]


@dataclass(frozen=True)
class FastPathRecord:
    """One PIM activation seen by the job: ``fast`` when the throttle admitted it, ``latency`` drawn for it."""

    user_id: str
    group_id: str
    at: float
    fast: bool
    latency: float

    def to_json(self) -> dict[str, Any]:
        """Return the record as JSON."""
        return {
            "userId": self.user_id,
            "groupId": self.group_id,
            "at": self.at,
            "fast": self.fast,
            "latency": self.latency,
        }


class ProvisioningJob:
    """The provisioning job of one enterprise application, targeting one SCIM endpoint over HTTP."""

    def __init__(
        self,
        directory: Directory,
        sp: ServicePrincipal,
        lock: threading.RLock,
        clock: Clock,
        settings: Settings,
        target: ScimTarget,
        *,
        client: httpx2.Client | None = None,
        options: EngineOptions | None = None,
        seed: int = 0,
        on_request: Callable[[str, str, float], None] | None = None,
        on_event: Callable[[str], None] | None = None,
        generation: int = 0,
    ) -> None:
        self.dir = directory
        self.sp = sp
        self.lock = lock
        self.clock = clock
        self.settings = settings
        self.options = options or EngineOptions()
        self.rng = random.Random(seed)
        # ids of a job re-created by a sandbox reset (generation > 0) never repeat an earlier job's
        self._ids = random.Random(seed + 1) if generation == 0 else random.Random(f"{seed + 1}:generation:{generation}")
        self.on_event = on_event
        self.id = f"aWSSingleSignOn.{self._new_id().replace('-', '')}.{self._new_id().replace('-', '')}"
        self.throttle = FastPathThrottle.from_settings(settings)
        self.fast_path: list[FastPathRecord] = []
        self.counts = CallCounts()
        http = client or keepalive_client(60.0)
        self.scim = ScimClient(target, http, clock, self.options, self.counts, on_request)
        self.log = ProvisioningLog(clock, sp, self.id, self._new_id)
        self.failures = FailureHandler(clock, self.options, self.id, self._retry, self.counts)
        self.exporter = Exporter(self.scim, self._succeeded, self._failed)
        self.view = DirectoryView(directory, sp, lock)
        self.on_demand = OnDemand(self.view, self.exporter, self.log, self.options, self._new_id, clock)
        self.code = "NotRun"
        self.state = "Active"
        self.origin: float | None = None
        self.cycles_run = 0
        self.next_cycle: float | None = None
        self.last_execution: dict[str, Any] | None = None
        self.last_success: dict[str, Any] | None = None
        self._cycle_timer: Timer | None = None
        self.successive_failures = 0
        """Cycles in a row that ended with a failed object (``countSuccessiveCompleteFailures``)."""
        self.internal_errors = 0
        """Exceptions of jitbox's own code the job survived (each logged; see :meth:`_survive`)."""
        self._cycle_failed: list[ScimFailure] = []
        self._last_internal = ""
        self._run = threading.RLock()
        self._fp_lock = threading.Lock()
        self._last_snap: Snapshot | None = None
        self._pending: set[ObjectKey] = set()

    def _new_id(self) -> str:
        return seeded_uuid(self._ids)

    # --- what the job holds -----------------------------------------------------------------------------
    @property
    def target(self) -> ScimTarget:
        """Return the SCIM endpoint the job provisions into."""
        return self.scim.target

    @property
    def client(self) -> httpx2.Client:
        """Return the HTTP client the SCIM requests go through."""
        return self.scim.http

    @property
    def users(self) -> dict[str, TargetUser]:
        """Return the target cache of users, by source user id."""
        return self.exporter.users

    @property
    def groups(self) -> dict[str, TargetGroup]:
        """Return the target cache of groups, by source group id."""
        return self.exporter.groups

    @property
    def escrow(self) -> dict[ObjectKey, EscrowEntry]:
        """Return the objects in escrow, by ``(kind, source id)``."""
        return self.failures.escrow

    @property
    def quarantine(self) -> dict[str, Any] | None:
        """Return the quarantine record (keys starting with ``_`` are jitbox's own), or None."""
        return self.failures.quarantine

    @property
    def logs(self) -> list[dict[str, Any]]:
        """Return the provisioning log entries (``provisioningObjectSummary`` [G-POS]), oldest first."""
        return self.log.entries

    # --- control ----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Return True when cycles run (started, not paused or disabled)."""
        return self.code in ("Active", "Quarantine") and self.state == "Active"

    def start(self, defer: bool = False) -> None:
        """Start (or resume) the job: the initial cycle runs now, then incremental cycles [E-HOW].

        With ``defer`` the initial cycle is a clock timer due now instead (``jitbox serve``: the manual clock runs
        it on the first advance, wall and scaled clocks at once).
        """
        with self._run:
            if self.state == "Disabled":
                self.state = "Active"
            if self.code in ("Active", "Quarantine"):
                return
            self.code = "Active"
            self._event("Enable/start provisioning configuration")
            if self.cycles_run == 0:
                self.origin = self.clock.time()
                if defer:
                    self.next_cycle = self.origin
                    self._cycle_timer = self.clock.call_at(
                        self.origin, lambda: self._guarded_cycle(initial=True), name=f"initial-cycle-{self.id}"
                    )
                else:
                    self._guarded_cycle(initial=True)
            else:
                self._schedule_next(self.clock.time())

    def pause(self) -> None:
        """Pause: no further cycles; a running cycle completes [E-KNOWN]."""
        with self._run:
            if self.code != "Paused":
                self._event("Disable/pause provisioning configuration")
            self.code = "Paused"
            if self._cycle_timer is not None:
                self._cycle_timer.cancel()
                self._cycle_timer = None
            self.next_cycle = None

    def restart(self) -> None:
        """Restart: clear the watermark, escrows and quarantine and run an initial cycle now [E-HOW]."""
        with self._run:
            if self._cycle_timer is not None:
                self._cycle_timer.cancel()
            self.failures.reset()
            self._forget_target()
            self.state = "Active"
            self.code = "Active"
            self._event("Enable/restart provisioning configuration")
            self.origin = self.clock.time()
            self._guarded_cycle(initial=True)

    def _forget_target(self) -> None:
        """Forget the target cache and what the last cycle read: the next cycle looks at every object again."""
        self.exporter.forget()
        self._last_snap = None
        self._pending.clear()

    def _event(self, activity: str) -> None:
        """Report a provisioning-configuration audit event (category ``ProvisioningManagement`` [E-AUDREF])."""
        if self.on_event is not None:
            self.on_event(activity)

    def retarget(self, target: ScimTarget, client: httpx2.Client | None = None) -> None:
        """Point the job at another SCIM endpoint: forget the target cache, escrows and quarantine; a running
        job runs an initial cycle against the new target at once."""
        with self._run:
            self._event("Update provisioning setting or credentials")
            self.scim.retarget(target, client or keepalive_client(60.0))
            was_running = self.code in ("Active", "Quarantine")
            self._forget_target()
            self.failures.forget()
            if was_running:
                self.code = "Paused"
                self.restart()
            elif self.code == "Quarantine":
                self.code = "Active"

    # --- PIM fast path ----------------------------------------------------------------------------------
    def on_activation(self, group_id: str, user_id: str, at: float) -> None:
        """A PIM activation added ``user_id`` to ``group_id`` at ``at``: fast path or next cycle [E-PIMG]."""
        with self._fp_lock:
            if not self.running or self.quarantine is not None:
                return
            if not self.view.assigned(group_id):
                return
            fast = self.throttle.admit(fast_path_admission_time(at))
            latency = self.rng.uniform(self.settings.fast_path_latency_min, self.settings.fast_path_latency_max)
            self.fast_path.append(FastPathRecord(user_id, group_id, at, fast, latency if fast else 0.0))
            if fast:
                self.clock.call_at(
                    at + latency,
                    lambda: self._survive("fast path", lambda: self._fast(user_id, group_id)),
                    name=f"fast-path-{self.id}-{user_id}",
                )

    def _fast(self, user_id: str, group_id: str) -> None:
        """A fast-path activation's latency is over: add that one member if it still is one."""
        with self._run:
            if not self.running:
                return
            snap = self.view.snapshot()
            if group_id not in snap.groups or user_id not in snap.groups[group_id][1]:
                return
            cycle_id = f"fastpath-{self._new_id()}"
            self.exporter.process_user(user_id, snap, cycle_id, allow_disable=False)
            self.exporter.process_group(group_id, snap, cycle_id, only_add=user_id)

    # --- cycles -----------------------------------------------------------------------------------------
    def _cycle_start_after(self, t: float) -> float:
        assert self.origin is not None
        s = self.settings
        return self.origin + next_cycle_after(t - self.origin, s.cycle_interval, s.cycle_phase, s.cycle_jitter)

    def _schedule_next(self, after: float, delay: float | None = None) -> None:
        if self._cycle_timer is not None:
            self._cycle_timer.cancel()
        start = after + delay if delay is not None else self._cycle_start_after(after)
        self.next_cycle = start
        self._cycle_timer = self.clock.call_at(
            start, lambda: self._guarded(lambda: self._cycle_begin(start)), name=f"cycle-{self.id}"
        )

    def _cycle_begin(self, start: float) -> None:
        """At a cycle's start: read the directory (the watermark), export after ``cycle_processing``."""
        with self._run:
            if not self.running:
                return
            snap = self.view.snapshot(as_of=start)
            if self.settings.cycle_processing > 0:
                self._cycle_timer = self.clock.call_at(
                    start + self.settings.cycle_processing,
                    lambda: self._guarded_cycle(snap=snap, started=start),
                    name=f"cycle-export-{self.id}",
                )
            else:
                self._cycle(snap=snap, started=start)

    # --- surviving failures -------------------------------------------------------------------------------------
    def _survive(self, what: str, action: Callable[[], None]) -> bool:
        """Run ``action``; an exception of jitbox's own code is logged as a failed ``InternalError`` entry (and
        counted in ``internal_errors``) instead of escaping into the clock's timer loop. Return True when it ran
        through."""
        try:
            action()
        except Exception as exc:
            self.internal_errors += 1
            failure = internal_failure(exc)
            self._last_internal = failure.message
            self.log.record(Change("Job", self.id, what, f"internal-{self._new_id()}"), "failure", failure)
            return False
        return True

    def _guarded_cycle(self, initial: bool = False, snap: Snapshot | None = None, started: float | None = None) -> None:
        """Run a cycle that cannot stop the job (see :meth:`_guarded`)."""
        self._guarded(lambda: self._cycle(initial=initial, snap=snap, started=started))

    def _guarded(self, action: Callable[[], None]) -> None:
        """Run a cycle step; if jitbox's own code raised, log it, report the cycle failed and re-arm the next cycle
        so the job never silently stops (the cycle timer always re-arms while the job runs)."""
        with self._run:
            if self._survive("provisioning cycle", action):
                return
            now = self.clock.time()
            self.successive_failures += 1
            self.last_execution = {
                "activityIdentifier": f"internal-{self._new_id()}",
                "countEntitled": 0,
                "countExported": 0,
                "timeBegan": iso_at(now),
                "timeEnded": iso_at(now),
                "state": "Failed",
                "error": {"code": "InternalError", "message": self._last_internal},
                "initial": False,
            }
            timer = self._cycle_timer
            if self.running and (timer is None or timer.cancelled or timer.due <= now):
                self._schedule_next(now)

    def _cycle(self, initial: bool = False, snap: Snapshot | None = None, started: float | None = None) -> None:
        """Run one cycle: export the in-scope or known objects not waiting in escrow, then schedule the next.

        The initial cycle (and the first after the target cache was forgotten) looks at every object; later cycles
        look only at what changed since the last cycle read the directory (:meth:`_changed`) — Entra's watermark
        and delta query [E-HOW] — so their cost follows the changes, not the tenant size.
        """
        with self._run:
            began = self.clock.time()
            started = began if started is None else started
            snap = snap or self.view.snapshot()
            cycle_id = self._new_id()
            failures_before = self.counts.failed
            self._cycle_failed = []
            exported = 0
            waiting = self.failures.waiting(began)
            last = None if initial or not self.options.incremental_cycles else self._last_snap
            if last is None:
                user_ids, group_ids = set(snap.users) | set(self.users), set(snap.groups) | set(self.groups)
            else:
                user_ids, group_ids = self._changed(last, snap)
            for uid in sorted(user_ids):
                if ("user", uid) not in waiting:
                    exported += self.exporter.process_user(uid, snap, cycle_id, allow_disable=True)
            for gid in sorted(group_ids):
                if ("group", gid) not in waiting:
                    exported += self.exporter.process_group(gid, snap, cycle_id, only_add=None)
            self._last_snap = snap
            self.exporter.touched.clear()
            self.cycles_run += 1
            failed = self.counts.failed - failures_before
            seen = self._cycle_failed
            self.successive_failures = self.successive_failures + 1 if seen else 0
            execution = {
                "activityIdentifier": cycle_id,
                "countEntitled": len(snap.users) + len(snap.groups),
                "countExported": exported,
                "timeBegan": iso_at(started),
                "timeEnded": iso(self.clock.now()),
                "state": "Succeeded" if not seen else "Failed",
                "error": None if not seen else {"code": seen[-1].code, "message": seen[-1].message},
                "initial": initial,
            }
            self.last_execution = execution
            if not seen and self.code != "Paused":
                self.last_success = execution
            self._after_cycle(failed)

    def _changed(self, last: Snapshot, snap: Snapshot) -> tuple[set[str], set[str]]:
        """Return the user and group ids a cycle must look at after ``last``: those whose directory state differs
        (in scope, attributes, members), those exported outside cycles since (fast path, retries, on demand), those
        whose last export failed, and groups that left out a member the target did not have yet. The view names the
        objects that may differ (:meth:`DirectoryView.changed_between`), so only those are compared."""
        candidates = self.view.changed_between(last, snap)
        if candidates is None:  # compare everything
            users = {u for u, src in snap.users.items() if last.users.get(u) != src}
            users.update(u for u in last.users if u not in snap.users)
            groups = {g for g, src in snap.groups.items() if last.groups.get(g) != src}
            groups.update(g for g in last.groups if g not in snap.groups)
        else:  # only what the view saw change since ``last``
            users = {u for u in candidates[0] if last.users.get(u) != snap.users.get(u)}
            groups = {g for g in candidates[1] if last.groups.get(g) != snap.groups.get(g)}
        for kind, oid in self._pending | self.exporter.touched:
            (users if kind == "user" else groups).add(oid)
        groups.update(self.exporter.stale_groups)
        return users, groups

    def _after_cycle(self, failed: int) -> None:
        """Quarantine on escrow thresholds, leave or slow down quarantine, and schedule the next cycle [E-QUAR]."""
        now = self.clock.time()
        if self.code == "Paused" or self.state == "Disabled":
            return
        breach = self.failures.threshold_breach()
        if breach is not None:
            self._enter_quarantine(*breach)
        if self.quarantine is not None:
            if self.failures.leaves_quarantine(failed):
                self.code = "Active"
            else:
                wait = self.failures.quarantine_wait(self.settings.cycle_interval)
                if wait is None:
                    self._disable()
                    self.next_cycle = None
                    return
                self._schedule_next(now, delay=wait)
                return
        self._schedule_next(now)

    # --- outcomes -----------------------------------------------------------------------------------------
    def _enter_quarantine(self, reason: str, error: str) -> None:
        if self.failures.enter_quarantine(reason, error):
            self._event("Quarantine")
        self.code = "Quarantine"

    def _disable(self) -> None:
        """Disable the job (escrow or quarantine past 28 days [E-QUAR]); ``start`` enables it again."""
        self.state = "Disabled"
        self.code = "Paused"

    def _succeeded(self, key: ObjectKey, change: Change) -> None:
        self._pending.discard(key)
        self.failures.succeeded(key)
        self.log.record(change, "success", None)

    def _failed(self, key: ObjectKey, change: Change, f: ScimFailure) -> None:
        self._pending.add(key)
        self._cycle_failed.append(f)
        self.log.record(change, "failure", f)
        verdict = self.failures.failed(key, f)
        if verdict is Verdict.QUARANTINE:
            self._enter_quarantine("EncounteredQuarantineException", f"{f.status} {f.message}")
        elif verdict is Verdict.DISABLE:
            self._disable()

    def _retry(self, key: ObjectKey) -> None:
        """An escrow or Retry-After timer fired: export that one object again."""
        with self._run:
            self.failures.retry_due(key)
            self._survive("retry", lambda: self._retry_now(key))

    def _retry_now(self, key: ObjectKey) -> None:
        with self._run:
            if not self.running:
                return
            snap = self.view.snapshot()
            cycle_id = f"retry-{self._new_id()}"
            if key[0] == "user":
                self.exporter.process_user(key[1], snap, cycle_id, allow_disable=True)
            else:
                self.exporter.process_group(key[1], snap, cycle_id, only_add=None)

    # --- on demand and JSON ---------------------------------------------------------------------------------
    def provision_on_demand(self, body: Any) -> dict[str, Any]:
        """``POST .../jobs/{id}/provisionOnDemand``: one user, or one group with up to 5 chosen members [E-POD].

        Runs at once (on-demand ignores ``aadOptscim062020`` [E-COMPAT]), 5 requests per 10 s (429 beyond), and
        returns Graph's ``stringKeyStringValuePair``: ``key`` the result JSON, ``value`` the change JSON.
        """
        subject = parse_subject(body)
        with self._run:
            self.on_demand.admit()
            if self.origin is None:
                self.origin = self.clock.time()
            return self.on_demand.provision(subject)

    def to_json(self) -> dict[str, Any]:
        """Return the ``synchronizationJob`` resource [G-SYNC] (plus a jitbox ``nextCycleDateTime``)."""
        return job_resource(self)
