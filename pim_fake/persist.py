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
from pim_fake.schedules import Schedule
from pim_fake.tenant import Tenant

__all__ = ["FORMAT", "EntraJournal", "StateFormatError", "saved_clock_time"]

FORMAT = 1
"""Version of the ``entra.*`` layout; a state file of another version is refused with :class:`StateFormatError`."""

Json = dict[str, Any]
Rows = dict[str, Any]


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

        ``force`` looks at the provisioning jobs too (call it after anything that may have run a job: a mutating
        request, a timer, a reset); the directory and PIM are looked at when their versions moved, the logs always
        (they are appended)."""
        tenant = self.tenant
        with self._lock, ExitStack() as stack:
            for job in list(tenant.jobs.values()):
                stack.enter_context(job._run)
            stack.enter_context(tenant.lock)
            ops: list[JournalOp] = []
            self._meta(ops)
            self._section(ops, "directory", tenant.directory.version, force, self._directory)
            self._section(ops, "pim", tenant.pim.ctx.version, force, self._pim)
            self._append(ops, "entra.audit", "", (tenant.generation,), tenant.audit.entries)
            self._jobs(ops, force)
            if ops:
                self.journal.put_many(ops)
                self.flushes += 1
        return len(ops)

    def _section(self, ops: list[JournalOp], name: str, version: Any, force: bool, rows: Callable[[], Any]) -> None:
        key = (self.tenant.generation, version)
        if not force and self._versions.get(name) == key:
            return
        self._versions[name] = key
        for kind, table in rows().items():
            self._diff(ops, kind, table)

    def _diff(self, ops: list[JournalOp], kind: str, table: Rows, prefix: str | None = None) -> None:
        """Append puts for the rows of ``table`` whose JSON changed and deletes for rows gone (only keys starting
        with ``prefix`` when given)."""
        written = self._written.setdefault(kind, {})
        for key, value in table.items():
            text = _dump(value)
            if written.get(key) != text:
                written[key] = text
                ops.append((kind, key, text))
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
        if seen_epoch != epoch or count > len(entries):
            written = self._written.setdefault(kind, {})
            for key in [k for k in written if k.startswith(prefix)]:
                del written[key]
                ops.append((kind, key, None))
            count = 0
        written = self._written.setdefault(kind, {})
        for i in range(count, len(entries)):
            key = f"{prefix}{i:09d}"
            written[key] = ""
            ops.append((kind, key, _dump(entries[i] if convert is None else convert(entries[i]))))
        self._appended[kind + prefix] = (epoch, len(entries))

    def _meta(self, ops: list[JournalOp]) -> None:
        t = self.tenant
        meta = {
            "tenant": {"format": FORMAT, "generation": t.generation, "rng": job_state.rng_state(t.rng)},
            "clock": {"now": t.clock.time(), "mode": t.clock.mode},
        }
        self._diff(ops, "entra.meta", meta)

    def _directory(self) -> dict[str, Rows]:
        d = self.tenant.directory
        return {
            "entra.user": {k: _plain(u) for k, u in d.users.items()},
            "entra.group": {k: _plain(g) for k, g in d.groups.items()},
            "entra.sp": {
                k: {**_plain(sp, ("assignments",)), "assignments": [_plain(a) for a in sp.assignments]}
                for k, sp in d.service_principals.items()
            },
            "entra.app": {k: _plain(a) for k, a in d.applications.items()},
        }

    def _pim(self) -> dict[str, Rows]:
        pim = self.tenant.pim
        requests = {f"{kind}|{rid}": req for kind, reqs in pim.requests.items() for rid, req in reqs.items()}
        schedules = {
            f"{kind}|{sid}": _plain(s, ("timers",)) for kind, by_id in pim.schedules.by_kind.items()
            for sid, s in by_id.items()
        }  # fmt: skip
        approvals = {
            k: {**_plain(a, ("timer", "status", "review_result")), "status": a.status.value,
                "review_result": a.review_result.value}
            for k, a in pim.approvals.by_id.items()
        }  # fmt: skip
        policies = {f"{g}|{r}": _plain(p) for (g, r), p in pim.policies.by_scope.items()}
        return {"entra.request": requests, "entra.schedule": schedules, "entra.approval": approvals,
                "entra.policy": policies}  # fmt: skip

    def _jobs(self, ops: list[JournalOp], force: bool) -> None:
        jobs = self.tenant.jobs
        epoch = self.tenant.generation
        if force or self._versions.get("jobs") != (epoch, sorted(jobs)):
            self._versions["jobs"] = (epoch, sorted(jobs))
            self._diff(ops, "entra.job", {sp: job_state.dump_job(job) for sp, job in jobs.items()})
            for sp, job in jobs.items():
                self._diff(ops, "entra.job.user", {f"{sp}|{k}": v for k, v in job_state.user_rows(job).items()}, sp)
                self._diff(ops, "entra.job.group", {f"{sp}|{k}": v for k, v in job_state.group_rows(job).items()}, sp)
        for sp, job in jobs.items():
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
        """Remember what the file holds after a restore (writing any difference), so later flushes write only later
        changes."""
        self._written.clear()
        self._versions.clear()
        self._appended.clear()
        ops: list[JournalOp] = []
        self._meta(ops)
        self._section(ops, "directory", self.tenant.directory.version, True, self._directory)
        self._section(ops, "pim", self.tenant.pim.ctx.version, True, self._pim)
        self._append(ops, "entra.audit", "", (self.tenant.generation,), self.tenant.audit.entries)
        self._jobs(ops, True)
        if ops:
            self.journal.put_many(ops)
