"""Failed SCIM calls: their classification, the escrow back-off, Retry-After retries and the quarantine.

Transient failures (429, 5xx, transport errors such as timeouts) are retried at the next cycle [E-PLOGS]; with the
UNCONFIRMED switch ``RetryPolicy.RETRY_AFTER`` after ``Retry-After`` on the clock when the header is present. Other 4xx put the object in escrow
([E-QUAR] 6 h, 12 h, 24 h, then every 24 h for 28 days; switch :class:`EscrowSchedule`). 401/403 quarantine the job
at once; escrow failures past the thresholds quarantine it too; in quarantine the cycle slows to once a day (switch
:class:`QuarantineMode`) and after 4 weeks the job is disabled [E-QUAR].

:class:`FailureHandler` keeps this state and decides; the job applies the decisions to its own status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pim_fake.directory import iso
from pim_fake.provisioning.options import EngineOptions, EscrowSchedule, QuarantineMode, RetryPolicy
from sim.clock import Clock, Timer
from sim.rules import escrow_retry_offset
from sim.settings import DAY, HOUR, QUARANTINE_CYCLE

__all__ = [
    "CallCounts",
    "EscrowEntry",
    "FailureHandler",
    "ObjectKey",
    "ScimFailure",
    "Verdict",
    "failure_for_status",
    "incompatible_response",
    "internal_failure",
    "iso_at",
    "missing_fields_failure",
    "transport_failure",
]

ObjectKey = tuple[str, str]
"""``("user" | "group", source object id)``."""


def iso_at(t: float) -> str | None:
    """Return the instant ``t`` (seconds since the epoch) as Graph's ISO 8601 UTC text."""
    return iso(datetime.fromtimestamp(t, tz=UTC))


class ScimFailure(Exception):
    """A failed SCIM call: HTTP ``status`` (0 for transport errors), Entra's error ``code``, and its class."""

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


def transport_failure(message: str) -> ScimFailure:
    """Return the transient failure for a request that got no response (a timeout, a refused connection)."""
    return ScimFailure(0, "Timeout", message, True, None, False)


def incompatible_response(message: str) -> ScimFailure:
    """Return the failure for a target answer the job cannot use (a 2xx body that is not JSON, a created resource
    without ``id``, a 3xx): ``SystemForCrossDomainIdentityManagementServiceIncompatible`` [E-PLOGS], escrowed like
    other non-transient failures (status 0: no HTTP error status)."""
    return ScimFailure(0, "SystemForCrossDomainIdentityManagementServiceIncompatible", message, False, None, False)


def internal_failure(exc: BaseException) -> ScimFailure:
    """Return the failure for an exception in jitbox's own export code: logged with its type (code
    ``InternalError``, jitbox's own) and retried at the next cycle like a transient failure, so it never stops the
    job."""
    return ScimFailure(0, "InternalError", f"{type(exc).__name__}: {exc}", True, None, False)


def missing_fields_failure(message: str) -> ScimFailure:
    """Return the failure of a user the source lacks a required attribute of (``MandatoryFieldsMissing``
    [E-PLOGS]); nothing was sent, so it is not transient: it waits in escrow like other non-transient failures."""
    return ScimFailure(0, "MandatoryFieldsMissing", message, False, None, False)


def failure_for_status(status: int, detail: str, retry_after: float | None, at_root: bool = False) -> ScimFailure:
    """Return the failure for an HTTP error ``status``: 429/5xx transient, 401/403 fatal, other 4xx escrowed.

    A 404 for a collection (``/Users``, ``/Groups``: ``at_root``) means the tenant URL is no SCIM endpoint — a
    "SCIM compliance issue" that quarantines the job like bad credentials [E-QUAR] (code
    ``SystemForCrossDomainIdentityManagementServiceIncompatible`` [E-PLOGS]); a 404 for one object stays in escrow.
    """
    if status == 404 and at_root:
        message = f"SCIM compliance issue: the SCIM endpoint answered 404 at its root. {detail}"
        return ScimFailure(
            status, "SystemForCrossDomainIdentityManagementServiceIncompatible", message, False, None, True
        )
    if status == 429:
        return ScimFailure(status, "TooManyRequests", detail, True, retry_after, False)
    if status >= 500:
        return ScimFailure(status, "InternalServerError", detail, True, retry_after, False)
    if status in (401, 403):
        return ScimFailure(status, "Unauthorized", detail, False, None, True)
    code = {409: "EntryConflict", 404: "SystemForCrossDomainIdentityManagementNotFound"}.get(
        status, "SystemForCrossDomainIdentityManagementBadRequest"
    )
    return ScimFailure(status, code, detail, False, None, False)


@dataclass
class CallCounts:
    """SCIM calls sent and failed (not counting transient failures) since the job's last fresh start."""

    total: int = 0
    failed: int = 0

    def reset(self) -> None:
        """Set both counts to zero."""
        self.total = self.failed = 0


@dataclass
class EscrowEntry:
    """One object in escrow: how often it failed, since when, when it is tried again and the last error."""

    failures: int
    first: float
    next_attempt: float
    error: str


class Verdict(Enum):
    """What a failure means for the job as a whole."""

    CONTINUE = "continue"
    """The object waits (retry timer, escrow or the next cycle); the job goes on."""
    QUARANTINE = "quarantine"
    """The credentials were refused: quarantine the job at once (``EncounteredQuarantineException``)."""
    DISABLE = "disable"
    """The object has been in escrow for ``escrow_max_age``: disable the job."""


