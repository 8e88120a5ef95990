"""The job's view of the source directory: in-scope users and assigned groups, read as of a cycle's start."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pim_fake.directory import Directory, ServicePrincipal

__all__ = ["DirectoryView", "Snapshot", "SourceUser"]


@dataclass(frozen=True)
class SourceUser:
    """The attributes of one in-scope directory user that the job provisions."""

    id: str
    upn: str
    display: str
    given: str | None
    surname: str | None
    mail: str | None

    def attrs(self) -> tuple[str | None, ...]:
        """Return the provisioned attributes in a fixed order, to compare with what the target last got."""
        return (self.upn, self.display, self.given, self.surname, self.mail)


@dataclass(frozen=True)
class Snapshot:
    """In-scope users and assigned groups at one instant."""

    users: dict[str, SourceUser]
    groups: dict[str, tuple[str, tuple[str, ...]]]  # id -> (displayName, user member ids)


class DirectoryView:
    """Reads the directory for one enterprise application; remembers membership changes so that a regular cycle
    reads the directory as of its start."""

    def __init__(self, directory: Directory, sp: ServicePrincipal, lock: threading.RLock) -> None:
        self.dir = directory
        self.sp = sp
        self.lock = lock
        self._changes: list[tuple[float, str, str, bool]] = []
        self._changes_lock = threading.Lock()
        directory.listeners.append(self.on_change)

    def on_change(self, group_id: str, user_id: str, added: bool, via_pim: bool, when: float) -> None:
        """Directory listener: record one membership change (returns nothing)."""
        with self._changes_lock:
            self._changes.append((when, group_id, user_id, added))

    def assigned(self, group_id: str) -> bool:
        """Return True when ``group_id`` is assigned to the application."""
        return any(a.principalId == group_id for a in self.sp.assignments)

    def snapshot(self, as_of: float | None = None) -> Snapshot:
        """Return the in-scope users and assigned groups: only assigned users/groups and direct members [E-HOW].

        With ``as_of`` (a regular cycle's start) membership changes made at or after that instant are left out:
        they belong to the next cycle, as :func:`sim.rules.next_cycle_after` ("strictly after") says, whatever
        order same-instant timers ran in.
        """
        with self.lock:
            members: dict[str, list[str]] = {}
            for a in self.sp.assignments:
                if a.principalType == "Group" and a.principalId in self.dir.groups:
                    members[a.principalId] = list(self.dir.groups[a.principalId].members)
            if as_of is not None:
                self._undo_changes_since(as_of, members)
            users: dict[str, SourceUser] = {}

            def take(uid: str) -> None:
                """Add the user ``uid`` to ``users`` when it exists and is enabled."""
                u = self.dir.users.get(uid)
                if u is not None and u.accountEnabled:
                    users[uid] = SourceUser(u.id, u.userPrincipalName, u.displayName, u.givenName, u.surname, u.mail)

            for a in self.sp.assignments:
                if a.principalType == "User":
                    take(a.principalId)
            for ms in members.values():
                for m in ms:
                    take(m)
            groups = {
                gid: (self.dir.groups[gid].displayName, tuple(m for m in ms if m in users))
                for gid, ms in members.items()
            }
            return Snapshot(users, groups)

    def _undo_changes_since(self, as_of: float, members: dict[str, list[str]]) -> None:
        """Forget changes made before ``as_of`` and undo, in ``members``, the ones made at or after it."""
        with self._changes_lock:
            self._changes = [c for c in self._changes if c[0] >= as_of]
            late = list(self._changes)
        for _when, gid, uid, added in reversed(late):
            if gid not in members:
                continue
            if added and uid in members[gid]:
                members[gid].remove(uid)
            elif not added and uid not in members[gid]:
                members[gid].append(uid)
