"""Closed-form worst cases for one settings combination.

The bound is built by running the rules of :mod:`sim.rules` on the worst-case path, so the formula and the
simulator share one implementation of each hop:

- the activation lasts ``activation_max`` [AWS-BLOG];
- PIM removes the Entra membership ``membership_latency_max`` after expiry [E-ACT];
- the removal just misses a regular cycle, so it waits a whole ``cycle_interval`` plus ``cycle_processing``
  [E-AWS] (zero with ``remove_idc_membership`` [UG-revoke]);
- the worst-case user signs in and launches at the last instant the entitlement mode permits
  (:func:`sim.rules.latest_launch`) and keeps the role session for ``permission_set_session`` [UG23-howto].

For the seed (PIM 1 h, portal 8 h, permission set 1 h, ``signin_snapshot``) this gives 1 h + 40 min 10 s + 8 h + 1 h
= 10 h 40 min 10 s; without the deprovisioning wait it is the seed post's 10-hour window [AWS-BLOG].

:func:`window_hops` and :func:`access_hops` break the worst case into its hops (the account ``jitbox check`` and
the figures give); :func:`time_to_access` is the worst case from request to access on one provisioning path.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

from sim import rules
from sim.durations import format_duration
from sim.settings import INITIAL_CYCLE_PER_OBJECT_MAX, EntitlementMode, Settings

__all__ = [
    "AccessPath",
    "Bound",
    "Hop",
    "access_hops",
    "drawn_cycle_conditions",
    "drawn_failures_worst",
    "mode_variants",
    "never_provisioned_share",
    "provisioning_warning",
    "removal_wait_max",
    "time_to_access",
    "window_hops",
    "worst_case",
]


class AccessPath(StrEnum):
    """Which provisioning path a worst-case time to access is measured on."""

    FAST = "fast"
    """The first 5 activations per 10 s per app: Entra membership + fast path (2–10 min) [E-AWS][E-PIMG]."""
    THROTTLED = "throttled"
    """The 6th and later activations in 10 s: Entra membership + next regular ~40-min cycle [E-AWS]."""


@dataclass(frozen=True)
class Bound:
    """The worst case for one settings combination; all values in seconds from the activation's start."""

    intended_window: float
    deprovision_wait: float
    idc_removal: float
    latest_launch: float
    effective_end: float
    overhang: float
    time_to_access_fast: float
    time_to_access_throttled: float
    time_to_access_with_approval: float | None
    seed_window: float
    """The seed post's figure: activation + portal + permission set, ignoring the deprovisioning wait."""
    never_provisioned_throttled: float = 0.0
    """Share (0–1) of throttled requesters whose activation ends before a cycle carries it: they never get access
    (:func:`never_provisioned_share`)."""

    def as_dict(self) -> dict[str, float | None]:
        """Return the bound as a JSON-ready mapping of seconds."""
        return asdict(self)

    def worst_time_to_access(self) -> float:
        """Return the longest time to access on either path, including the approval wait when approval is required."""
        if self.time_to_access_with_approval is not None:
            return self.time_to_access_with_approval
        return max(self.time_to_access_fast, self.time_to_access_throttled)

    def explain(self, s: Settings) -> str:
        """Return a one-line account of which hop contributes what to the effective window."""
        f = format_duration
        mode = s.entitlement_mode
        _activation, _deprovisioning, portal_hop, role_hop = window_hops(s, self)
        after = portal_hop.duration
        if mode is EntitlementMode.SIGNIN_SNAPSHOT:
            portal = f"+ {f(after)} portal session (sign-in snapshot)"
        elif mode is EntitlementMode.CACHED_1H:
            portal = f"+ {f(after)} entitlement cache (cached_1h)"
        else:
            portal = "+ 0 after removal (launch_check)"
        role = role_hop.duration
        return (
            f"worst case {f(self.effective_end)} = {f(self.intended_window)} activation "
            f"+ {f(self.deprovision_wait)} {_deprovisioning_name(s, '40-min ')} "
            f"{portal} + {f(role)} role session; overhang {f(self.overhang)} past the intended end"
        )


