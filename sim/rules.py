"""The documented timing rules of one JIT activation, each in exactly one place.

Used by the simulator (``sim.engine``, ``sim.bounds``, the vectorised sweep path) and by the fakes
(``pim_fake`` schedules provisioning with :class:`FastPathThrottle` and :func:`next_cycle_after`; ``scim_server``
decides launches with :func:`launch_allowed` and :func:`role_session_end`). Times are seconds on one axis (the
simulator uses t = 0 at scenario start; the fakes pass Unix seconds from their clock) — every function here is
translation-invariant except :func:`next_cycle_after`, whose ``phase`` is on the caller's axis.

Sources (tags in ``../shared/reference/``):

- fast path: first 5 activations per 10 s per enterprise app reach AWS in 2–10 min; the 6th and later wait for the
  next regular cycle [E-AWS][E-PIMG][AWS-BLOG];
- regular incremental cycle about every 40 min; removals/deactivations only there [E-AWS];
- PIM adds/removes the Entra membership "within seconds" [E-ACT];
- portal session 15 min – 90 days (default 8 h) [UG-uis]; permission-set session 1–12 h (default 1 h)
  [UG23-howto]; ending a portal session does not end role sessions [UG-endsess];
- entitlement modes: ``signin_snapshot`` [AWS-BLOG], ``launch_check`` [UG-revoke], ``cached_1h`` [UG23-auth];
- countermeasures: end portal sessions [UG-endsess], deny on ``aws:TokenIssueTime`` [IAM-revoke], remove the
  Identity Center membership directly [UG-revoke];
- failure modes: a failed removal attempt (429, 5xx, timeout) is retried on the next cycle [E-PLOGS]; other
  failures go to escrow (6 h, 12 h, 24 h, then daily for 28 days) [E-QUAR]; a quarantined job runs one cycle a
  day [E-QUAR]; cycles run only "approximately" every 40 min (``cycle_jitter``, UNCONFIRMED magnitude) and the
  initial cycle takes up to 0.08 min per object [E-WHEN]; legacy CLI profiles keep a fixed 8 h session
  [SDK-ssocred].
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sim.settings import (
    APPROVAL_TIMEOUT,
    ENTITLEMENT_CACHE,
    ESCROW_RETRIES,
    LEGACY_CLI_SESSION,
    QUARANTINE_CYCLE,
    EntitlementMode,
    Settings,
    WindowMode,
)

__all__ = [
    "PHI",
    "FailureKind",
    "FastPathThrottle",
    "Interval",
    "approval_expired",
    "approval_wait_max",
    "cycle_offset",
    "cycle_wait_max",
    "deprovision_wait_max",
    "disabled_user_may_launch",
    "escrow_retry_offset",
    "fast_path_admission_time",
    "idc_add_time",
    "idc_membership",
    "idc_remove_time",
    "is_member",
    "last_cache_refresh",
    "latest_launch",
    "launch_allowed",
    "next_cycle_after",
    "portal_session_end",
    "portal_session_length",
    "propagation_wait_max",
    "quarantine_wait_max",
    "removal_retry_wait_max",
    "retried_removal",
    "role_session_allowed",
    "role_session_end",
    "time_to_access_max",
    "worst_effective_end",
    "worst_end_after",
]


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open interval ``[start, end)`` of Identity Center group membership."""

    start: float
    end: float

    def contains(self, t: float) -> bool:
        """Return True when ``start <= t < end``."""
        return self.start <= t < self.end


# --- Entra provisioning --------------------------------------------------------------------------------


