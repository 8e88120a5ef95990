"""A provisioning job as plain JSON and back (``jitbox serve --state``; :mod:`pim_fake.persist` stores it).

:func:`dump_job` returns the job's small state (status, watermark origin, counters, escrow, quarantine, the throttle,
the random streams and the due times of its pending timers) plus its two large tables, the target cache of users
and groups, as separate records; the provisioning log and the fast-path records are append-only lists the caller
stores entry by entry. :func:`load_job` puts all of it into a freshly attached job and re-arms its timers from the
saved due times: the recurring cycle (or a deferred initial cycle), fast-path exports not yet done and escrow /
Retry-After retries. A due time already past fires on the clock's next run (``jitbox serve`` runs it at once).

Not kept: the directory snapshot the last cycle read (Entra's watermark). The first cycle after a restart compares
every in-scope object with the target cache instead — the cache is kept, so it sends only the changes, like the
incremental cycle it is (never the initial cycle's matching of every object). A cycle whose export was waiting out
``cycle_processing`` (UNCONFIRMED, default 0) at the restart reads the directory again when it runs.
"""

from __future__ import annotations

import math
import random
from typing import Any

from pim_fake.provisioning.escrow import EscrowEntry, ObjectKey
from pim_fake.provisioning.job import FastPathRecord, ProvisioningJob
from pim_fake.provisioning.scim_client import TargetGroup, TargetUser

__all__ = [
    "FORMAT",
    "arm_job_timers",
    "dump_job",
    "fast_path_json",
    "group_row",
    "group_rows",
    "load_job",
    "rng_state",
    "set_rng_state",
    "user_row",
    "user_rows",
]

FORMAT = 1
"""Version of the job's JSON layout; a state file of another version is refused."""

Json = dict[str, Any]


def rng_state(rng: random.Random) -> list[Any]:
    """Return ``rng``'s state as JSON (restore with :func:`set_rng_state`)."""
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def set_rng_state(rng: random.Random, state: list[Any]) -> None:
    """Put a state from :func:`rng_state` back into ``rng``."""
    rng.setstate((int(state[0]), tuple(int(x) for x in state[1]), state[2]))


def _keys(keys: set[ObjectKey] | dict[ObjectKey, Any]) -> list[list[str]]:
    return sorted([k, v] for k, v in keys)


def _cycle_timer(job: ProvisioningJob) -> Json | None:
    """Return the kind and due time of the job's pending cycle timer, or None."""
    timer = job._cycle_timer
    if timer is None or timer.cancelled or not job.running:
        return None
    kind = "initial" if timer.name.startswith("initial-") else "export" if "-export-" in timer.name else "cycle"
    return {"kind": kind, "due": timer.due}


def dump_job(job: ProvisioningJob) -> Json:
    """Return the job's state (everything but the target cache, the log and the fast-path records) as JSON."""
    f = job.failures
    throttle = job.throttle
    return {
        "format": FORMAT,
        "id": job.id,
        "code": job.code,
        "state": job.state,
        "origin": job.origin,
        "cyclesRun": job.cycles_run,
        "nextCycle": job.next_cycle,
        "lastExecution": job.last_execution,
        "lastSuccess": job.last_success,
        "successiveFailures": job.successive_failures,
        "internalErrors": job.internal_errors,
        "lastInternal": job._last_internal,
        "rng": rng_state(job.rng),
        "ids": rng_state(job._ids),
        "throttle": {
            "admitted": list(throttle._admitted),
            "bucket": None if math.isinf(throttle._bucket) else throttle._bucket,
            "bucketCount": throttle._bucket_count,
        },
        "counts": {"total": job.counts.total, "failed": job.counts.failed},
        "pending": _keys(job._pending),
        "touched": _keys(job.exporter.touched),
        "staleGroups": sorted(job.exporter.stale_groups),
        "escrow": [[k[0], k[1], e.failures, e.first, e.next_attempt, e.error] for k, e in f.escrow.items()],
        "attempts": [[k[0], k[1], n] for k, n in f._attempts.items()],
        "retries": [
            [k[0], k[1], t.due, "escrow" if t.name.startswith("escrow-") else "scim-retry"]
            for k, t in f._timers.items()
            if not t.cancelled
        ],
        "quarantine": f.quarantine,
        "onDemand": list(job.on_demand._recent),
        "changes": [list(c) for c in job.view._changes],
        "cycleTimer": _cycle_timer(job),
    }


def user_row(job: ProvisioningJob, uid: str) -> list[Any]:
    """Return the target cache entry of the user ``uid``: ``[scim id, active, provisioned attributes]``."""
    u = job.users[uid]
    return [u.scim_id, u.active, list(u.attrs)]


def group_row(job: ProvisioningJob, gid: str) -> list[Any]:
    """Return the target cache entry of the group ``gid``: ``[scim id, sorted member source ids]``."""
    g = job.groups[gid]
    return [g.scim_id, sorted(g.members)]


