"""Countermeasures against role sessions that outlive an activation, and "may this role session still act at T".

- a deny on ``aws:TokenIssueTime`` before a cutoff ends role sessions issued earlier [IAM-revoke];
- a per-user deny on ``identitystore:userId`` ends everything the user does from a time on [UG-denypol].

Decisions go through :func:`sim.rules.role_session_end` and :func:`sim.rules.role_session_allowed`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sim.clock import Clock
from sim.rules import role_session_allowed, role_session_end
from sim.settings import Settings

from .errors import validation
from .instance import InstanceSettings
from .sessions import RoleSession

__all__ = ["Denies"]


class Denies:
    """The token-issue-time cutoffs and per-user denies in force, and the decisions they lead to."""

    def __init__(self, clock: Clock, config: InstanceSettings, changed: Callable[[], None]) -> None:
        self._clock = clock
        self._config = config
        self._changed = changed
        self.token_issue: list[float] = []
        self.users: dict[str, float] = {}

    def clear(self) -> None:
        """Lift every deny."""
        self.token_issue = []
        self.users = {}

    def deny_token_issue_time(self, cutoff: float | None = None) -> float:
        """Attach a deny on ``aws:TokenIssueTime`` before ``cutoff`` (default now) [IAM-revoke]; return it."""
        value = self._clock.time() if cutoff is None else float(cutoff)
        self.token_issue.append(value)
        self._changed()
        return value

    def deny_user(self, user_id: Any, at: float | None = None) -> float:
        """Deny every action of ``user_id`` from ``at`` (default now) via ``identitystore:userId`` [UG-denypol]."""
        if not isinstance(user_id, str) or not user_id:
            raise validation("user_id is required")
        value = self._clock.time() if at is None else float(at)
        self.users[user_id] = min(value, self.users.get(user_id, math.inf))
        self._changed()
        return value

    def _role_settings(self, role: RoleSession) -> Settings:
        return self._config.settings.model_copy(
            update={"permission_set_session": role.duration, "deny_tokens_before_expiry": True}
        )

    def effective_end(self, role: RoleSession) -> tuple[float, float]:
        """Return (token-issue-time cutoff, effective end) of ``role`` under the denies in force."""
        cutoff = min((c for c in self.token_issue if c > role.launch), default=math.inf)
        return cutoff, role_session_end(role.launch, cutoff, self._role_settings(role))

    def allows(self, role: RoleSession, t: float) -> bool:
        """Return True when ``role`` may still act at ``t`` (:func:`sim.rules.role_session_allowed`)."""
        cutoff, _end = self.effective_end(role)
        return role_session_allowed(role.launch, t, cutoff, self._role_settings(role), self.users.get(role.user_id))

    def role_session_json(self, role: RoleSession, t: float) -> dict[str, Any]:
        """Return the sandbox's answer to "is this role session still allowed at ``t``"."""
        _cutoff, end = self.effective_end(role)
        deny = self.users.get(role.user_id)
        allowed = self.allows(role, t)
        if allowed:
            reason = "allowed"
        elif t < role.launch:
            reason = "not yet issued"
        elif deny is not None and t >= deny and t < end:
            reason = "per-user deny (identitystore:userId)"
        elif end < role.expiration and t >= end:
            reason = "aws:TokenIssueTime deny"
        else:
            reason = "expired"
        if deny is not None:
            end = min(end, max(deny, role.launch))
        return {
            "access_key_id": role.access_key_id,
            "user_id": role.user_id,
            "account_id": role.account_id,
            "role_name": role.role_name,
            "launch": role.launch,
            "expiration": role.expiration,
            "effective_end": end,
            "at": t,
            "allowed": allowed,
            "reason": reason,
        }