class FastPathThrottle:
    """Per-enterprise-app PIM fast path: ``limit`` activations per ``window`` seconds [E-AWS][E-PIMG].

    ``admit(t)`` returns True when the activation at ``t`` takes the fast path (reaches AWS in 2–10 min) and
    False when it must wait for the next regular cycle. Window semantics are UNCONFIRMED and switchable
    (:class:`sim.settings.WindowMode`): ``sliding`` admits at most ``limit`` in any ``window``; ``fixed`` admits the
    first ``limit`` of each aligned window. Calls must come in non-decreasing ``t``.
    """

    __slots__ = ("_admitted", "_bucket", "_bucket_count", "limit", "mode", "window")

    def __init__(self, limit: int = 5, window: float = 10.0, mode: WindowMode = WindowMode.SLIDING) -> None:
        self.limit = limit
        self.window = window
        self.mode = mode
        self._admitted: deque[float] = deque()
        self._bucket = -math.inf
        self._bucket_count = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> FastPathThrottle:
        """Return a throttle configured from ``settings``."""
        return cls(settings.fast_path_limit, settings.fast_path_window, settings.fast_path_window_mode)

    def admit(self, t: float) -> bool:
        """Record an activation at ``t``; return True if it takes the fast path."""
        if self.mode is WindowMode.FIXED:
            bucket = math.floor(t / self.window)
            if bucket != self._bucket:
                self._bucket, self._bucket_count = bucket, 0
            if self._bucket_count < self.limit:
                self._bucket_count += 1
                return True
            return False
        admitted = self._admitted
        while admitted and admitted[0] <= t - self.window:
            admitted.popleft()
        if len(admitted) < self.limit:
            admitted.append(t)
            return True
        return False

    def admit_many(self, times: list[float]) -> list[bool]:
        """Record activations at ``times`` (non-decreasing) in one linear pass; return :meth:`admit`'s answers.

        Sliding windows need no queue here: the admitted times only grow, so an add is admitted exactly when fewer
        than ``limit`` adds were admitted so far or the ``limit``-th most recent admission left the window
        (``<= t - window``) — one comparison per add, about ten times faster than :meth:`admit` per call.
        """
        if self.mode is WindowMode.FIXED:
            return [self.admit(t) for t in times]
        limit, window = self.limit, self.window
        if limit <= 0:
            return [False] * len(times)
        taken = list(self._admitted)
        n = len(taken)
        take, out = taken.append, [False] * len(times)
        for i, t in enumerate(times):
            if n < limit or taken[n - limit] <= t - window:
                take(t)
                n += 1
                out[i] = True
        self._admitted = deque(taken[-limit:])
        return out


PHI = (math.sqrt(5.0) - 1.0) / 2.0
"""The golden-ratio fraction that spreads the cycle offsets of :func:`cycle_offset` evenly over ``[0, jitter)``."""


def cycle_offset(k: float, jitter: float) -> float:
    """Return how late regular cycle ``k`` starts: ``jitter * frac((k + 1) * PHI)``, in ``[0, jitter)``.

    The cycle runs "approximately" every 40 minutes [E-AWS]; how much it varies is UNCONFIRMED, so the variation is
    a switch (``cycle_jitter``, default 0) and a fixed, seed-independent pattern that the simulator and the fake
    share: gaps between cycles range over ``interval ± jitter``.
    """
    if jitter <= 0:
        return 0.0
    return jitter * (((k + 1.0) * PHI) % 1.0)


def fast_path_admission_time(activation_start: float) -> float:
    """Return the instant the fast-path throttle counts an activation at: its start.

    Microsoft counts "the first five users within a 10-second period activating their group membership"
    [E-AWS][E-PIMG] — users *activating*, so the count is taken when PIM activates the assignment, not when Entra
    later adds the member. The one admission rule for the simulator (engine and vector path) and the fake
    (``pim_fake.provisioning``): each feeds this instant to :meth:`FastPathThrottle.admit`.
    """
    return activation_start


