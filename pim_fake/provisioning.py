"""The Entra provisioning service: one SCIM job per enterprise application, on the injected clock.

Timing (sources in ``../shared/reference/entra-pim-provisioning.md``), using :mod:`sim.rules` — not re-implemented:

- initial cycle when the job starts, then regular incremental cycles at
  ``origin + sim.rules.next_cycle_after(t - origin, cycle_interval, cycle_phase)``, about every 40 min
  [E-AWS][E-SCIM]; a cycle reads the directory when it starts and sends its SCIM calls ``cycle_processing``
  later (UNCONFIRMED, default 0);
- PIM fast path: an activation takes the fast path when the per-app :class:`sim.rules.FastPathThrottle` admits it
  (first 5 per 10 s [E-AWS][E-PIMG]); it reaches the target after a latency drawn uniformly from
  ``fast_path_latency_min``–``fast_path_latency_max`` (2–10 min) with a seeded ``random.Random``; the rest wait
  for the next cycle. Removals and deactivations happen only on regular cycles [E-AWS];
- provision-on-demand: one user, or one group with at most 5 members [E-POD].

Requests are the ones Entra sends [E-SCIM][E-COMPAT]: match with ``filter=userName eq "..."`` /
``displayName eq "..."`` (groups with ``excludedAttributes=members``), ``POST`` when absent, groups created empty
then ``PATCH`` members with capitalised ops in batches of ≤ 100 [AWS-SCIM], disable with ``active`` ``"False"``
(legacy) or ``false`` with ``aadOptscim062020`` in the target URL (lower-case ops, member removal by filter path).

Failures: 429/5xx and transport errors are transient: retried after ``Retry-After`` on the clock when the header
is present, else at the next cycle ([E-PLOGS] "retried in 40 minutes"; the exact 429 behaviour is UNCONFIRMED,
switch :class:`RetryPolicy`). Other 4xx put the object in escrow with the documented back-off ([E-QUAR] 6 h,
12 h, 24 h, then every 24 h for 28 days; switch :class:`EscrowSchedule` for the Q&A's 30 min → 1 h → 2 h …).
401/403 quarantine the job at once (``EncounteredQuarantineException``); escrow failures past the thresholds
(≥ 5,000 failures and > 40 % failing, or > 40,000) quarantine it too [E-QUAR]. In quarantine the cycle slows to
once a day (switch :class:`QuarantineMode`: ``gradual`` doubling — "gradually reduced to once per day" — or
``daily`` at once); after 4 weeks the job is disabled [E-QUAR].
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx2

from pim_fake.directory import Directory, ServicePrincipal, iso
from pim_fake.errors import bad_request
from sim.clock import Clock, Timer
from sim.rules import FastPathThrottle, next_cycle_after
from sim.settings import Settings

__all__ = [
    "EngineOptions",
    "EscrowSchedule",
    "FastPathRecord",
    "ProvisioningJob",
    "QuarantineMode",
    "RetryPolicy",
    "ScimTarget",
]

HOUR = 3600.0
DAY = 86400.0
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER_SCHEMAS = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
]
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADSCIM_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
AAD_OPT_FLAG = "aadOptscim062020"


class RetryPolicy(StrEnum):
    """How transient SCIM failures (429, 5xx, timeouts) are retried (UNCONFIRMED [E-PLOGS][QA 2284725])."""

    RETRY_AFTER = "retry_after"
    """Retry after ``Retry-After`` on the clock when the header is present, else at the next cycle."""
    NEXT_CYCLE = "next_cycle"
    """Always wait for the next regular cycle (older feedback: 429 treated as a plain failure)."""


class EscrowSchedule(StrEnum):
    """Escrow back-off for objects that keep failing; the sources conflict [E-QUAR] vs [QA 1278038]."""

    DOCS = "docs"
    """Retries 6 h, 12 h and 24 h after the first failure, then every 24 h until 28 days [E-QUAR]."""
    EXPONENTIAL = "exponential"
    """Waits of 30 min, 1 h, 2 h, 4 h, 8 h, … capped at 24 h, until 28 days (MS employee, Q&A)."""


class QuarantineMode(StrEnum):
    """How often a quarantined job runs cycles ("gradually reduced to once per day" [E-QUAR])."""

    GRADUAL = "gradual"
    """The wait doubles from ``cycle_interval`` on each quarantined cycle, up to 24 h."""
    DAILY = "daily"
    """Once a day from the start of quarantine."""


@dataclass(frozen=True)
class EngineOptions:
    """Provisioning switches; defaults are the documented values."""

    retry_policy: RetryPolicy = RetryPolicy.RETRY_AFTER
    max_retry_after_attempts: int = 5
    escrow_schedule: EscrowSchedule = EscrowSchedule.DOCS
    escrow_max_age: float = 28 * DAY
    quarantine_mode: QuarantineMode = QuarantineMode.GRADUAL
    quarantine_max_age: float = 28 * DAY
    escrow_eval_min_failures: int = 5000
    escrow_proportion: float = 0.40
    escrow_total: int = 40000
    member_batch_size: int = 100
    on_demand_max_members: int = 5
    adscim_group_schema: bool = True


@dataclass(frozen=True)
class ScimTarget:
    """Tenant URL and secret token of the SCIM endpoint [E-AWS]; ``aadOptscim062020`` in the URL's query
    switches the patch format [E-COMPAT]."""

    base_url: str
    token: str

    @property
    def url(self) -> str:
        """Return the base URL without the feature-flag query."""
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))

    @property
    def aad_opt(self) -> bool:
        """Return True when ``aadOptscim062020`` is in the URL's query [E-COMPAT]."""
        query = urlsplit(self.base_url).query
        return any(k == AAD_OPT_FLAG for k, _ in parse_qsl(query, keep_blank_values=True)) or AAD_OPT_FLAG in query


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


