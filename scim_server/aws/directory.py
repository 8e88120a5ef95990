"""What the access plane reads from the identity store: user status, groups, memberships and their history.

:class:`Directory` and :class:`History` are the plane's view (protocols); :class:`StoreDirectory` implements
:class:`Directory` over the SCIM identity store, :class:`scim_server.aws.history.MembershipHistory` implements
:class:`History`.
"""

from __future__ import annotations

from typing import Protocol

from scim_server.store import Store
from sim.rules import Interval

__all__ = ["Directory", "History", "StoreDirectory"]


class Directory(Protocol):
    """What the access plane needs from the identity store (implemented over ``scim_server.store``)."""

    def user_status(self, user_id: str) -> str | None:
        """Return ``ENABLED`` or ``DISABLED`` for an existing user, None when there is no such user."""

    def group_exists(self, group_id: str) -> bool:
        """Return True when the group exists."""

    def groups_of(self, user_id: str) -> list[str]:
        """Return the ids of the groups the user is a member of now (empty for unknown users)."""


class History(Protocol):
    """The recorded past the entitlement decisions read (implemented by ``MembershipHistory``)."""

    def intervals(self, user_id: str, group_id: str) -> list[Interval]:
        """Return the membership intervals of ``user_id`` in ``group_id``, earliest first."""

    def disabled_at(self, user_id: str) -> float | None:
        """Return when the user was disabled or deleted, or None while enabled and present."""


class StoreDirectory:
    """:class:`Directory` over the SCIM identity store (``active`` → ENABLED/DISABLED)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def user_status(self, user_id: str) -> str | None:
        """Return ``ENABLED``/``DISABLED`` for an existing user, None otherwise."""
        with self.store.lock:
            if not self.store.has_user(user_id):
                return None
            return "ENABLED" if self.store.user_active(user_id) else "DISABLED"

    def group_exists(self, group_id: str) -> bool:
        """Return True when the group exists."""
        return self.store.has_group(group_id)

    def groups_of(self, user_id: str) -> list[str]:
        """Return the user's current group ids (empty for an unknown user)."""
        with self.store.lock:
            return self.store.group_ids_of(user_id) if self.store.has_user(user_id) else []