def next_cycle_after(t: float, interval: float, phase: float = 0.0, jitter: float = 0.0) -> float:
    """Return the start of the first regular incremental cycle strictly after ``t``.

    Cycles start at ``phase + k * interval + cycle_offset(k, jitter)`` (k integer), about every 40 minutes
    [E-AWS][E-SCIM]. A change made exactly at a cycle's start is picked up by the next one. ``jitter`` must be
    shorter than ``interval`` (so cycles keep their order).
    """
    k = math.floor((t - phase) / interval)
    # the rounded quotient can put k one off at the edges (t - phase underflows to -0.0 for a phase of 5e-324):
    # step it so that phase + k * interval <= t < phase + (k + 1) * interval
    if phase + k * interval > t:
        k -= 1
    elif phase + (k + 1) * interval <= t:
        k += 1
    if jitter <= 0:  # cycle_offset(k, 0) is 0.0: the same sum without the call (the common case)
        return phase + (k + 1) * interval + 0.0
    late = phase + k * interval + cycle_offset(k, jitter)
    if late > t:
        return late
    k += 1
    return phase + k * interval + cycle_offset(k, jitter)


class FailureKind(StrEnum):
    """How a failed removal attempt (a SCIM ``PATCH /Groups`` that fails) is retried."""

    RETRYABLE = "retryable"
    """429, 5xx, timeouts: "automatically retried in 40 minutes", i.e. on the next cycle [E-PLOGS]."""
    ESCROW = "escrow"
    """Any other failure: escrow, retried 6 h, 12 h, 24 h after the first failure, then every 24 h [E-QUAR]."""


def escrow_retry_offset(n: int) -> float:
    """Return how long after an object's first escrowed failure its ``n``-th retry runs (n >= 1): 6 h, 12 h, 24 h,
    then every 24 h [E-QUAR] (the fake's ``EscrowSchedule.DOCS``)."""
    if n <= len(ESCROW_RETRIES):
        return ESCROW_RETRIES[n - 1]
    return ESCROW_RETRIES[-1] * (n - len(ESCROW_RETRIES) + 1)


def retried_removal(
    first_attempt: float, failures: Sequence[FailureKind], next_attempt: Callable[[float], float]
) -> float:
    """Return when a removal that first runs at ``first_attempt`` and fails ``failures`` (in order) succeeds.

    A retryable failure waits for the next cycle's attempt (``next_attempt(t)``, the first cycle's SCIM call after
    ``t``) [E-PLOGS]; an escrowed failure waits for the escrow retry ``escrow_retry_offset(n)`` after the first
    escrowed failure [E-QUAR] (at once when that instant is already past). Non-decreasing in ``first_attempt``
    and in ``next_attempt``, so :mod:`sim.bounds` gets its worst case by passing the longest cycle wait.
    """
    t = first_attempt
    escrow_first: float | None = None
    escrowed = 0
    for kind in failures:
        if kind is FailureKind.RETRYABLE:
            t = next_attempt(t)
            continue
        if escrow_first is None:
            escrow_first = t
        escrowed += 1
        t = max(t, escrow_first + escrow_retry_offset(escrowed))
    return t


def removal_retry_wait_max(s: Settings) -> float:
    """Return the longest wait from a failed attempt to the next cycle's attempt: a cycle gap (``cycle_interval`` +
    ``cycle_jitter``) plus ``cycle_processing`` [E-PLOGS][E-AWS]."""
    return s.cycle_interval + s.cycle_jitter + s.cycle_processing


def quarantine_wait_max(s: Settings) -> float:
    """Return the longest wait for a quarantined job to carry a change: one cycle a day [E-QUAR], plus
    ``cycle_processing``."""
    return QUARANTINE_CYCLE + s.cycle_processing


def idc_add_time(entra_add: float, entra_remove: float, fast: bool, fast_latency: float, s: Settings) -> float | None:
    """Return when Identity Center gains the membership, or None if it never does.

    Fast path: ``fast_latency`` (2–10 min) after the Entra add [E-AWS]; otherwise the next regular cycle after the
    add plus ``cycle_processing`` [E-AWS]. A regular cycle that runs before the fast path lands also carries the
    add (whichever is first wins). A cycle only carries the add if the user is still an Entra member when it
    runs (an add and a remove between two cycles cancel out); likewise the fast path checks membership when it
    runs.
    """
    cycle = next_cycle_after(entra_add, s.cycle_interval, s.cycle_phase, s.cycle_jitter)
    by_cycle = cycle + s.cycle_processing if cycle < entra_remove else math.inf
    by_fast = entra_add + fast_latency if fast and entra_add + fast_latency < entra_remove else math.inf
    best = min(by_cycle, by_fast)
    return None if math.isinf(best) else best


