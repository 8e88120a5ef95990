"""The job's view of the source directory: in-scope users and assigned groups, read as of a cycle's start."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

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
    """In-scope users and assigned groups at one instant; ``seq`` numbers the snapshots of one view."""

    users: dict[str, SourceUser]
    groups: dict[str, tuple[str, tuple[str, ...]]]  # id -> (displayName, user member ids)
    seq: int = field(default=0, compare=False)
    view: int = field(default=0, compare=False)
    """``id()`` of the :class:`DirectoryView` that took it (0: none)."""


_DELTAS_KEPT = 256
"""How many snapshots back :meth:`DirectoryView.changed_between` can answer (older: None, compare everything)."""


class DirectoryView:
    """Reads the directory for one enterprise application; remembers membership changes so that a regular cycle
    reads the directory as of its start.

    The view keeps the application's scope up to date from the directory's change marks (:meth:`Directory.watch`):
    a snapshot re-reads only the groups and users marked since the last one, so its cost follows the changes, not
    the tenant size (a fresh view, a sandbox reset or a change of the application's assignments reads everything
    again). :meth:`changed_between` tells a cycle which objects may differ from an earlier snapshot.
    """

    def __init__(self, directory: Directory, sp: ServicePrincipal, lock: threading.RLock) -> None:
        self.dir = directory
        self.sp = sp
        self.lock = lock
        self._changes: list[tuple[float, str, str, bool]] = []
        self._changes_lock = threading.Lock()
        directory.listeners.append(self.on_change)
        self._marks = directory.watch()
        self._version = -1
        """The directory's version the scope below was read at (-1: not read yet)."""
        self._members: dict[str, list[str]] = {}
        """Assigned group id -> its members now (directory order)."""
        self._refs: dict[str, int] = {}
        """Object id -> how many assigned groups list it, plus one for a direct assignment (> 0: in scope)."""
        self._users: dict[str, SourceUser] = {}
        """In-scope enabled users now."""
        self._groups: dict[str, tuple[str, tuple[str, ...]]] = {}
        """Assigned groups now, with their in-scope user members."""
        self._seq = 0
        self._deltas: dict[int, tuple[set[str], set[str]] | None] = {}
        """Snapshot seq -> (user ids, group ids) that may differ from the snapshot before it (None: anything)."""
        self._late: tuple[set[str], set[str]] = (set(), set())
        """Users and groups the last snapshot read as of an earlier instant (its late changes undone)."""

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
            touched = self._refresh()
            users, groups = dict(self._users), dict(self._groups)
            late: tuple[set[str], set[str]] = (set(), set())
            if as_of is not None:
                late = self._undo_changes_since(as_of, users, groups)
            self._seq += 1
            if touched is not None:
                touched = (touched[0] | late[0] | self._late[0], touched[1] | late[1] | self._late[1])
            self._late = late
            self._deltas[self._seq] = touched
            self._deltas.pop(self._seq - _DELTAS_KEPT, None)
            return Snapshot(users, groups, self._seq, id(self))

    def changed_between(self, earlier: Snapshot, later: Snapshot) -> tuple[set[str], set[str]] | None:
        """Return the user and group ids that may differ between two snapshots of this view (a superset), or None
        when the view cannot tell (another view's snapshot, too far back, or everything was read again)."""
        if earlier.view != id(self) or later.view != id(self) or earlier.seq > later.seq:
            return None
        users: set[str] = set()
        groups: set[str] = set()
        for seq in range(earlier.seq + 1, later.seq + 1):
            delta = self._deltas.get(seq)
            if delta is None:
                return None
            users |= delta[0]
            groups |= delta[1]
        return users, groups

    # --- keeping the scope up to date ---------------------------------------------------------------------------
    def _refresh(self) -> tuple[set[str], set[str]] | None:
        """Bring the scope up to date with the directory; return the user and group ids that changed, or None when
        everything was read again."""
        marks: set[tuple[str, str]] = set()
        while self._marks:  # one mark at a time: a mark added meanwhile is read now or next time, never lost
            marks.add(self._marks.pop())
        if self._version != self.dir.version or ("sp", self.sp.id) in marks:
            self._read_all()
            return None
        if any(kind == "user" and oid in self._refs for kind, oid in marks):
            self._read_all()  # an in-scope user was replaced (read back from ``--state``)
            return None
        changed = sorted(oid for kind, oid in marks if kind == "group" and oid in self._members)
        users: set[str] = set()
        for gid in changed:
            before, now = self._members[gid], list(self.dir.groups[gid].members)
            if before == now:
                continue  # an owner changed
            old, new = set(before), set(now)
            for uid in old - new:
                users.add(uid)
                self._drop_ref(uid)
            for uid in new - old:
                users.add(uid)
                self._add_ref(uid)
            self._members[gid] = now
        for gid in changed:
            self._groups[gid] = self._group_entry(gid, self._members[gid], self._users)
        return users, set(changed)

    def _read_all(self) -> None:
        self._version = self.dir.version
        self._members, self._refs, self._users, self._groups = {}, {}, {}, {}
        for a in self.sp.assignments:
            if a.principalType == "Group" and a.principalId in self.dir.groups:
                self._members[a.principalId] = list(self.dir.groups[a.principalId].members)
        for a in self.sp.assignments:
            if a.principalType == "User":
                self._add_ref(a.principalId)
        for ms in self._members.values():
            for m in ms:
                self._add_ref(m)
        for gid, ms in self._members.items():
            self._groups[gid] = self._group_entry(gid, ms, self._users)

    def _add_ref(self, uid: str) -> None:
        self._refs[uid] = self._refs.get(uid, 0) + 1
        if self._refs[uid] == 1:
            source = self._source_user(uid)
            if source is not None:
                self._users[uid] = source

    def _drop_ref(self, uid: str) -> None:
        left = self._refs[uid] - 1
        if left:
            self._refs[uid] = left
            return
        del self._refs[uid]
        self._users.pop(uid, None)

    def _source_user(self, uid: str) -> SourceUser | None:
        """Return the user ``uid`` as the job provisions it, or None when it does not exist or is disabled."""
        u = self.dir.users.get(uid)
        if u is None or not u.accountEnabled:
            return None
        return SourceUser(u.id, u.userPrincipalName, u.displayName, u.givenName, u.surname, u.mail)

    def _group_entry(self, gid: str, members: list[str], users: dict[str, SourceUser]) -> tuple[str, tuple[str, ...]]:
        return self.dir.groups[gid].displayName, tuple(m for m in members if m in users)

    def _undo_changes_since(
        self, as_of: float, users: dict[str, SourceUser], groups: dict[str, tuple[str, tuple[str, ...]]]
    ) -> tuple[set[str], set[str]]:
        """Forget changes made before ``as_of``; undo, in the copies ``users`` and ``groups``, the ones made at or
        after it; return the user and group ids they touch."""
        with self._changes_lock:
            self._changes = [c for c in self._changes if c[0] >= as_of]
            late = list(self._changes)
        members = {gid: list(self._members[gid]) for _, gid, _, _ in late if gid in self._members}
        if not members:
            return set(), set()
        for _when, gid, uid, added in reversed(late):
            if gid not in members:
                continue
            if added and uid in members[gid]:
                members[gid].remove(uid)
            elif not added and uid not in members[gid]:
                members[gid].append(uid)
        touched = {uid for _, gid, uid, _ in late if gid in members}
        for uid in touched:
            refs = self._refs.get(uid, 0)
            for gid, ms in members.items():
                refs += (uid in ms) - (uid in self._members[gid])
            source = self._users.get(uid) or self._source_user(uid)
            if refs > 0 and source is not None:
                users[uid] = source
            else:
                users.pop(uid, None)
        for gid, ms in members.items():
            groups[gid] = self._group_entry(gid, ms, users)
        return touched, set(members)
