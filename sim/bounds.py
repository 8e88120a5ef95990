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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sim import rules
from sim.durations import format_duration
from sim.settings import APPROVAL_TIMEOUT, EntitlementMode, Settings

__all__ = ["Bound", "worst_case"]


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

    def as_dict(self) -> dict[str, float | None]:
        """Return the bound as a JSON-ready mapping of seconds."""
        return asdict(self)

    def explain(self, s: Settings) -> str:
        """Return a one-line account of which hop contributes what to the effective window."""
        f = format_duration
        mode = s.entitlement_mode
        after = self.latest_launch - self.idc_removal
        if mode is EntitlementMode.SIGNIN_SNAPSHOT:
            portal = f"+ {f(after)} portal session (sign-in snapshot)"
        elif mode is EntitlementMode.CACHED_1H:
            portal = f"+ {f(after)} entitlement cache (cached_1h)"
        else:
            portal = "+ 0 after removal (launch_check)"
        role = self.effective_end - self.latest_launch
        return (
            f"worst case {f(self.effective_end)} = {f(self.intended_window)} activation "
            f"+ {f(self.deprovision_wait)} deprovisioning (Entra removal + next 40-min cycle) "
            f"{portal} + {f(role)} role session; overhang {f(self.overhang)} past the intended end"
        )


def worst_case(s: Settings) -> Bound:
    """Return the closed-form worst case for ``s``: no simulated activation under ``s`` exceeds it."""
    start = 0.0
    intended_end = start + s.activation_max
    removal = intended_end + rules.deprovision_wait_max(s)
    membership = rules.Interval(start, removal)
    launch = rules.latest_launch(membership, intended_end, s)
    end = rules.worst_effective_end(membership, intended_end, s)
    assert launch is not None and end is not None  # the membership interval is non-empty by construction
    fast = s.membership_latency_max + s.fast_path_latency_max
    throttled = s.membership_latency_max + s.cycle_interval + s.cycle_processing
    return Bound(
        intended_window=s.activation_max,
        deprovision_wait=removal - intended_end,
        idc_removal=removal,
        latest_launch=launch,
        effective_end=end,
        overhang=end - intended_end,
        time_to_access_fast=fast,
        time_to_access_throttled=throttled,
        time_to_access_with_approval=(APPROVAL_TIMEOUT + max(fast, throttled)) if s.approval_required else None,
        seed_window=s.activation_max + s.portal_session + s.permission_set_session,
    )
