"""Entitlement decisions: when does a portal session end, and may its user launch a permission set at T.

Every timing decision goes through :mod:`sim.rules`:

- portal session end — :func:`sim.rules.portal_session_end` (8 h default, 15 min – 90 days; a change applies only
  to new sessions) [UG-uis]; ending a portal session does not end role sessions [UG-endsess];
- may a signed-in user launch — :func:`sim.rules.launch_allowed` by entitlement mode (``signin_snapshot``
  [AWS-BLOG], ``launch_check`` [UG-revoke], ``cached_1h`` [UG23-auth]) on the user's recorded Identity Center
  entitlement intervals (group membership ∩ account assignment, or a direct user assignment);
- disabled/deleted users — :func:`sim.rules.disabled_user_may_launch` (switch
  :class:`scim_server.aws.instance.DisabledUserMode`) [UG-revoke][UG-idsrc][UG23-auth].
"""

from __future__ import annotations

import math

from sim.rules import Interval, disabled_user_may_launch, launch_allowed, portal_session_end
from sim.settings import Settings

from .assignments import AccountAssignments
from .directory import History
from .instance import DisabledUserMode, InstanceSettings
from .permission_sets import PermissionSet, PermissionSets
from .sessions import PortalSession

__all__ = ["Entitlements"]


class Entitlements:
    """Answers "until when is this portal session live" and "may its user launch this, at T"."""

    def __init__(
        self,
        config: InstanceSettings,
        history: History,
        assignments: AccountAssignments,
        permission_sets: PermissionSets,
    ) -> None:
        self._config = config
        self._history = history
        self._assignments = assignments
        self._permission_sets = permission_sets

    def intervals(self, user_id: str, account_id: str, ps_arn: str) -> list[Interval]:
        """Return when ``user_id`` was entitled to ``ps_arn`` in ``account_id``: direct assignments, and group
        assignments intersected with the user's recorded group memberships."""
        out: list[Interval] = []
        for a in self._assignments.rows:
            if a.start is None or a.account_id != account_id or a.permission_set_arn != ps_arn:
                continue
            if a.principal_type == "USER":
                if a.principal_id == user_id and a.end > a.start:
                    out.append(Interval(a.start, a.end))
                continue
            for m in self._history.intervals(user_id, a.principal_id):
                start, end = max(a.start, m.start), min(a.end, m.end)
                if end > start:
                    out.append(Interval(start, end))
        return out

    def _session_settings(self, session: PortalSession) -> Settings:
        return self._config.settings.model_copy(
            update={"portal_session": session.duration, "end_portal_sessions": session.ended_at is not None}
        )

    def session_end(self, session: PortalSession) -> float:
        """Return when ``session`` ends (:func:`sim.rules.portal_session_end`) [UG-uis][UG-endsess]."""
        ended = session.ended_at if session.ended_at is not None else math.inf
        # the rule caps sessions opened before the end; a logout in the very instant of sign-in also ends it
        return min(portal_session_end(session.signin, ended, self._session_settings(session)), ended)

    def is_live(self, session: PortalSession, t: float) -> bool:
        """Return True when ``session`` is open at ``t`` (signed in and not yet ended)."""
        return session.signin <= t < self.session_end(session)

    def may_launch(self, session: PortalSession, account_id: str, ps_arn: str, t: float) -> bool:
        """Return True when the user of ``session`` may launch ``ps_arn`` in ``account_id`` at ``t``.

        :func:`sim.rules.launch_allowed` on each entitlement interval (the user is entitled when any interval
        qualifies), then :func:`sim.rules.disabled_user_may_launch` for disabled/deleted users.
        """
        s = self._session_settings(session)
        ended = session.ended_at if session.ended_at is not None else math.inf
        intervals = self.intervals(session.user_id, account_id, ps_arn)
        if not any(launch_allowed(iv, session.signin, t, ended, s) for iv in intervals):
            return False
        cached = self._config.disabled_user_mode is DisabledUserMode.CACHED_1H
        return disabled_user_may_launch(session.signin, t, self._history.disabled_at(session.user_id), cached)

    def launchable(self, session: PortalSession, t: float) -> list[tuple[str, PermissionSet]]:
        """Return the (account, permission set) pairs the session's user may launch at ``t``, sorted."""
        pairs = []
        for account in self._assignments.account_ids():
            for ps in sorted(self._permission_sets.values(), key=lambda p: p.name):
                if self.may_launch(session, account, ps.arn, t):
                    pairs.append((account, ps))
        return pairs