def drawn_cycle_conditions(s: Settings) -> tuple[bool, int]:
    """Return ``(quarantined, objects)``: the worst cycle conditions the simulator can draw under ``s`` — a
    quarantined job when ``removal_quarantine_probability`` > 0 [E-QUAR], and an initial cycle over
    ``initial_cycle_objects`` objects when ``initial_cycle_probability`` > 0 [E-WHEN]."""
    quarantined = s.removal_quarantine_probability > 0
    objects = s.initial_cycle_objects if s.initial_cycle_probability > 0 else 0
    return quarantined, objects


def drawn_failures_worst(s: Settings) -> tuple[rules.FailureKind, ...]:
    """Return the sequence of failed removal attempts, among those the simulator can run under ``s``, that delays
    the removal most (under the cycle conditions of :func:`drawn_cycle_conditions`): the ``failed_removals``
    assumed retryable failures [E-PLOGS], then (when ``removal_failure_probability`` > 0) ``removal_failures_max``
    drawn failures, each retryable or escrowed as ``removal_failure_escrow_share`` allows [E-PLOGS][E-QUAR]."""
    assumed = (rules.FailureKind.RETRYABLE,) * s.failed_removals
    m = s.removal_failures_max
    if s.removal_failure_probability <= 0 or m == 0:
        return assumed
    kinds = []
    if s.removal_failure_escrow_share < 1:
        kinds.append(rules.FailureKind.RETRYABLE)
    if s.removal_failure_escrow_share > 0:
        kinds.append(rules.FailureKind.ESCROW)
    quarantined, objects = drawn_cycle_conditions(s)
    sequences = (assumed + seq for seq in itertools.product(kinds, repeat=m))
    return max(sequences, key=lambda seq: removal_wait_max(s, seq, quarantined=quarantined, objects=objects))


def removal_wait_max(
    s: Settings, failures: Sequence[rules.FailureKind] = (), *, quarantined: bool = False, objects: int = 0
) -> float:
    """Return the longest wait from intended end to Identity Center removal under the stated conditions.

    PIM removes the Entra membership within ``membership_latency_max`` [E-ACT]; the first attempt waits for the
    next cycle (:func:`sim.rules.cycle_wait_max`, or a day in quarantine [E-QUAR]), plus up to 0.08 min per object
    when that cycle is the initial one over ``objects`` objects [E-WHEN]; each failed attempt in ``failures`` waits
    for the next cycle or the escrow retry (:func:`sim.rules.retried_removal`) [E-PLOGS][E-QUAR]. Zero with the
    ``remove_idc_membership`` countermeasure [UG-revoke].
    """
    if s.remove_idc_membership:
        return 0.0
    cycle = rules.quarantine_wait_max(s) if quarantined else rules.cycle_wait_max(s)
    first = s.membership_latency_max + cycle + objects * INITIAL_CYCLE_PER_OBJECT_MAX
    retry = rules.quarantine_wait_max(s) if quarantined else rules.removal_retry_wait_max(s)
    return rules.retried_removal(first, failures, lambda t: t + retry)