def idc_remove_time(
    entra_remove: float,
    intended_end: float,
    s: Settings,
    failures: Sequence[FailureKind] = (),
    *,
    quarantined: bool = False,
    initial_delay: float = 0.0,
) -> float:
    """Return when Identity Center loses the membership.

    Removal is not accelerated: the next regular cycle after the Entra removal, plus ``cycle_processing``
    [E-AWS]; each failed attempt in ``failures`` pushes it on (:func:`retried_removal`) [E-PLOGS][E-QUAR]. A
    ``quarantined`` job runs one cycle a day (cycles at ``cycle_phase + k * 24 h``) [E-QUAR]; ``initial_delay`` is
    how much longer the first attempt takes because it falls in an initial cycle (0.01 – 0.08 min per object
    [E-WHEN]). With the ``remove_idc_membership`` countermeasure the JIT tooling deletes the membership directly at
    the intended end [UG-revoke], whichever comes first.
    """
    interval, jitter = (QUARANTINE_CYCLE, 0.0) if quarantined else (s.cycle_interval, s.cycle_jitter)

    by_cycle = next_cycle_after(entra_remove, interval, s.cycle_phase, jitter) + s.cycle_processing + initial_delay
    if failures:

        def cycle_attempt(t: float) -> float:
            return next_cycle_after(t, interval, s.cycle_phase, jitter) + s.cycle_processing

        by_cycle = retried_removal(by_cycle, failures, cycle_attempt)
    return min(by_cycle, intended_end) if s.remove_idc_membership else by_cycle


def idc_membership(
    entra_add: float,
    entra_remove: float,
    intended_end: float,
    fast: bool,
    fast_latency: float,
    s: Settings,
    failures: Sequence[FailureKind] = (),
    *,
    quarantined: bool = False,
    initial_delay: float = 0.0,
) -> Interval | None:
    """Return the Identity Center membership interval, or None when the membership never reaches it (removal as
    :func:`idc_remove_time`)."""
    start = idc_add_time(entra_add, entra_remove, fast, fast_latency, s)
    if start is None:
        return None
    end = idc_remove_time(entra_remove, intended_end, s, failures, quarantined=quarantined, initial_delay=initial_delay)
    return Interval(start, end) if end > start else None


def cycle_wait_max(s: Settings) -> float:
    """Return the longest wait for a regular cycle to carry a change: a whole cycle gap (the change just missed a
    cycle): ``cycle_interval`` + ``cycle_jitter``, plus ``cycle_processing`` [E-AWS]."""
    return s.cycle_interval + s.cycle_jitter + s.cycle_processing


def propagation_wait_max(s: Settings, fast: bool = False) -> float:
    """Return the longest time from a PIM change (activation start or end) to the matching Identity Center change.

    PIM applies the Entra membership change within ``membership_latency_max`` [E-ACT]; an add on the fast path
    then reaches AWS within ``fast_path_latency_max`` [E-AWS][E-PIMG]; anything else (every removal, throttled adds)
    waits up to :func:`cycle_wait_max` [E-AWS].
    """
    if fast:
        return s.membership_latency_max + s.fast_path_latency_max
    return s.membership_latency_max + cycle_wait_max(s)


def deprovision_wait_max(s: Settings) -> float:
    """Return the longest wait from intended end to Identity Center removal.

    :func:`propagation_wait_max` on the regular cycle (removals are not accelerated [E-AWS]); zero with the
    ``remove_idc_membership`` countermeasure [UG-revoke].
    """
    if s.remove_idc_membership:
        return 0.0
    return propagation_wait_max(s)


