"""The Entra fake's state in the ``jitbox serve --state`` file: everything of the tenant, written before responses.

:class:`EntraJournal` keeps one :class:`pim_fake.tenant.Tenant` in a :class:`fakekit.persist.Journal` (the same
SQLite file as the Identity Center fake's), one JSON record per object, in kinds named ``entra.*``:

- ``entra.meta``: ``tenant`` (format version, reset generation, the id stream's state), ``clock`` (its time);
- the directory: ``entra.user``, ``entra.group`` (with members and owners), ``entra.sp`` (with its app role
  assignments), ``entra.app`` (client applications);
- PIM: ``entra.request`` and ``entra.schedule`` (key ``kind|id``), ``entra.approval``, ``entra.policy``
  (key ``group|role``, with its rules);
- ``entra.audit``: the audit log, one record per entry (append-only);
- each provisioning job (:mod:`pim_fake.provisioning.state`): ``entra.job`` (by enterprise application id),
  ``entra.job.user`` / ``entra.job.group`` (its target cache), ``entra.job.log`` and ``entra.job.fastpath``.

:meth:`EntraJournal.flush` writes what changed since the last flush in one transaction (``put_many``): a section is
looked at when its version moved (the directory and PIM count their changes) or when ``force`` is set (after a
mutating request, a timer, a reset); within a section only records whose JSON differs are written; logs are
appended. The Entra app calls it before sending each response, and the clock calls it after every timer (the
schedules' expiry, approvals' expiry, cycles, fast path, retries), so nothing acknowledged or done is lost to a
``kill -9``. :meth:`EntraJournal.restore` loads a saved tenant and re-arms every timer from the saved due times.

Not kept: Graph bearer tokens (a restarted sandbox issues new ones: read them from the config, as after a new
sign-in; the file then holds no Graph secret) and the directory snapshot the last provisioning cycle read (see
:mod:`pim_fake.provisioning.state`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import fields
from typing import Any

from fakekit.persist import Journal, JournalOp
from pim_fake.approvals import Approval, ReviewResult, StageStatus
from pim_fake.directory import Application, AppRoleAssignment, Group, ServicePrincipal, User
from pim_fake.pim_terms import ASSIGNMENT
from pim_fake.policies import Policy
from pim_fake.provisioning import state as job_state
from pim_fake.provisioning.state import rng_state
from pim_fake.schedules import Schedule
from pim_fake.tenant import Tenant

__all__ = ["FORMAT", "EntraJournal", "StateFormatError", "saved_clock_time"]

FORMAT = 1
"""Version of the ``entra.*`` layout; a state file of another version is refused with :class:`StateFormatError`."""

Json = dict[str, Any]
Rows = dict[str, Any]


KINDS = (
    "entra.meta", "entra.user", "entra.group", "entra.sp", "entra.app", "entra.request", "entra.schedule",
    "entra.approval", "entra.policy", "entra.audit", "entra.job", "entra.job.user", "entra.job.group",
    "entra.job.log", "entra.job.fastpath",
)  # fmt: skip
"""Every record kind the Entra fake writes."""


class StateFormatError(ValueError):
    """The state file holds Entra state this version cannot read (another format)."""


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _plain(obj: Any, skip: tuple[str, ...] = ()) -> Json:
    """Return a dataclass's fields as a dict (shallow; lists and dicts are serialised as they are)."""
    return {f.name: getattr(obj, f.name) for f in fields(obj) if f.name not in skip}


def saved_clock_time(journal: Journal) -> float | None:
    """Return the clock time (Unix seconds) the Entra state in ``journal`` was last written at, or None."""
    meta = dict(journal.load("entra.meta"))
    return float(json.loads(meta["clock"])["now"]) if "clock" in meta else None


def _sp_row(sp: ServicePrincipal) -> Json:
    return {**_plain(sp, ("assignments",)), "assignments": [_plain(a) for a in sp.assignments]}


def _schedule_row(s: Schedule) -> Json:
    return _plain(s, ("timers",))


def _approval_row(a: Approval) -> Json:
    row = _plain(a, ("timer", "status", "review_result"))
    return {**row, "status": a.status.value, "review_result": a.review_result.value}