def user_rows(job: ProvisioningJob) -> dict[str, list[Any]]:
    """Return the target cache of users by source id (:func:`user_row`)."""
    return {uid: user_row(job, uid) for uid in job.users}


def group_rows(job: ProvisioningJob) -> dict[str, list[Any]]:
    """Return the target cache of groups by source id (:func:`group_row`)."""
    return {gid: group_row(job, gid) for gid in job.groups}


def fast_path_json(record: FastPathRecord) -> Json:
    """Return one fast-path record as JSON."""
    return record.to_json()


def load_job(
    job: ProvisioningJob,
    state: Json,
    users: dict[str, list[Any]],
    groups: dict[str, list[Any]],
    logs: list[Json],
    fast_path: list[Json],
) -> None:
    """Put a state saved by :func:`dump_job` (and the tables and lists beside it) into ``job``; timers are not armed
    (:func:`arm_job_timers`). Raises ValueError when the state has another :data:`FORMAT`."""
    if state.get("format") != FORMAT:
        raise ValueError(f"provisioning job state format {state.get('format')!r} is not {FORMAT}")
    job.id = job.log.job_id = job.failures.job_id = str(state["id"])
    job.code, job.state = str(state["code"]), str(state["state"])
    job.origin, job.cycles_run, job.next_cycle = state["origin"], int(state["cyclesRun"]), state["nextCycle"]
    job.last_execution, job.last_success = state["lastExecution"], state["lastSuccess"]
    job.successive_failures, job.internal_errors = int(state["successiveFailures"]), int(state["internalErrors"])
    job._last_internal = str(state["lastInternal"])
    set_rng_state(job.rng, state["rng"])
    set_rng_state(job._ids, state["ids"])
    t = state["throttle"]
    job.throttle._admitted.extend(float(x) for x in t["admitted"])
    job.throttle._bucket = -math.inf if t["bucket"] is None else t["bucket"]
    job.throttle._bucket_count = int(t["bucketCount"])
    job.counts.total, job.counts.failed = int(state["counts"]["total"]), int(state["counts"]["failed"])
    job._pending = {(k, v) for k, v in state["pending"]}
    job.exporter.touched = {(k, v) for k, v in state["touched"]}
    job.exporter.stale_groups = set(state["staleGroups"])
    job.exporter.users = {uid: TargetUser(r[0], bool(r[1]), tuple(r[2])) for uid, r in users.items()}
    job.exporter.groups = {gid: TargetGroup(r[0], set(r[1])) for gid, r in groups.items()}
    f = job.failures
    f.escrow = {(e[0], e[1]): EscrowEntry(int(e[2]), float(e[3]), float(e[4]), str(e[5])) for e in state["escrow"]}
    f._attempts = {(a[0], a[1]): int(a[2]) for a in state["attempts"]}
    f.quarantine = state["quarantine"]
    job.on_demand._recent = [float(x) for x in state["onDemand"]]
    job.view._changes = [(float(c[0]), str(c[1]), str(c[2]), bool(c[3])) for c in state["changes"]]
    job.log.entries[:] = logs
    job.fast_path[:] = [
        FastPathRecord(r["userId"], r["groupId"], float(r["at"]), bool(r["fast"]), float(r["latency"]))
        for r in fast_path
    ]


def arm_job_timers(job: ProvisioningJob, state: Json) -> None:
    """Re-arm the timers of a job loaded by :func:`load_job` from ``state``'s due times: the cycle (kind
    ``initial``, ``cycle`` or ``export``), the fast-path exports still to come and the escrow / Retry-After retries."""
    clock = job.clock
    now = clock.time()
    timer = state.get("cycleTimer")
    if timer is not None and job.running:
        due = float(timer["due"])
        job.next_cycle = due
        if timer["kind"] == "initial":
            job._cycle_timer = clock.call_at(
                due, lambda: job._guarded_cycle(initial=True), name=f"initial-cycle-{job.id}"
            )
        elif timer["kind"] == "export":  # the snapshot it would export is gone: read the directory when it runs
            job._cycle_timer = clock.call_at(
                due, lambda: job._guarded_cycle(started=due), name=f"cycle-export-{job.id}"
            )
        else:
            job._cycle_timer = clock.call_at(
                due, lambda: job._guarded(lambda: job._cycle_begin(due)), name=f"cycle-{job.id}"
            )
    for record in job.fast_path:
        if record.fast and record.at + record.latency > now:
            _arm_fast(job, record)
    for kind, oid, due, what in state["retries"]:
        key: ObjectKey = (str(kind), str(oid))
        job.failures._schedule_retry(key, float(due), str(what))


def _arm_fast(job: ProvisioningJob, record: FastPathRecord) -> None:
    user_id, group_id = record.user_id, record.group_id
    job.clock.call_at(
        record.at + record.latency,
        lambda: job._survive("fast path", lambda: job._fast(user_id, group_id)),
        name=f"fast-path-{job.id}-{user_id}",
    )