def approval_wait_max(s: Settings) -> float:
    """Return the longest an activation waits for its approval: 24 h when ``approval_required`` [E-APPRV], else 0."""
    return APPROVAL_TIMEOUT if s.approval_required else 0.0


def time_to_access_max(s: Settings, fast: bool) -> float:
    """Return the worst-case time from request to access in AWS on the fast (``fast``) or throttled path.

    :func:`approval_wait_max` + :func:`propagation_wait_max` [E-APPRV][E-ACT][E-AWS].
    """
    return approval_wait_max(s) + propagation_wait_max(s, fast)


def approval_expired(approver_delay: float) -> bool:
    """Return True when an approval that takes ``approver_delay`` seconds comes too late (24 h) [E-APPRV]."""
    return approver_delay >= APPROVAL_TIMEOUT


# --- Identity Center portal and role sessions ----------------------------------------------------------


def is_member(membership: Interval | None, t: float) -> bool:
    """Return True when the user is an Identity Center member at ``t``."""
    return membership is not None and membership.contains(t)


def portal_session_length(s: Settings) -> float:
    """Return how long a user's session lets them launch: ``portal_session`` [UG-uis], or at least 8 h for users of
    the legacy non-refreshable CLI profile (switch ``legacy_cli``) [SDK-ssocred][UG23-sess]."""
    return max(s.portal_session, LEGACY_CLI_SESSION) if s.legacy_cli else s.portal_session


def _sessions_ended_at_expiry(s: Settings) -> bool:
    """Return True when ``end_portal_sessions`` cuts the session: deleting portal sessions [UG-endsess] is not
    documented to revoke a legacy CLI token, so with ``legacy_cli`` it is assumed not to (UNCONFIRMED, conservative)."""
    return s.end_portal_sessions and not s.legacy_cli


def portal_session_end(signin: float, intended_end: float, s: Settings) -> float:
    """Return when a portal session started at ``signin`` ends.

    :func:`portal_session_length` after sign-in [UG-uis][SDK-ssocred]; with ``end_portal_sessions`` the JIT tooling
    deletes sessions that are open at the intended end [UG-endsess].
    """
    end = signin + portal_session_length(s)
    if _sessions_ended_at_expiry(s) and signin < intended_end:
        end = min(end, intended_end)
    return end


def last_cache_refresh(signin: float, t: float) -> float:
    """Return the latest entitlement-cache refresh at or before ``t`` for a session started at ``signin``.

    Refreshes happen every hour after sign-in [UG23-auth].
    """
    return signin + math.floor((t - signin) / ENTITLEMENT_CACHE) * ENTITLEMENT_CACHE


def launch_allowed(membership: Interval | None, signin: float, launch: float, intended_end: float, s: Settings) -> bool:
    """Return True when a user who signed in at ``signin`` may launch the permission set at ``launch``.

    The launch must fall inside the portal session (:func:`portal_session_end`). Then, by entitlement mode:
    ``signin_snapshot`` — member at sign-in [AWS-BLOG]; ``launch_check`` — member at launch [UG-revoke];
    ``cached_1h`` — member at the last hourly refresh [UG23-auth].
    """
    if not signin <= launch < portal_session_end(signin, intended_end, s):
        return False
    mode = s.entitlement_mode
    if mode is EntitlementMode.SIGNIN_SNAPSHOT:
        return is_member(membership, signin)
    if mode is EntitlementMode.LAUNCH_CHECK:
        return is_member(membership, launch)
    return is_member(membership, last_cache_refresh(signin, launch))