class EntraJournal:
    """Write-through persistence of one tenant in ``journal`` (see the module docstring)."""

    def __init__(self, journal: Journal, tenant: Tenant) -> None:
        self.journal = journal
        self.tenant = tenant
        self._written: dict[str, dict[str, str]] = {}
        self._versions: dict[str, Any] = {}
        self._appended: dict[str, tuple[Any, int]] = {}
        self._lock = threading.Lock()
        self.flushes = 0
        """How many flushes wrote at least one record."""

    def saved(self) -> bool:
        """Return True when the journal holds a saved tenant."""
        return any(key == "tenant" for key, _ in self.journal.load("entra.meta"))

    # --- writing ---------------------------------------------------------------------------------------------------
    def flush(self, force: bool = False) -> int:
        """Write what changed since the last flush in one transaction; return how many records were written.

        The directory and PIM write the objects they marked changed (all of them after a reset); ``force`` also
        writes each provisioning job's state and the target cache entries its exports touched (call it after
        anything that may have run a job: a mutating request, a timer, a reset); logs are appended."""
        tenant = self.tenant
        with self._lock, ExitStack() as stack:
            for job in list(tenant.jobs.values()):
                stack.enter_context(job._run)
            stack.enter_context(tenant.lock)
            ops: list[JournalOp] = []
            self._meta(ops)
            self._directory(ops)
            self._pim(ops)
            self._append(ops, "entra.audit", "", (tenant.generation,), tenant.audit.entries)
            self._jobs(ops, force)
            if ops:
                self.journal.put_many(ops)
                self.flushes += 1
        return len(ops)

    def _full(self, name: str, version: Any) -> bool:
        """Return True (once) when section ``name`` must be written whole: first flush, a reset, a new version."""
        key = (self.tenant.generation, version)
        if self._versions.get(name) == key:
            return False
        self._versions[name] = key
        return True

    def _put(self, ops: list[JournalOp], kind: str, key: str, value: Any) -> None:
        """Write one record when its JSON differs from what the file holds."""
        written = self._written.setdefault(kind, {})
        text = _dump(value)
        if written.get(key) != text:
            written[key] = text
            ops.append((kind, key, text))

    def _diff(self, ops: list[JournalOp], kind: str, table: Rows, prefix: str | None = None) -> None:
        """Write the rows of ``table`` whose JSON changed and delete the rows gone (only keys starting with
        ``prefix`` when given)."""
        written = self._written.setdefault(kind, {})
        for key, value in table.items():
            self._put(ops, kind, key, value)
        gone = [k for k in written if k not in table and (prefix is None or k.startswith(prefix))]
        for key in gone:
            del written[key]
            ops.append((kind, key, None))

    def _append(
        self,
        ops: list[JournalOp],
        kind: str,
        prefix: str,
        epoch: Any,
        entries: Sequence[Any],
        convert: Callable[[Any], Any] | None = None,
    ) -> None:
        """Append the entries of an append-only list written since the last flush (all again when ``epoch``
        changed, e.g. after a reset or for a new job)."""
        seen_epoch, count = self._appended.get(kind + prefix, (None, 0))
        written = self._written.setdefault(kind, {})
        if seen_epoch != epoch or count > len(entries):
            for key in [k for k in written if k.startswith(prefix)]:
                del written[key]
                ops.append((kind, key, None))
            count = 0
        for i in range(count, len(entries)):
            key = f"{prefix}{i:09d}"
            written[key] = ""
            ops.append((kind, key, _dump(entries[i] if convert is None else convert(entries[i]))))
        self._appended[kind + prefix] = (epoch, len(entries))

    def _meta(self, ops: list[JournalOp]) -> None:
        t = self.tenant
        self._put(ops, "entra.meta", "tenant", {"format": FORMAT, "generation": t.generation, "rng": rng_state(t.rng)})
        self._put(ops, "entra.meta", "clock", {"now": t.clock.time(), "mode": t.clock.mode})

    def _directory(self, ops: list[JournalOp]) -> None:
        d = self.tenant.directory
        tables: dict[str, tuple[str, dict[str, Any], Callable[[Any], Json]]] = {
            "user": ("entra.user", d.users, _plain),
            "group": ("entra.group", d.groups, _plain),
            "sp": ("entra.sp", d.service_principals, _sp_row),
            "app": ("entra.app", d.applications, _plain),
        }
        if self._full("directory", d.version):
            for kind, objects, row in tables.values():
                self._diff(ops, kind, {k: row(v) for k, v in objects.items()})
        else:
            for what, oid in sorted(d.dirty):
                kind, objects, row = tables[what]
                if oid in objects:
                    self._put(ops, kind, oid, row(objects[oid]))
        d.dirty.clear()

    def _pim(self, ops: list[JournalOp]) -> None:
        pim = self.tenant.pim
        dirty = pim.ctx.dirty
        if self._full("pim", pim.ctx.version):
            self._diff(
                ops, "entra.request", {f"{k}|{rid}": r for k, rs in pim.requests.items() for rid, r in rs.items()}
            )
            self._diff(ops, "entra.schedule", {
                f"{k}|{sid}": _schedule_row(s) for k, by_id in pim.schedules.by_kind.items() for sid, s in by_id.items()
            })  # fmt: skip
            self._diff(ops, "entra.approval", {k: _approval_row(a) for k, a in pim.approvals.by_id.items()})
            self._diff(ops, "entra.policy", {f"{g}|{r}": _plain(p) for (g, r), p in pim.policies.by_scope.items()})
            dirty.clear()
            return
        triples = {key for what, key in dirty if what == "triple"}
        for what, key in sorted(dirty):
            if what == "request":
                for kind, requests in pim.requests.items():
                    if key in requests:
                        self._put(ops, "entra.request", f"{kind}|{key}", requests[key])
            elif what == "approval" and key in pim.approvals.by_id:
                self._put(ops, "entra.approval", key, _approval_row(pim.approvals.by_id[key]))
            elif what == "policy":
                for (group_id, role), policy in pim.policies.by_scope.items():
                    if group_id == key:
                        self._put(ops, "entra.policy", f"{group_id}|{role}", _plain(policy))
        if triples:
            for kind, by_id in pim.schedules.by_kind.items():
                for sid, s in by_id.items():
                    if f"{s.principal_id}|{s.group_id}|{s.access_id}" in triples:
                        self._put(ops, "entra.schedule", f"{kind}|{sid}", _schedule_row(s))
        dirty.clear()

    def _jobs(self, ops: list[JournalOp], force: bool) -> None:
        jobs = self.tenant.jobs
        epoch = self.tenant.generation
        if self._full("jobs", tuple(sorted(jobs))):  # a job attached, or a reset: drop what jobs gone left
            for kind in ("entra.job", "entra.job.user", "entra.job.group", "entra.job.log", "entra.job.fastpath"):
                written = self._written.setdefault(kind, {})
                for key in [k for k in written if k.split("|", 1)[0] not in jobs]:
                    del written[key]
                    ops.append((kind, key, None))
            force = True
        for sp, job in jobs.items():
            if force:
                self._put(ops, "entra.job", sp, job_state.dump_job(job))
            cache = job.exporter
            if self._full(f"cache|{sp}", (job.id, cache.epoch)):
                self._diff(
                    ops, "entra.job.user", {f"{sp}|{k}": v for k, v in job_state.user_rows(job).items()}, f"{sp}|"
                )
                self._diff(
                    ops, "entra.job.group", {f"{sp}|{k}": v for k, v in job_state.group_rows(job).items()}, f"{sp}|"
                )
            else:
                for kind, oid in sorted(cache.changed):
                    table, row = (
                        ("entra.job.user", job_state.user_row)
                        if kind == "user"
                        else ("entra.job.group", job_state.group_row)
                    )
                    if (oid in cache.users) if kind == "user" else (oid in cache.groups):
                        self._put(ops, table, f"{sp}|{oid}", row(job, oid))
            cache.changed.clear()
            self._append(ops, "entra.job.log", f"{sp}|", (epoch, job.id), job.log.entries)
            self._append(ops, "entra.job.fastpath", f"{sp}|", (epoch, job.id), job.fast_path, job_state.fast_path_json)

    # --- reading ---------------------------------------------------------------------------------------------------
    def restore(self) -> None:
        """Load the saved tenant into ``tenant`` (which must be empty: fresh or just reset, no jobs); raise
        :class:`StateFormatError` for another format. Timers are armed by :meth:`arm_timers`, jobs attached by
        :meth:`restore_jobs`."""
        meta = {k: json.loads(v) for k, v in self.journal.load("entra.meta")}
        t = meta["tenant"]
        if t.get("format") != FORMAT:
            raise StateFormatError(
                f"the state file holds Entra state of format {t.get('format')!r}; this jitbox reads format {FORMAT}:"
                " start with a new --state file"
            )
        tenant = self.tenant
        with tenant.lock:
            tenant.generation = int(t["generation"])
            job_state.set_rng_state(tenant.rng, t["rng"])
            self._restore_directory()
            self._restore_pim()
            tenant.audit.entries[:] = [json.loads(v) for _, v in self._sorted("entra.audit")]
        self._prime()

    def _load(self, kind: str) -> list[tuple[str, Json]]:
        return [(k, json.loads(v)) for k, v in self.journal.load(kind)]

    def _sorted(self, kind: str, prefix: str = "") -> list[tuple[str, str]]:
        return sorted((k, v) for k, v in self.journal.load(kind) if k.startswith(prefix))

    def _restore_directory(self) -> None:
        d = self.tenant.directory
        for _, u in self._load("entra.user"):
            d.restore_user(User(**u))
        for k, g in self._load("entra.group"):
            d.groups[k] = Group(**g)
        for k, sp in self._load("entra.sp"):
            assignments = [AppRoleAssignment(**a) for a in sp.pop("assignments")]
            d.service_principals[k] = ServicePrincipal(**sp, assignments=assignments)
        for k, a in self._load("entra.app"):
            d.applications[k] = Application(**a)

    def _restore_pim(self) -> None:
        pim = self.tenant.pim
        for key, req in self._load("entra.request"):
            kind, rid = key.split("|", 1)
            pim.requests[kind][rid] = req
        for key, s in self._load("entra.schedule"):
            kind, sid = key.split("|", 1)
            pim.schedules.by_kind[kind][sid] = Schedule(**s)
        for k, a in self._load("entra.approval"):
            a["status"], a["review_result"] = StageStatus(a["status"]), ReviewResult(a["review_result"])
            pim.approvals.by_id[k] = Approval(**a)
        for key, p in self._load("entra.policy"):
            group_id, role = key.split("|", 1)
            pim.policies.by_scope[(group_id, role)] = Policy(**p)

    def saved_jobs(self) -> list[str]:
        """Return the enterprise application ids that had a provisioning job."""
        return [k for k, _ in self.journal.load("entra.job")]

    def restore_job(self, sp_id: str, attach: Callable[[str], Any]) -> None:
        """Attach a job to ``sp_id`` with ``attach(sp_id)`` (it returns the job) and load its saved state into it,
        timers re-armed."""
        state = dict(self._load("entra.job"))[sp_id]
        job = attach(sp_id)
        prefix = f"{sp_id}|"
        cut = len(prefix)
        users = {k[cut:]: json.loads(v) for k, v in self.journal.load("entra.job.user") if k.startswith(prefix)}
        groups = {k[cut:]: json.loads(v) for k, v in self.journal.load("entra.job.group") if k.startswith(prefix)}
        logs = [json.loads(v) for _, v in self._sorted("entra.job.log", prefix)]
        fast = [json.loads(v) for _, v in self._sorted("entra.job.fastpath", prefix)]
        try:
            job_state.load_job(job, state, users, groups, logs, fast)
        except ValueError as exc:
            raise StateFormatError(f"the state file's provisioning job cannot be read: {exc}") from None
        job_state.arm_job_timers(job, state)
        self._prime()

    def arm_timers(self) -> None:
        """Re-arm PIM's timers from the restored objects: assignment schedules' start and end, the expiry of
        approvals still undecided (due times already past fire on the clock's next run)."""
        pim = self.tenant.pim
        with self.tenant.lock:
            for s in pim.schedules.by_kind[ASSIGNMENT].values():
                if not s.removed:
                    pim.schedules.arm_timers(s)
            for approval in pim.approvals.by_id.values():
                if approval.status is StageStatus.IN_PROGRESS and approval.review_result is ReviewResult.NOT_REVIEWED:
                    pim.approvals.arm_expiry(approval)

    def _prime(self) -> None:
        """Take what the file holds as written (a restore put exactly that in memory), then write any difference,
        so later flushes write only later changes."""
        tenant = self.tenant
        self._written = {kind: dict(self.journal.load(kind)) for kind in KINDS}
        self._versions = {
            "directory": (tenant.generation, tenant.directory.version),
            "pim": (tenant.generation, tenant.pim.ctx.version),
            "jobs": (tenant.generation, tuple(sorted(tenant.jobs))),
        }
        self._appended = {"entra.audit": ((tenant.generation,), len(tenant.audit.entries))}
        for sp, job in tenant.jobs.items():
            self._versions[f"cache|{sp}"] = (tenant.generation, (job.id, job.exporter.epoch))
            epoch = (tenant.generation, job.id)
            self._appended[f"entra.job.log{sp}|"] = (epoch, len(job.log.entries))
            self._appended[f"entra.job.fastpath{sp}|"] = (epoch, len(job.fast_path))
        tenant.directory.dirty.clear()
        tenant.pim.ctx.dirty.clear()
        self.flush(force=True)