def worst_case(
    s: Settings,
    failures: Sequence[rules.FailureKind] | None = None,
    *,
    quarantined: bool = False,
    objects: int = 0,
) -> Bound:
    """Return the closed-form worst case for ``s``: no simulated activation under ``s`` exceeds it.

    ``failures`` are the failed removal attempts to assume; ``None`` means the worst the simulator can draw under
    ``s`` (:func:`drawn_failures_worst`). ``quarantined`` and ``objects`` state the other failure modes
    (:func:`removal_wait_max`); the ones the simulator can draw under ``s`` (:func:`drawn_cycle_conditions`) are
    always included.
    """
    start = 0.0
    intended_end = start + s.activation_max
    drawn_quarantine, drawn_objects = drawn_cycle_conditions(s)
    quarantined = quarantined or drawn_quarantine
    objects = max(objects, drawn_objects)
    failed = drawn_failures_worst(s) if failures is None else tuple(failures)
    removal = intended_end + removal_wait_max(s, failed, quarantined=quarantined, objects=objects)
    membership = rules.Interval(start, removal)
    launch = rules.latest_launch(membership, intended_end, s)
    end = rules.worst_effective_end(membership, intended_end, s)
    assert launch is not None and end is not None  # the membership interval is non-empty by construction
    fast = rules.propagation_wait_max(s, fast=True)
    throttled = rules.propagation_wait_max(s)
    return Bound(
        intended_window=s.activation_max,
        deprovision_wait=removal - intended_end,
        idc_removal=removal,
        latest_launch=launch,
        effective_end=end,
        overhang=end - intended_end,
        time_to_access_fast=fast,
        time_to_access_throttled=throttled,
        time_to_access_with_approval=(rules.approval_wait_max(s) + max(fast, throttled))
        if s.approval_required
        else None,
        seed_window=s.activation_max + s.portal_session + s.permission_set_session,
        never_provisioned_throttled=never_provisioned_share(s, AccessPath.THROTTLED),
    )


def never_provisioned_share(s: Settings, path: AccessPath) -> float:
    """Return the share (0–1) of requesters on ``path`` who never get access: their activation (and so their Entra
    membership) ends before provisioning carries it to Identity Center (:func:`sim.rules.idc_add_time`).

    Throttled: the add waits for the next regular cycle, uniformly 0 – ``cycle_interval`` away for requests
    arriving at random [E-AWS]; a cycle only carries a membership that still exists, so the share is
    ``(cycle_interval − activation_max) / cycle_interval`` when positive (30 min activation, 40-min cycle: 25 %).
    Fast path: the 2–10 min latency [E-AWS] against the activation (never, inside the documented 30 min minimum).
    Approval waits come before the activation starts [E-APPRV], so they do not eat into it.
    """
    if path is AccessPath.FAST:
        low, high = s.fast_path_latency_min, s.fast_path_latency_max
        if high <= s.activation_max:
            return 0.0
        return 1.0 if high <= low else min(1.0, (high - s.activation_max) / (high - low))
    return min(1.0, max(0.0, (s.cycle_interval - s.activation_max) / s.cycle_interval))


def provisioning_warning(s: Settings) -> str | None:
    """Return a warning when the activation is shorter than the worst throttled (or fast-path) time to access, so
    some requesters never get access; None when every requester is provisioned before the activation ends."""
    f = format_duration
    lines = []
    for path in (AccessPath.FAST, AccessPath.THROTTLED):
        share = never_provisioned_share(s, path)
        if share <= 0:
            continue
        what = "the 6th and later requests in 10 s" if path is AccessPath.THROTTLED else "fast-path requests"
        lines.append(
            f"WARNING activation {f(s.activation_max)} is shorter than the worst {path.value} time to access "
            f"{f(propagation_wait_max_path(s, path))}: about {share:.0%} of {path.value} requesters ({what}) never "
            "get access — their activation ends before Entra provisioning carries it [E-AWS]"
        )
    return "\n".join(lines) or None


def propagation_wait_max_path(s: Settings, path: AccessPath) -> float:
    """Return the worst time from activation start to access on ``path`` (no approval wait):
    :func:`sim.rules.propagation_wait_max`."""
    return rules.propagation_wait_max(s, path is AccessPath.FAST)


def mode_variants(s: Settings) -> list[Settings]:
    """Return ``s`` under each entitlement mode, in :class:`sim.settings.EntitlementMode` order (``s`` itself for
    its own mode); which mode AWS uses is UNCONFIRMED [AWS-BLOG][UG-revoke][UG23-auth]."""
    return [s if m is s.entitlement_mode else s.replace(entitlement_mode=m) for m in EntitlementMode]


@dataclass(frozen=True)
class Hop:
    """One hop of the worst-case path: its own length and the running total at its end (seconds)."""

    name: str
    duration: float
    end: float
    source: str