def latest_launch(membership: Interval | None, intended_end: float, s: Settings) -> float | None:
    """Return the supremum of launch times any user could achieve, or None when no launch is possible.

    The worst-case user signs in at the last instant the mode lets them in and launches at the last permitted
    instant. With removal at ``r = membership.end`` and intended end ``e``:

    - ``signin_snapshot``: sign in just before ``r``, launch just before the portal session ends: ``r + portal``
      (capped at ``e`` when ``end_portal_sessions`` and ``r <= e``) [AWS-BLOG];
    - ``launch_check``: just before ``r`` [UG-revoke];
    - ``cached_1h``: a cache refresh just before ``r`` keeps the entitlement one more hour (or until the portal
      session ends): ``r + min(1 h, portal)`` [UG23-auth].
    """
    if membership is None:
        return None
    r = membership.end
    mode = s.entitlement_mode
    if mode is EntitlementMode.LAUNCH_CHECK:
        return r
    portal = portal_session_length(s)
    tail = portal if mode is EntitlementMode.SIGNIN_SNAPSHOT else min(ENTITLEMENT_CACHE, portal)
    end = r + tail
    if _sessions_ended_at_expiry(s) and r <= intended_end:
        end = min(end, intended_end)
    return end


def role_session_end(launch: float, intended_end: float, s: Settings) -> float:
    """Return when a role session launched at ``launch`` stops working.

    ``permission_set_session`` after launch [UG23-howto]; removing membership or ending the portal session does
    not end it [UG-endsess][TEAM-sec]. With ``deny_tokens_before_expiry`` a deny on ``aws:TokenIssueTime`` ends
    sessions issued before the intended end at the intended end [IAM-revoke].
    """
    end = launch + s.permission_set_session
    if s.deny_tokens_before_expiry and launch < intended_end:
        end = min(end, intended_end)
    return end


def worst_effective_end(membership: Interval | None, intended_end: float, s: Settings) -> float | None:
    """Return the latest instant any user could still act in AWS, or None when access never arrived."""
    launch = latest_launch(membership, intended_end, s)
    return None if launch is None else worst_end_after(launch, intended_end, s)


def worst_end_after(latest: float, intended_end: float, s: Settings) -> float:
    """Return the latest instant a user could still act in AWS when their last launch is the supremum ``latest``
    (:func:`latest_launch`): the role session after it (:func:`role_session_end`) [UG23-howto][IAM-revoke]."""
    # ``latest`` is a supremum: real launches happen strictly before it, so a launch "at" the intended end was
    # issued before it and the token-issue-time deny still applies.
    if s.deny_tokens_before_expiry and latest <= intended_end:
        return min(latest + s.permission_set_session, intended_end)
    return role_session_end(latest, intended_end, s)


def role_session_allowed(
    launch: float, t: float, intended_end: float, s: Settings, user_deny_from: float | None = None
) -> bool:
    """Return True when a role session launched at ``launch`` may still act at ``t``.

    The session works from ``launch`` until :func:`role_session_end` (permission-set duration, cut by the
    ``aws:TokenIssueTime`` deny when ``deny_tokens_before_expiry``) [UG23-howto][IAM-revoke]. A per-user deny on
    ``identitystore:userId`` (SCP or permission-set policy) placed at ``user_deny_from`` stops every session of
    that user from then on, whenever it was issued [UG-denypol][UG-revoke].
    """
    if not launch <= t < role_session_end(launch, intended_end, s):
        return False
    return user_deny_from is None or t < user_deny_from


def disabled_user_may_launch(signin: float, launch: float, disabled_at: float | None, cached: bool) -> bool:
    """Return True when a user disabled or deleted at ``disabled_at`` may still start a role session at ``launch``.

    Current docs: a user with an active portal session "can continue to assume new roles until you remove their
    access" (``cached=False``) [UG-revoke][UG-idsrc]. 2023 docs: sign-in sessions are cached for one hour, so new
    role sessions work only while the last hourly refresh (:func:`last_cache_refresh`) predates the disable
    (``cached=True``) [UG23-auth]. Which one AWS does today is UNCONFIRMED.
    """
    if disabled_at is None or not cached:
        return True
    return last_cache_refresh(signin, launch) < disabled_at