class FailureHandler:
    """Escrows, retry timers and the quarantine record of one job."""

    def __init__(
        self,
        clock: Clock,
        options: EngineOptions,
        job_id: str,
        retry: Callable[[ObjectKey], None],
        counts: CallCounts,
    ) -> None:
        self.clock = clock
        self.options = options
        self.job_id = job_id
        self.retry = retry
        self.counts = counts
        self.escrow: dict[ObjectKey, EscrowEntry] = {}
        self.quarantine: dict[str, Any] | None = None
        self._timers: dict[ObjectKey, Timer] = {}
        self._attempts: dict[ObjectKey, int] = {}

    def succeeded(self, key: ObjectKey) -> None:
        """Take the object out of escrow and forget its Retry-After attempts."""
        self.escrow.pop(key, None)
        self._attempts.pop(key, None)

    def failed(self, key: ObjectKey, f: ScimFailure) -> Verdict:
        """Record a failure of the object ``key``: schedule its retry or escrow it; return what the job must do."""
        now = self.clock.time()
        if f.fatal:
            self.counts.failed += 1
            return Verdict.QUARANTINE
        if f.transient:
            count = self._attempts.get(key, 0) + 1
            self._attempts[key] = count
            if (
                self.options.retry_policy is RetryPolicy.RETRY_AFTER
                and f.retry_after is not None
                and count <= self.options.max_retry_after_attempts
                and key not in self._timers
            ):
                self._schedule_retry(key, now + f.retry_after, "scim-retry")
            return Verdict.CONTINUE
        self.counts.failed += 1
        entry = self.escrow.get(key)
        if entry is None:
            entry = EscrowEntry(0, now, now, f.code)
            self.escrow[key] = entry
        entry.failures += 1
        entry.error = f.code
        if now - entry.first >= self.options.escrow_max_age:
            self.escrow.pop(key, None)
            return Verdict.DISABLE
        entry.next_attempt = self.escrow_next(entry)
        if key not in self._timers:
            self._schedule_retry(key, entry.next_attempt, "escrow")
        return Verdict.CONTINUE

    def _schedule_retry(self, key: ObjectKey, at: float, kind: str) -> None:
        self._timers[key] = self.clock.call_at(at, lambda: self.retry(key), name=f"{kind}-{self.job_id}-{key[1]}")

    def retry_due(self, key: ObjectKey) -> None:
        """The retry timer of ``key`` fired: forget it (returns nothing)."""
        self._timers.pop(key, None)

    def escrow_next(self, entry: EscrowEntry) -> float:
        """Return when an escrowed object is tried next, per :class:`EscrowSchedule` [E-QUAR][QA 1278038]."""
        n = entry.failures
        if self.options.escrow_schedule is EscrowSchedule.DOCS:
            return entry.first + escrow_retry_offset(n)
        return self.clock.time() + min(DAY, 0.5 * HOUR * float(2 ** (n - 1)))

    def waiting(self, at: float) -> set[ObjectKey]:
        """Return the escrowed objects whose next attempt is after ``at`` (a cycle skips them)."""
        return {k for k, e in self.escrow.items() if e.next_attempt > at}

    def forget(self) -> None:
        """Drop the escrows and the quarantine record (a new target); timers and counts stay."""
        self.escrow.clear()
        self.quarantine = None

    def reset(self) -> None:
        """Cancel the retry timers and drop escrows, quarantine and call counts (a restart)."""
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()
        self.forget()
        self.counts.reset()

    # --- quarantine -----------------------------------------------------------------------------------------
    def enter_quarantine(self, reason: str, error: str) -> bool:
        """Record the start of a quarantine unless one is on; return True when this call started it."""
        if self.quarantine is not None:
            return False
        now = self.clock.time()
        self.quarantine = {
            "currentBegan": iso_at(now),
            "nextAttempt": None,
            "reason": reason,
            "seriesBegan": iso_at(now),
            "seriesCount": 0,
            "error": {"code": reason, "message": error, "tenantActionable": True},
            "_began": now,
            "_entered": now,
        }
        return True

    def threshold_breach(self) -> tuple[str, str] | None:
        """Return ``(reason, error)`` when escrow failures are past the quarantine thresholds [E-QUAR], else None."""
        o = self.options
        failed = self.counts.failed
        if self.quarantine is not None or failed < o.escrow_eval_min_failures:
            return None
        share = failed / max(1, self.counts.total)
        if share > o.escrow_proportion:
            return "EncounteredEscrowProportionThreshold", f"{share:.0%} of calls failed"
        if failed > o.escrow_total:
            return "EncounteredTotalEscrowThreshold", f"{failed} failures"
        return None

    def leaves_quarantine(self, failed: int) -> bool:
        """Return True when a quarantined job's cycle with ``failed`` failures ends the quarantine; then end it."""
        assert self.quarantine is not None
        if failed != 0 or self.quarantine.get("_entered") == self.clock.time():
            return False
        self.quarantine = None
        self.counts.reset()
        return True

    def quarantine_wait(self, cycle_interval: float) -> float | None:
        """Return the wait before the next quarantined cycle and note it in the record, or None when the job has
        been quarantined longer than ``quarantine_max_age`` (then it is disabled) [E-QUAR]."""
        q = self.quarantine
        assert q is not None
        now = self.clock.time()
        if now - q["_began"] > self.options.quarantine_max_age:
            return None
        q["seriesCount"] += 1
        if self.options.quarantine_mode is QuarantineMode.DAILY:
            wait = QUARANTINE_CYCLE
        else:
            wait = min(DAY, cycle_interval * (2 ** q["seriesCount"]))
        q["currentBegan"] = iso_at(now)
        q["nextAttempt"] = iso_at(now + wait)
        return wait
