"""The identity store's in-memory indexes: creation order, per-kind tables with unique keys, and memberships.

Nothing here locks, persists or emits events; :class:`scim_server.store.Store` does that around these structures.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Generic, TypeVar

from scim_server.events import StoreEvent
from scim_server.records import Conflict, JsonDict, NotFound, Record, format_time

__all__ = ["CreationOrder", "Memberships", "ResourceTable"]


class CreationOrder:
    """Creation-ordered ids with O(log n) "page after sequence" (tombstones compacted lazily)."""

    __slots__ = ("_dead", "_ids", "_seqs")

    def __init__(self) -> None:
        self._seqs: list[int] = []
        self._ids: list[str | None] = []
        self._dead = 0

    def append(self, seq: int, rid: str) -> None:
        """Add ``rid`` created with sequence ``seq`` (sequences only grow)."""
        self._seqs.append(seq)
        self._ids.append(rid)

    def remove(self, seq: int) -> None:
        """Forget the id created with sequence ``seq`` (a tombstone; compacted once over half are dead)."""
        i = bisect.bisect_left(self._seqs, seq)
        if i < len(self._seqs) and self._seqs[i] == seq and self._ids[i] is not None:
            self._ids[i] = None
            self._dead += 1
            if self._dead > 64 and self._dead * 2 > len(self._seqs):
                pairs = [(s, r) for s, r in zip(self._seqs, self._ids, strict=True) if r is not None]
                self._seqs = [s for s, _ in pairs]
                self._ids = [r for _, r in pairs]
                self._dead = 0

    def after(self, seq: int) -> Iterator[tuple[int, str]]:
        """Yield ``(sequence, id)`` of the live ids created after ``seq``, in creation order."""
        i = bisect.bisect_right(self._seqs, seq)
        while i < len(self._seqs):
            rid = self._ids[i]
            if rid is not None:
                yield self._seqs[i], rid
            i += 1

    def clear(self) -> None:
        """Forget every id."""
        self._seqs.clear()
        self._ids.clear()
        self._dead = 0


R = TypeVar("R", bound=Record)


class ResourceTable(Generic[R]):
    """One resource kind (``user`` or ``group``): its records, creation order and unique indexes."""

    __slots__ = ("index", "kind", "order", "record_type", "records", "resource_type")

    def __init__(self, record_type: type[R], kind: str, resource_type: str, attributes: tuple[str, ...]) -> None:
        self.record_type = record_type
        self.kind = kind  # NotFound/Conflict kind, journal kind and event prefix
        self.resource_type = resource_type
        self.records: dict[str, R] = {}
        self.order = CreationOrder()
        self.index: dict[str, dict[str, str]] = {attribute: {} for attribute in attributes}

    def get(self, rid: str) -> R:
        """Return the record with id ``rid``. Raises :class:`NotFound`."""
        rec = self.records.get(rid)
        if rec is None:
            raise NotFound(self.kind, rid)
        return rec

    def add(self, rec: R) -> None:
        """Add a new record to the table, its unique indexes and the creation order."""
        self.records[rec.id] = rec
        self.link(rec)
        self.order.append(rec.seq, rec.id)

    def drop(self, rec: R) -> None:
        """Remove a record from the table, its unique indexes and the creation order."""
        del self.records[rec.id]
        self.unlink(rec)
        self.order.remove(rec.seq)

    def link(self, rec: R) -> None:
        """Index the record's unique attributes."""
        for attribute, key in rec.index_keys():
            self.index[attribute][key] = rec.id

    def unlink(self, rec: R) -> None:
        """Remove the record's unique attributes from the indexes."""
        for attribute, key in rec.index_keys():
            self.index[attribute].pop(key, None)

    def check_unique(self, attrs: JsonDict, own_id: str | None) -> None:
        """Return None when ``attrs`` clash with no other record (``own_id`` may keep its values); else raise Conflict."""
        for attribute, key, shown in self.record_type.unique_keys(attrs):
            other = self.index[attribute].get(key)
            if other is not None and other != own_id:
                raise Conflict(self.kind, attribute, shown)

    def body(self, rec: R) -> JsonDict:
        """Return the record's JSON body: ``id``, the attributes, then ``meta`` (resourceType, created, lastModified)."""
        body: JsonDict = {"id": rec.id}
        body.update(rec.attrs())
        body["meta"] = {
            "resourceType": self.resource_type,
            "created": format_time(rec.created),
            "lastModified": format_time(rec.updated),
        }
        return body

    def event(self, what: str, at: float, rid: str) -> StoreEvent:
        """Return the ``<kind>_<what>`` event (``user_created``, ``group_deleted``, ...) for record ``rid``."""
        if self.kind == "user":
            return StoreEvent(f"user_{what}", at, user_id=rid)
        return StoreEvent(f"group_{what}", at, group_id=rid)

    def page(self, after: int, limit: int) -> tuple[list[JsonDict], int | None]:
        """Return up to ``limit`` bodies created after sequence ``after`` and the sequence to continue from."""
        out: list[JsonDict] = []
        last = 0
        for seq, rid in self.order.after(after):
            if len(out) == limit:
                return out, last
            out.append(self.body(self.records[rid]))
            last = seq
        return out, None

    def ids(self) -> list[str]:
        """Return every id in creation order."""
        return [rid for _, rid in self.order.after(0)]

    def clear(self) -> None:
        """Forget every record."""
        self.records.clear()
        self.order.clear()
        for index in self.index.values():
            index.clear()


class Memberships:
    """Group → user ids and user → group ids as two dicts of sets: O(1) per member in both directions."""

    __slots__ = ("_groups_of", "_members")

    def __init__(self) -> None:
        self._members: dict[str, set[str]] = {}
        self._groups_of: dict[str, set[str]] = {}

    def add_group(self, group_id: str) -> None:
        """Start an empty member set for a new group."""
        self._members[group_id] = set()

    def members(self, group_id: str) -> set[str] | None:
        """Return the live member set of ``group_id`` (None for an unknown group); callers must not change it."""
        return self._members.get(group_id)

    def groups_of(self, user_id: str) -> set[str]:
        """Return the ids of the groups ``user_id`` belongs to (a copy; empty for unknown users)."""
        return set(self._groups_of.get(user_id, ()))

    def is_member(self, group_id: str, user_id: str) -> bool:
        """Return whether ``user_id`` is a member of ``group_id`` (False for unknown ids)."""
        return user_id in self._members.get(group_id, ())

    def add(self, group_id: str, user_id: str) -> None:
        """Record the membership (the group must have been added)."""
        self._members[group_id].add(user_id)
        self._groups_of.setdefault(user_id, set()).add(group_id)

    def remove(self, group_id: str, user_id: str) -> None:
        """Forget the membership if present."""
        members = self._members.get(group_id)
        if members is not None:
            members.discard(user_id)
        groups = self._groups_of.get(user_id)
        if groups is not None:
            groups.discard(group_id)
            if not groups:
                del self._groups_of[user_id]

    def drop_group(self, group_id: str) -> None:
        """Forget a deleted group's member set (its memberships must have been removed)."""
        self._members.pop(group_id, None)

    def drop_user(self, user_id: str) -> None:
        """Forget a deleted user's group set (its memberships must have been removed)."""
        self._groups_of.pop(user_id, None)

    def count(self) -> int:
        """Return the total number of (group, user) memberships."""
        return sum(len(m) for m in self._members.values())

    def clear(self) -> None:
        """Forget every membership and group."""
        self._members.clear()
        self._groups_of.clear()