def _deprovisioning_name(s: Settings, cycle: str = "") -> str:
    """Return the deprovisioning hop's name, naming the failed removal attempts it assumes."""
    failed = drawn_failures_worst(s)
    quarantined, objects = drawn_cycle_conditions(s)
    if quarantined:
        cycle = "daily (quarantined) "
    extra = [f"initial cycle over {objects} objects"] if objects else []
    if s.remove_idc_membership:
        return f"deprovisioning (Entra removal + next {cycle}cycle)"
    escrowed = sum(k is rules.FailureKind.ESCROW for k in failed)
    retried = len(failed) - escrowed
    parts = extra + ([f"{retried} failed removal(s) retried next cycle"] if retried else [])
    parts += [f"{escrowed} escrowed"] if escrowed else []
    if not parts:
        return f"deprovisioning (Entra removal + next {cycle}cycle)"
    return f"deprovisioning (Entra removal + next {cycle}cycle + {', '.join(parts)})"


def window_hops(s: Settings, b: Bound | None = None) -> tuple[Hop, ...]:
    """Return the hops of the worst-case window, in order, with running totals from activation start."""
    b = b or worst_case(s)
    mode = s.entitlement_mode
    if mode is EntitlementMode.SIGNIN_SNAPSHOT:
        portal_name, portal_src = "portal session after removal (signin_snapshot)", "[AWS-BLOG][UG-uis]"
    elif mode is EntitlementMode.CACHED_1H:
        portal_name, portal_src = "entitlement cache after removal (cached_1h)", "[UG23-auth]"
    else:
        portal_name, portal_src = "launch after removal (launch_check)", "[UG-revoke]"
    if s.end_portal_sessions:
        portal_src += "[UG-endsess]"
    deprov_src = "[UG-revoke]" if s.remove_idc_membership else "[E-ACT][E-AWS]"
    failed = () if s.remove_idc_membership else drawn_failures_worst(s)
    quarantined, objects = (False, 0) if s.remove_idc_membership else drawn_cycle_conditions(s)
    if rules.FailureKind.RETRYABLE in failed:
        deprov_src += "[E-PLOGS]"
    if rules.FailureKind.ESCROW in failed or quarantined:
        deprov_src += "[E-QUAR]"
    if objects:
        deprov_src += "[E-WHEN]"
    role_src = "[UG23-howto][IAM-revoke]" if s.deny_tokens_before_expiry else "[UG23-howto]"
    return (
        Hop("PIM activation (activation_max)", b.intended_window, b.intended_window, "[AWS-BLOG][E-SET]"),
        Hop(_deprovisioning_name(s), b.deprovision_wait, b.idc_removal, deprov_src),
        Hop(portal_name, b.latest_launch - b.idc_removal, b.latest_launch, portal_src),
        Hop("role session (permission_set_session)", b.effective_end - b.latest_launch, b.effective_end, role_src),
    )


def access_hops(s: Settings, path: AccessPath) -> tuple[Hop, ...]:
    """Return the hops of the worst-case time to access on ``path``, with running totals from the request.

    The last hop ends at :func:`time_to_access`.
    """
    hops: list[Hop] = []
    approval = rules.approval_wait_max(s)
    if s.approval_required:
        hops.append(Hop("approval (approvers have up to 24 h)", approval, approval, "[E-APPRV]"))
    entra = approval + s.membership_latency_max
    hops.append(Hop("Entra group membership (membership_latency_max)", s.membership_latency_max, entra, "[E-ACT]"))
    total = time_to_access(s, path)
    if path is AccessPath.FAST:
        hops.append(Hop("fast-path provisioning (fast_path_latency_max)", s.fast_path_latency_max, total, "[E-AWS]"))
    else:
        wait = rules.cycle_wait_max(s)
        hops.append(Hop("next regular cycle (cycle_interval + processing)", wait, total, "[E-AWS][E-KNOWN]"))
    return tuple(hops)


def time_to_access(s: Settings, path: AccessPath) -> float:
    """Return the worst-case time from request to access in AWS on ``path`` (seconds):
    :func:`sim.rules.time_to_access_max`."""
    return rules.time_to_access_max(s, path is AccessPath.FAST)