@dataclass(frozen=True)
class _SrcUser:
    id: str
    upn: str
    display: str
    given: str | None
    surname: str | None
    mail: str | None


@dataclass(frozen=True)
class _Snapshot:
    users: dict[str, _SrcUser]
    groups: dict[str, tuple[str, tuple[str, ...]]]  # id -> (displayName, user member ids)


@dataclass
class _TargetUser:
    scim_id: str
    active: bool
    attrs: tuple[Any, ...]


@dataclass
class _TargetGroup:
    scim_id: str
    members: set[str] = field(default_factory=set)


@dataclass
class _Escrow:
    failures: int
    first: float
    next_attempt: float
    error: str


class _Failure(Exception):
    def __init__(
        self, status: int, code: str, message: str, transient: bool, retry_after: float | None, fatal: bool
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.transient = transient
        self.retry_after = retry_after
        self.fatal = fatal


class _Change:
    """One provisioning-log entry under construction (one object, its SCIM calls as steps) [G-POS]."""

    def __init__(self, kind: str, source_id: str, display: str, cycle_id: str) -> None:
        self.kind = kind
        self.source_id = source_id
        self.display = display
        self.cycle_id = cycle_id
        self.steps: list[dict[str, Any]] = []
        self.action = "other"
        self.target_id: str | None = None
        self.modified: list[dict[str, Any]] = []


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
    ) -> None:
        self.dir = directory
        self.sp = sp
        self.lock = lock
        self.clock = clock
        self.settings = settings
        self.target = target
        self.options = options or EngineOptions()
        self.client = client or httpx2.Client(timeout=60.0)
        self.rng = random.Random(seed)
        self._ids = random.Random(seed + 1)
        self.on_request = on_request
        self.on_event = on_event
        self.id = f"aWSSingleSignOn.{self._new_id().replace('-', '')}.{self._new_id().replace('-', '')}"
        self.throttle = FastPathThrottle.from_settings(settings)
        self.fast_path: list[FastPathRecord] = []
        self.logs: list[dict[str, Any]] = []
        self.users: dict[str, _TargetUser] = {}
        self.groups: dict[str, _TargetGroup] = {}
        self.escrow: dict[tuple[str, str], _Escrow] = {}
        self.code = "NotRun"
        self.state = "Active"
        self.origin: float | None = None
        self.cycles_run = 0
        self.next_cycle: float | None = None
        self.last_execution: dict[str, Any] | None = None
        self.last_success: dict[str, Any] | None = None
        self.quarantine: dict[str, Any] | None = None
        self.calls_total = 0
        self.calls_failed = 0
        self._cycle_timer: Timer | None = None
        self._retry_timers: dict[tuple[str, str], Timer] = {}
        self._retry_counts: dict[tuple[str, str], int] = {}
        self._run = threading.RLock()
        self._fp_lock = threading.Lock()
        self._changes: list[tuple[float, str, str, bool]] = []
        directory.listeners.append(self._on_change)

    # --- ids --------------------------------------------------------------------------------------------
    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

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
                        self.origin, lambda: self._cycle(initial=True), name=f"initial-cycle-{self.id}"
                    )
                else:
                    self._cycle(initial=True)
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
            for t in self._retry_timers.values():
                t.cancel()
            self._retry_timers.clear()
            self.users.clear()
            self.groups.clear()
            self.escrow.clear()
            self.quarantine = None
            self.calls_total = self.calls_failed = 0
            self.state = "Active"
            self.code = "Active"
            self._event("Enable/restart provisioning configuration")
            self.origin = self.clock.time()
            self._cycle(initial=True)

    def _event(self, activity: str) -> None:
        """Report a provisioning-configuration audit event (category ``ProvisioningManagement`` [E-AUDREF])."""
        if self.on_event is not None:
            self.on_event(activity)

    def retarget(self, target: ScimTarget, client: httpx2.Client | None = None) -> None:
        """Point the job at another SCIM endpoint: forget the target cache, escrows and quarantine; a running
        job runs an initial cycle against the new target at once."""
        with self._run:
            self._event("Update provisioning setting or credentials")
            self.target = target
            self.client = client or httpx2.Client(timeout=60.0)
            was_running = self.code in ("Active", "Quarantine")
            self.users.clear()
            self.groups.clear()
            self.escrow.clear()
            self.quarantine = None
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
            if not any(a.principalId == group_id for a in self.sp.assignments):
                return
            fast = self.throttle.admit(at)
            latency = self.rng.uniform(self.settings.fast_path_latency_min, self.settings.fast_path_latency_max)
            self.fast_path.append(FastPathRecord(user_id, group_id, at, fast, latency if fast else 0.0))
            if fast:
                self.clock.call_at(
                    at + latency, lambda: self._fast(user_id, group_id), name=f"fast-path-{self.id}-{user_id}"
                )

    def _fast(self, user_id: str, group_id: str) -> None:
        with self._run:
            if not self.running:
                return
            snap = self._snapshot()
            if group_id not in snap.groups or user_id not in snap.groups[group_id][1]:
                return
            cycle_id = f"fastpath-{self._new_id()}"
            self._process_user(user_id, snap, cycle_id, allow_disable=False)
            self._process_group(group_id, snap, cycle_id, only_add=user_id)

    # --- cycles -----------------------------------------------------------------------------------------
    def _cycle_start_after(self, t: float) -> float:
        assert self.origin is not None
        return self.origin + next_cycle_after(t - self.origin, self.settings.cycle_interval, self.settings.cycle_phase)

    def _schedule_next(self, after: float, delay: float | None = None) -> None:
        if self._cycle_timer is not None:
            self._cycle_timer.cancel()
        start = after + delay if delay is not None else self._cycle_start_after(after)
        self.next_cycle = start
        self._cycle_timer = self.clock.call_at(start, lambda: self._cycle_begin(start), name=f"cycle-{self.id}")

    def _cycle_begin(self, start: float) -> None:
        """At a cycle's start: read the directory (the watermark), export after ``cycle_processing``."""
        with self._run:
            if not self.running:
                return
            snap = self._snapshot(as_of=start)
            if self.settings.cycle_processing > 0:
                self._cycle_timer = self.clock.call_at(
                    start + self.settings.cycle_processing,
                    lambda: self._cycle(snap=snap, started=start),
                    name=f"cycle-export-{self.id}",
                )
            else:
                self._cycle(snap=snap, started=start)

    def _cycle(self, initial: bool = False, snap: _Snapshot | None = None, started: float | None = None) -> None:
        with self._run:
            began = self.clock.time()
            started = began if started is None else started
            snap = snap or self._snapshot()
            cycle_id = self._new_id()
            failures_before = self.calls_failed
            exported = 0
            waiting = {k for k, e in self.escrow.items() if e.next_attempt > began}
            user_ids = sorted(set(snap.users) | set(self.users))
            for uid in user_ids:
                if ("user", uid) not in waiting:
                    exported += self._process_user(uid, snap, cycle_id, allow_disable=True)
            for gid in sorted(set(snap.groups) | set(self.groups)):
                if ("group", gid) not in waiting:
                    exported += self._process_group(gid, snap, cycle_id, only_add=None)
            self.cycles_run += 1
            failed = self.calls_failed - failures_before
            execution = {
                "activityIdentifier": cycle_id,
                "countEntitled": len(snap.users) + len(snap.groups),
                "countExported": exported,
                "timeBegan": iso(_dt(started)),
                "timeEnded": iso(self.clock.now()),
                "state": "Succeeded" if failed == 0 else "Failed",
                "error": None,
                "initial": initial,
            }
            self.last_execution = execution
            if failed == 0 and self.code != "Paused":
                self.last_success = execution
            self._after_cycle(failed)

    def _after_cycle(self, failed: int) -> None:
        now = self.clock.time()
        if self.code == "Paused" or self.state == "Disabled":
            return
        o = self.options
        if self.quarantine is None and self.calls_failed >= o.escrow_eval_min_failures:
            share = self.calls_failed / max(1, self.calls_total)
            if share > o.escrow_proportion:
                self._enter_quarantine("EncounteredEscrowProportionThreshold", f"{share:.0%} of calls failed")
            elif self.calls_failed > o.escrow_total:
                self._enter_quarantine("EncounteredTotalEscrowThreshold", f"{self.calls_failed} failures")
        if self.quarantine is not None:
            if failed == 0 and self.quarantine.get("_entered") != now:
                self.quarantine = None
                self.code = "Active"
                self.calls_total = self.calls_failed = 0
            else:
                q = self.quarantine
                if now - q["_began"] > o.quarantine_max_age:
                    self.state = "Disabled"
                    self.code = "Paused"
                    self.next_cycle = None
                    return
                q["seriesCount"] += 1
                if o.quarantine_mode is QuarantineMode.DAILY:
                    wait = DAY
                else:
                    wait = min(DAY, self.settings.cycle_interval * (2 ** q["seriesCount"]))
                q["currentBegan"] = iso(_dt(now))
                q["nextAttempt"] = iso(_dt(now + wait))
                self._schedule_next(now, delay=wait)
                return
        self._schedule_next(now)

    def _enter_quarantine(self, reason: str, error: str) -> None:
        now = self.clock.time()
        if self.quarantine is None:
            self.quarantine = {
                "currentBegan": iso(_dt(now)),
                "nextAttempt": None,
                "reason": reason,
                "seriesBegan": iso(_dt(now)),
                "seriesCount": 0,
                "error": {"code": reason, "message": error, "tenantActionable": True},
                "_began": now,
                "_entered": now,
            }
            self._event("Quarantine")
        self.code = "Quarantine"

    # --- the directory view -------------------------------------------------------------------------------
    def _on_change(self, group_id: str, user_id: str, added: bool, via_pim: bool, when: float) -> None:
        """Directory listener: remember membership changes so a cycle can read the directory as of its start."""
        with self._fp_lock:
            self._changes.append((when, group_id, user_id, added))

    def _snapshot(self, as_of: float | None = None) -> _Snapshot:
        """Read in-scope users and assigned groups: only assigned users/groups and direct members [E-HOW].

        With ``as_of`` (a regular cycle's start) membership changes made at or after that instant are left out:
        they belong to the next cycle, as :func:`sim.rules.next_cycle_after` ("strictly after") says, whatever
        order same-instant timers ran in.
        """
        with self.lock:
            members: dict[str, list[str]] = {}
            for a in self.sp.assignments:
                if a.principalType == "Group" and a.principalId in self.dir.groups:
                    members[a.principalId] = list(self.dir.groups[a.principalId].members)
            if as_of is not None:
                with self._fp_lock:
                    self._changes = [c for c in self._changes if c[0] >= as_of]
                    late = list(self._changes)
                for _when, gid, uid, added in reversed(late):
                    if gid not in members:
                        continue
                    if added and uid in members[gid]:
                        members[gid].remove(uid)
                    elif not added and uid not in members[gid]:
                        members[gid].append(uid)
            users: dict[str, _SrcUser] = {}

            def take(uid: str) -> None:
                u = self.dir.users.get(uid)
                if u is not None and u.accountEnabled:
                    users[uid] = _SrcUser(u.id, u.userPrincipalName, u.displayName, u.givenName, u.surname, u.mail)

            for a in self.sp.assignments:
                if a.principalType == "User":
                    take(a.principalId)
            for ms in members.values():
                for m in ms:
                    take(m)
            groups = {
                gid: (self.dir.groups[gid].displayName, tuple(m for m in ms if m in users))
                for gid, ms in members.items()
            }
            return _Snapshot(users, groups)

    # --- object processing --------------------------------------------------------------------------------
    def _process_user(
        self, uid: str, snap: _Snapshot, cycle_id: str, *, allow_disable: bool, legacy: bool = False
    ) -> int:
        src = snap.users.get(uid)
        known = self.users.get(uid)
        if src is None and (known is None or not known.active or not allow_disable):
            return 0
        display = src.display if src else uid
        change = _Change("User", uid, display, cycle_id)
        try:
            if src is None:
                assert known is not None
                change.action = "disable"
                change.target_id = known.scim_id
                self._patch_user(change, known.scim_id, [("active", False)], legacy)
                known.active = False
            else:
                self._ensure_user(change, src, legacy)
        except _Failure as f:
            self._failed(("user", uid), change, f)
            return 0
        if not change.steps:
            return 0
        self._succeeded(("user", uid), change)
        return 1

    def _attrs(self, src: _SrcUser) -> tuple[Any, ...]:
        return (src.upn, src.display, src.given, src.surname, src.mail)

    def _ensure_user(self, change: _Change, src: _SrcUser, legacy: bool) -> None:
        known = self.users.get(src.id)
        if known is None:
            change.action = "create"
            resp = self._call(change, "GET", "/Users", "matching", params={"filter": f'userName eq "{src.upn}"'})
            found = _resources(resp)
            if found:
                res = found[0]
                known = _TargetUser(str(res["id"]), bool(res.get("active", True)), self._attrs(src))
                self.users[src.id] = known
                change.action = "update"
            else:
                body: dict[str, Any] = {
                    "schemas": USER_SCHEMAS,
                    "externalId": src.upn.split("@", 1)[0],
                    "userName": src.upn,
                    "active": True,
                    "displayName": src.display,
                    "emails": [{"primary": True, "type": "work", "value": src.mail or src.upn}],
                    "meta": {"resourceType": "User"},
                    "name": {
                        "formatted": src.display,
                        "familyName": src.surname or src.display,
                        "givenName": src.given or src.display,
                    },
                    "roles": [],
                }
                created = self._call(change, "POST", "/Users", "export", json_body=body)
                self.users[src.id] = _TargetUser(str(created.json()["id"]), True, self._attrs(src))
                change.target_id = self.users[src.id].scim_id
                return
        change.target_id = known.scim_id
        updates: list[tuple[str, Any]] = []
        if not known.active:
            updates.append(("active", True))
        if known.attrs != self._attrs(src):
            old = dict(
                zip(("userName", "displayName", "name.givenName", "name.familyName", "mail"), known.attrs, strict=True)
            )
            new = dict(
                zip(
                    ("userName", "displayName", "name.givenName", "name.familyName", "mail"),
                    self._attrs(src),
                    strict=True,
                )
            )
            for key in ("userName", "displayName", "name.givenName", "name.familyName"):
                if old[key] != new[key] and new[key] is not None:
                    updates.append((key, new[key]))
            if old["mail"] != new["mail"] and new["mail"]:
                updates.append(('emails[type eq "work"].value', new["mail"]))
        if updates:
            change.action = "update" if change.action != "create" else change.action
            self._patch_user(change, known.scim_id, updates, legacy)
            known.active = True
            known.attrs = self._attrs(src)

    def _patch_user(self, change: _Change, scim_id: str, updates: list[tuple[str, Any]], legacy: bool) -> None:
        """PATCH a user: legacy form = one ``Replace`` per attribute, ``active`` as ``"False"``/``"True"``;
        ``aadOptscim062020`` = one ``replace`` with a path-less value object and booleans [E-COMPAT]."""
        if self.target.aad_opt and not legacy:
            value = {k: v for k, v in updates}
            ops: list[dict[str, Any]] = [{"op": "replace", "value": value}]
        else:
            ops = [
                {"op": "Replace", "path": k, "value": ("True" if v else "False") if isinstance(v, bool) else v}
                for k, v in updates
            ]
        change.modified.extend({"displayName": k, "oldValue": None, "newValue": json.dumps(v)} for k, v in updates)
        self._call(change, "PATCH", f"/Users/{scim_id}", "export", json_body={"schemas": [PATCH_OP], "Operations": ops})

    def _process_group(
        self, gid: str, snap: _Snapshot, cycle_id: str, *, only_add: str | None, legacy: bool = False
    ) -> int:
        src = snap.groups.get(gid)
        known = self.groups.get(gid)
        if src is None and known is None:
            return 0
        change = _Change("Group", gid, src[0] if src else gid, cycle_id)
        try:
            if src is not None and known is None:
                known = self._ensure_group(change, gid, src[0])
            assert known is not None
            change.target_id = known.scim_id
            desired = {m for m in (src[1] if src else ()) if m in self.users}
            adds = sorted(desired - known.members)
            removes = sorted(known.members - desired)
            if only_add is not None:
                adds = [m for m in adds if m == only_add]
                removes = []
            if adds or removes:
                change.action = "update" if change.action == "other" else change.action
            self._patch_members(change, known, adds, removes, legacy)
        except _Failure as f:
            self._failed(("group", gid), change, f)
            return 0
        if not change.steps:
            return 0
        self._succeeded(("group", gid), change)
        return 1

    def _ensure_group(self, change: _Change, gid: str, name: str) -> _TargetGroup:
        change.action = "create"
        resp = self._call(
            change,
            "GET",
            "/Groups",
            "matching",
            params={"excludedAttributes": "members", "filter": f'displayName eq "{name}"'},
        )
        found = _resources(resp)
        if found:
            group = _TargetGroup(str(found[0]["id"]))
            change.action = "update"
        else:
            schemas = [GROUP_SCHEMA] + ([ADSCIM_GROUP_SCHEMA] if self.options.adscim_group_schema else [])
            body = {"schemas": schemas, "externalId": gid, "displayName": name, "meta": {"resourceType": "Group"}}
            created = self._call(change, "POST", "/Groups", "export", json_body=body)
            group = _TargetGroup(str(created.json()["id"]))
        self.groups[gid] = group
        return group

    def _patch_members(
        self, change: _Change, group: _TargetGroup, adds: list[str], removes: list[str], legacy: bool
    ) -> None:
        """Add/remove members in PATCHes of at most ``member_batch_size`` changes [AWS-SCIM][E-SCIM][E-COMPAT]."""
        size = max(1, self.options.member_batch_size)
        aad = self.target.aad_opt and not legacy
        for i in range(0, len(adds), size):
            batch = adds[i : i + size]
            op = {
                "op": "add" if aad else "Add",
                "path": "members",
                "value": [{"$ref": None, "value": self.users[m].scim_id} for m in batch],
            }
            self._call(
                change,
                "PATCH",
                f"/Groups/{group.scim_id}",
                "export",
                json_body={"schemas": [PATCH_OP], "Operations": [op]},
            )
            group.members.update(batch)
            change.modified.append({"displayName": "members", "oldValue": None, "newValue": json.dumps(batch)})
        for i in range(0, len(removes), size):
            batch = removes[i : i + size]
            ids = [self.users[m].scim_id if m in self.users else m for m in batch]
            if aad:
                ops: list[dict[str, Any]] = [{"op": "remove", "path": f'members[value eq "{v}"]'} for v in ids]
            else:
                ops = [{"op": "Remove", "path": "members", "value": [{"$ref": None, "value": v} for v in ids]}]
            self._call(
                change,
                "PATCH",
                f"/Groups/{group.scim_id}",
                "export",
                json_body={"schemas": [PATCH_OP], "Operations": ops},
            )
            group.members.difference_update(batch)
            change.modified.append({"displayName": "members", "oldValue": json.dumps(batch), "newValue": None})

    # --- HTTP ---------------------------------------------------------------------------------------------
    def _call(
        self,
        change: _Change,
        method: str,
        path: str,
        step_type: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
    ) -> httpx2.Response:
        """Send one SCIM request; record it as a provisioning step; raise :class:`_Failure` on errors."""
        url = self.target.url + path
        at = self.clock.time()
        self.calls_total += 1
        if self.on_request is not None:
            self.on_request(method, path, at)
        step: dict[str, Any] = {
            "name": f"{method} {path}",
            "provisioningStepType": step_type,
            "description": f"{method} {path}"
            + (f"?{'&'.join(f'{k}={v}' for k, v in params.items())}" if params else ""),
            "details": {},
            "status": "success",
        }
        change.steps.append(step)
        try:
            resp = self.client.request(
                method,
                url,
                params=params,
                json=json_body,
                headers={"Authorization": f"Bearer {self.target.token}", "Accept": "application/scim+json"},
            )
        except httpx2.TransportError as exc:
            step["status"] = "failure"
            step["details"] = {"error": str(exc)}
            raise _Failure(0, "Timeout", f"{method} {path}: {exc}", True, None, False) from None
        step["details"] = {"statusCode": str(resp.status_code)}
        status = resp.status_code
        if status < 400:
            return resp
        step["status"] = "failure"
        retry_after = _retry_after(resp.headers.get("Retry-After"))
        detail = resp.text[:300]
        if status == 429:
            raise _Failure(status, "TooManyRequests", detail, True, retry_after, False)
        if status >= 500:
            raise _Failure(status, "InternalServerError", detail, True, retry_after, False)
        if status in (401, 403):
            raise _Failure(status, "Unauthorized", detail, False, None, True)
        code = {409: "EntryConflict", 404: "SystemForCrossDomainIdentityManagementNotFound"}.get(
            status, "SystemForCrossDomainIdentityManagementBadRequest"
        )
        raise _Failure(status, code, detail, False, None, False)

    # --- outcomes -----------------------------------------------------------------------------------------
    def _succeeded(self, key: tuple[str, str], change: _Change) -> None:
        self.escrow.pop(key, None)
        self._retry_counts.pop(key, None)
        self._log(change, "success", None)

    def _failed(self, key: tuple[str, str], change: _Change, f: _Failure) -> None:
        now = self.clock.time()
        self._log(change, "failure", f)
        if f.fatal:
            self.calls_failed += 1
            self._enter_quarantine("EncounteredQuarantineException", f"{f.status} {f.message}")
            return
        if f.transient:
            count = self._retry_counts.get(key, 0) + 1
            self._retry_counts[key] = count
            if (
                self.options.retry_policy is RetryPolicy.RETRY_AFTER
                and f.retry_after is not None
                and count <= self.options.max_retry_after_attempts
                and key not in self._retry_timers
            ):
                self._retry_timers[key] = self.clock.call_at(
                    now + f.retry_after, lambda: self._retry(key), name=f"scim-retry-{self.id}-{key[1]}"
                )
            return
        self.calls_failed += 1
        entry = self.escrow.get(key)
        if entry is None:
            entry = _Escrow(0, now, now, f.code)
            self.escrow[key] = entry
        entry.failures += 1
        entry.error = f.code
        if now - entry.first >= self.options.escrow_max_age:
            self.escrow.pop(key, None)
            self.state = "Disabled"
            self.code = "Paused"
            return
        entry.next_attempt = self._escrow_next(entry)
        if key not in self._retry_timers:
            self._retry_timers[key] = self.clock.call_at(
                entry.next_attempt, lambda: self._retry(key), name=f"escrow-{self.id}-{key[1]}"
            )

    def _escrow_next(self, entry: _Escrow) -> float:
        n = entry.failures
        if self.options.escrow_schedule is EscrowSchedule.DOCS:
            offsets = [6 * HOUR, 12 * HOUR, 24 * HOUR]
            offset = offsets[n - 1] if n <= 3 else 24 * HOUR * (n - 2)
            return entry.first + offset
        return self.clock.time() + min(DAY, 0.5 * HOUR * float(2 ** (n - 1)))

    def _retry(self, key: tuple[str, str]) -> None:
        with self._run:
            self._retry_timers.pop(key, None)
            if not self.running:
                return
            snap = self._snapshot()
            cycle_id = f"retry-{self._new_id()}"
            if key[0] == "user":
                self._process_user(key[1], snap, cycle_id, allow_disable=True)
            else:
                self._process_group(key[1], snap, cycle_id, only_add=None)

    def _log(self, change: _Change, status: str, f: _Failure | None) -> None:
        """Append a ``provisioningObjectSummary`` [G-POS]."""
        initiated = "OnDemand" if change.cycle_id.startswith("ondemand") else "System"
        entry: dict[str, Any] = {
            "id": self._new_id(),
            "activityDateTime": iso(self.clock.now()),
            "changeId": self._new_id(),
            "cycleId": change.cycle_id,
            "jobId": self.id,
            "durationInMilliseconds": 0,
            "initiatedBy": {
                "id": "",
                "displayName": "Azure AD Provisioning Service",
                "initiatorType": initiated.lower(),
            },
            "modifiedProperties": change.modified,
            "provisioningAction": change.action,
            "provisioningSteps": [
                {
                    "name": "EntryImport",
                    "provisioningStepType": "import",
                    "status": "success",
                    "description": f"Retrieved {change.display} from Azure Active Directory",
                    "details": {},
                },
                {
                    "name": "EntrySynchronizationScoping",
                    "provisioningStepType": "scoping",
                    "status": "success",
                    "description": f"{change.display} is assigned to {self.sp.displayName}",
                    "details": {},
                },
                *change.steps,
            ],
            "provisioningStatusInfo": {
                "status": status,
                "errorInfo": None
                if f is None
                else {
                    "errorCode": f.code,
                    "reason": f.message,
                    "additionalDetails": f"HTTP {f.status}",
                    "errorCategory": "Transient" if f.transient else "NonServiceFailure",
                    "recommendedAction": None,
                },
            },
            "servicePrincipal": {"id": self.sp.id, "displayName": self.sp.displayName},
            "sourceIdentity": {"id": change.source_id, "displayName": change.display, "identityType": change.kind},
            "sourceSystem": {"id": None, "displayName": "Azure Active Directory", "details": {}},
            "targetIdentity": {"id": change.target_id, "displayName": change.display, "identityType": change.kind},
            "targetSystem": {"id": None, "displayName": self.sp.displayName, "details": {}},
            "tenantId": None,
        }
        self.logs.append(entry)

    # --- on demand ----------------------------------------------------------------------------------------
    def provision_on_demand(self, body: Any) -> dict[str, Any]:
        """``POST .../jobs/{id}/provisionOnDemand``: one user, or one group with ≤ 5 members [E-POD].

        Runs at once (on-demand ignores ``aadOptscim062020`` [E-COMPAT]) and returns Graph's
        ``stringKeyStringValuePair`` whose ``value`` is the JSON of the steps.
        """
        try:
            subject = body["parameters"][0]["subjects"][0]
            object_id = str(subject["objectId"])
            type_name = str(subject["objectTypeName"])
        except (KeyError, IndexError, TypeError):
            raise bad_request(
                'The body must be {"parameters":[{"subjects":[{"objectId":"...","objectTypeName":"User"}],"ruleId":"..."}]}.'
            ) from None
        with self._run:
            if self.origin is None:
                self.origin = self.clock.time()
            snap = self._snapshot()
            cycle_id = f"ondemand-{self._new_id()}"
            before = len(self.logs)
            if type_name.lower() == "user":
                if object_id not in self.dir.users:
                    raise bad_request(f"User {object_id} does not exist in the directory.")
                if object_id not in snap.users and object_id not in self.users:
                    return _pair(
                        {"status": "skipped", "reason": "The user is not assigned to the application (out of scope)."}
                    )
                self._process_user(object_id, snap, cycle_id, allow_disable=True, legacy=True)
            elif type_name.lower() == "group":
                if object_id not in self.dir.groups:
                    raise bad_request(f"Group {object_id} does not exist in the directory.")
                if object_id not in snap.groups:
                    return _pair(
                        {"status": "skipped", "reason": "The group is not assigned to the application (out of scope)."}
                    )
                members = snap.groups[object_id][1]
                if len(members) > self.options.on_demand_max_members:
                    raise bad_request(
                        f"Provision on demand supports a group with up to {self.options.on_demand_max_members} members; "
                        f"this group has {len(members)}."
                    )
                for m in members:
                    self._process_user(m, snap, cycle_id, allow_disable=False, legacy=True)
                self._process_group(object_id, snap, cycle_id, only_add=None, legacy=True)
            else:
                raise bad_request(f"objectTypeName {type_name!r} must be User or Group.")
            entries = self.logs[before:]
            status = (
                "failure" if any(e["provisioningStatusInfo"]["status"] == "failure" for e in entries) else "success"
            )
            return _pair({"status": status, "entries": entries})

    # --- JSON -----------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Return the ``synchronizationJob`` resource [G-SYNC] (plus a jitbox ``nextCycleDateTime``)."""
        quarantine = (
            None if self.quarantine is None else {k: v for k, v in self.quarantine.items() if not k.startswith("_")}
        )
        return {
            "id": self.id,
            "templateId": "aWSSingleSignOn",
            "schedule": {
                "expiration": None,
                "interval": _iso_interval(self.settings.cycle_interval),
                "state": "Paused" if self.code == "Paused" and self.state != "Disabled" else self.state,
            },
            "status": {
                "code": self.code,
                "countSuccessiveCompleteFailures": 0,
                "escrowsPruned": False,
                "lastExecution": self.last_execution,
                "lastSuccessfulExecution": self.last_success,
                "lastSuccessfulExecutionWithExports": self.last_success,
                "quarantine": quarantine,
                "steadyStateFirstAchievedTime": None,
                "troubleshootingUrl": None,
                "progress": [],
            },
            "nextCycleDateTime": iso(_dt(self.next_cycle)) if self.next_cycle is not None else None,
            "escrows": [
                {
                    "objectType": k[0],
                    "objectId": k[1],
                    "failures": e.failures,
                    "nextAttempt": iso(_dt(e.next_attempt)),
                    "error": e.error,
                }
                for k, e in sorted(self.escrow.items())
            ],
        }


def _pair(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.stringKeyStringValuePair",
        "key": "provisionOnDemand",
        "value": json.dumps(value),
    }


def _resources(resp: httpx2.Response) -> list[dict[str, Any]]:
    try:
        data = resp.json()
    except ValueError:
        return []
    found = data.get("Resources") if isinstance(data, dict) else None
    return [r for r in found or [] if isinstance(r, dict) and "id" in r]


def _retry_after(value: str | None) -> float | None:
    """Return a ``Retry-After`` given in seconds; HTTP-date forms are not honoured (next cycle instead)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def _iso_interval(seconds: float) -> str:
    from sim.durations import to_iso8601

    return to_iso8601(seconds)
