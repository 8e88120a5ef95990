"""The identity store behind the fake IAM Identity Center: users, groups, memberships (pure state, no HTTP).

This is the "backend" half of the moto split (``models.py``): the SCIM routes (``scim_server/scim.py``) and the AWS
API routes (``scim_server/aws/``, helper D) are thin layers that validate requests and call this class. The store
never sees a Request object and never formats an HTTP error; it raises :class:`StoreError` subclasses instead.

Contract
========

Ids
    Users and groups get ids in AWS's form ``<10 hex>-<uuid4>``, e.g. ``9067729b3d-ee533c18-538a-4cd3-a572-
    63fb863ed734`` ([DG-getuser][BC-ids] pattern ``([0-9a-f]{10}-|)<uuid>``). Ids come from a ``random.Random``
    seeded by ``seed`` so the same seed gives the same ids. Deleting and re-creating a resource with the same name
    yields a NEW id ([UG-trouble]).

Resource bodies
    ``create_user`` / ``replace_user`` take the JSON-ready attributes of a SCIM User *without* ``id``, ``meta`` and
    ``schemas`` (the route layer has already validated them against AWS's rules) and store a copy. Reads return a
    fresh JSON-ready dict with ``id``, ``meta`` (``resourceType``, ``created``, ``lastModified`` as
    ``YYYY-MM-DDTHH:MM:SSZ`` on the injected clock) and the stored attributes; callers may mutate what they get.
    Groups work the same way; a group body never holds ``members`` (memberships are a separate index).

Uniqueness (409 at the HTTP layer, [UG-trouble][UG23-users][DG-creategroup])
    - user ``userName``: unique, compared case-insensitively (AWS matches userName case-insensitively);
    - user primary email (``emails[0].value``): unique, case-insensitive (RFC 7643 ``emails.value`` caseExact=false);
    - user ``externalId``: unique, case-exact (RFC 7643 ``externalId`` caseExact=true);
    - group ``displayName``: unique, case-insensitive; group ``externalId``: unique, case-exact (UNCONFIRMED, by
      analogy with users).
    Violations raise :class:`Conflict` naming the attribute; nothing is changed.

Memberships
    Kept as two dicts of sets (group → user ids, user → group ids): add, remove and "is member" are O(1) per
    member, both directions. Adding an existing membership or removing an absent one is a no-op (no event). Only
    users can be members (IdC has no nested groups [UG-users]); unknown user or group ids raise :class:`NotFound`
    and nothing is changed (a multi-member call is all-or-nothing). Deleting a user or group removes its
    memberships first, emitting one ``member_removed`` event each.

``active``
    Users carry an ``active`` flag (default ``True``), readable as ``store.user_active(id)``.

Change listeners (for D's access plane: membership intervals, entitlements)
    ``store.add_listener(fn)`` registers ``fn(event: StoreEvent)``. Every committed change emits one event, in
    order, with ``at`` = the clock time of the change (Unix seconds). Kinds: ``user_created``, ``user_updated``,
    ``user_deleted``, ``group_created``, ``group_updated``, ``group_deleted``, ``member_added``,
    ``member_removed``, ``reset``. Listeners run synchronously inside the store lock after the change is applied
    (and persisted), so they see the new state and a consistent order; they may read the store (the lock is
    re-entrant) but must be quick and must not block on HTTP. A listener that raises does not undo the change;
    the exception is re-raised after the remaining listeners ran.

Thread safety
    One ``threading.RLock`` (``store.lock``) guards every method; uvicorn runs sync routes in a thread pool, so 50
    concurrent PATCHes each add their member without losing any. Callers that need several operations to be atomic
    may hold ``with store.lock:`` around them.

Persistence
    Optional write-through :class:`Journal` (``scim_server/persist.py`` has the SQLite one): every change is written
    and committed before the method returns, so an HTTP response is only sent for a durable write. On start the
    store loads the journal's contents.

Ordering and paging
    Users and groups are listed in creation order. ``page_users(after, limit)`` returns up to ``limit`` records
    whose creation sequence is greater than ``after`` plus the sequence to continue from (``None`` at the end);
    the SCIM layer turns that sequence into an opaque cursor.
"""

from __future__ import annotations

import bisect
import json
import random
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

from sim.clock import Clock

__all__ = [
    "Conflict",
    "GroupRecord",
    "Journal",
    "NotFound",
    "Store",
    "StoreError",
    "StoreEvent",
    "UserRecord",
    "format_time",
]

JsonDict = dict[str, Any]


class StoreError(Exception):
    """Base class for store failures; the HTTP layers map subclasses to their protocol's errors."""


class NotFound(StoreError):
    """A user or group id that does not exist (``kind`` is ``"user"`` or ``"group"``)."""

    def __init__(self, kind: str, resource_id: str) -> None:
        super().__init__(f"{kind} {resource_id!r} does not exist")
        self.kind = kind
        self.resource_id = resource_id


class Conflict(StoreError):
    """A uniqueness violation; ``attribute`` names the clashing attribute (``userName``, ``emails``, ...)."""

    def __init__(self, kind: str, attribute: str, value: str) -> None:
        super().__init__(f"another {kind} already has {attribute} {value!r}")
        self.kind = kind
        self.attribute = attribute
        self.value = value


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """One committed change. ``user_id``/``group_id`` are set when they apply; ``at`` is Unix seconds."""

    kind: str
    at: float
    user_id: str | None = None
    group_id: str | None = None


class Journal(Protocol):
    """Write-through persistence: a key-value log of records by ``kind`` (``user``, ``group``, ``member``, ...)."""

    def put(self, kind: str, key: str, value: str) -> None:
        """Insert or replace ``value`` (JSON text) under ``(kind, key)`` and commit."""

    def delete(self, kind: str, key: str) -> None:
        """Remove ``(kind, key)`` if present and commit."""

    def put_many(self, items: Iterable[tuple[str, str, str | None]]) -> None:
        """Apply several puts (``value`` str) and deletes (``value`` None) in one committed transaction."""

    def clear(self, kinds: Iterable[str]) -> None:
        """Delete every record of the given kinds and commit."""

    def load(self, kind: str) -> list[tuple[str, str]]:
        """Return every ``(key, value)`` of ``kind`` in insertion order."""


class _Record(ABC):
    """What users and groups share: ids, times, the compact JSON of the attributes and their unique keys."""

    __slots__ = ("created", "external_id", "id", "packed", "seq", "updated")

    def __init__(self, id: str, seq: int, created: float, updated: float, attrs: JsonDict) -> None:
        self.id = id
        self.seq = seq
        self.created = created
        self.updated = updated
        self.set_attrs(attrs)

    @abstractmethod
    def set_attrs(self, attrs: JsonDict) -> None:
        """Replace the attributes (and refresh the indexed fields)."""

    @staticmethod
    @abstractmethod
    def unique_keys(attrs: JsonDict) -> list[tuple[str, str, str]]:
        """Return ``(attribute, index key, value to report)`` for each unique attribute ``attrs`` sets, in check order."""

    @abstractmethod
    def index_keys(self) -> list[tuple[str, str]]:
        """Return ``(attribute, index key)`` for each unique attribute this record holds."""

    def _set_common(self, attrs: JsonDict) -> None:
        ext = attrs.get("externalId")
        self.external_id: str | None = None if ext is None else str(ext)
        self.packed: str = json.dumps(attrs, separators=(",", ":"), ensure_ascii=False)

    def attrs(self) -> JsonDict:
        """Return a fresh copy of the stored attributes."""
        data: JsonDict = json.loads(self.packed)
        return data


def _external_id_key(attrs: JsonDict) -> list[tuple[str, str, str]]:
    ext = attrs.get("externalId")
    return [] if ext is None else [("externalId", str(ext), str(ext))]


class UserRecord(_Record):
    """A stored user: indexed fields plus the compact JSON of the remaining attributes (keeps memory low)."""

    __slots__ = ("active", "email", "user_name")

    def set_attrs(self, attrs: JsonDict) -> None:
        """Replace the attributes (and refresh the indexed fields)."""
        self.user_name: str = str(attrs.get("userName", ""))
        self.email: str | None = _primary_email(attrs)
        self.active: bool = bool(attrs.get("active", True))
        self._set_common(attrs)

    @staticmethod
    def unique_keys(attrs: JsonDict) -> list[tuple[str, str, str]]:
        """``userName`` and primary email case-insensitive, ``externalId`` case-exact."""
        keys = [("userName", str(attrs.get("userName", "")).casefold(), str(attrs.get("userName")))]
        email = _primary_email(attrs)
        if email is not None:
            keys.append(("emails", email.casefold(), email))
        return keys + _external_id_key(attrs)

    def index_keys(self) -> list[tuple[str, str]]:
        """Return ``(attribute, index key)`` for each unique attribute this record holds."""
        keys = [("userName", self.user_name.casefold())]
        if self.email is not None:
            keys.append(("emails", self.email.casefold()))
        if self.external_id is not None:
            keys.append(("externalId", self.external_id))
        return keys


class GroupRecord(_Record):
    """A stored group: indexed fields plus the compact JSON of the remaining attributes (never ``members``)."""

    __slots__ = ("display_name",)

    def set_attrs(self, attrs: JsonDict) -> None:
        """Replace the attributes (and refresh the indexed fields)."""
        attrs = {k: v for k, v in attrs.items() if k != "members"}
        self.display_name: str = str(attrs.get("displayName", ""))
        self._set_common(attrs)

    @staticmethod
    def unique_keys(attrs: JsonDict) -> list[tuple[str, str, str]]:
        """``displayName`` case-insensitive, ``externalId`` case-exact."""
        name = [("displayName", str(attrs.get("displayName", "")).casefold(), str(attrs.get("displayName")))]
        return name + _external_id_key(attrs)

    def index_keys(self) -> list[tuple[str, str]]:
        """Return ``(attribute, index key)`` for each unique attribute this record holds."""
        keys = [("displayName", self.display_name.casefold())]
        if self.external_id is not None:
            keys.append(("externalId", self.external_id))
        return keys


def _primary_email(attrs: JsonDict) -> str | None:
    emails = attrs.get("emails")
    if not isinstance(emails, list) or not emails:
        return None
    for item in emails:
        if isinstance(item, dict) and item.get("primary") and item.get("value") is not None:
            return str(item["value"])
    first = emails[0]
    if isinstance(first, dict) and first.get("value") is not None:
        return str(first["value"])
    return None


def format_time(seconds: float) -> str:
    """Return ``YYYY-MM-DDTHH:MM:SSZ`` (the form of AWS's ``meta.created`` [DG-getuser]) for Unix ``seconds``."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Ordered:
    """Creation-ordered ids with O(log n) "page after sequence" (tombstones compacted lazily)."""

    __slots__ = ("_dead", "_ids", "_seqs")

    def __init__(self) -> None:
        self._seqs: list[int] = []
        self._ids: list[str | None] = []
        self._dead = 0

    def append(self, seq: int, rid: str) -> None:
        self._seqs.append(seq)
        self._ids.append(rid)

    def remove(self, seq: int) -> None:
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
        i = bisect.bisect_right(self._seqs, seq)
        while i < len(self._seqs):
            rid = self._ids[i]
            if rid is not None:
                yield self._seqs[i], rid
            i += 1

    def clear(self) -> None:
        self._seqs.clear()
        self._ids.clear()
        self._dead = 0


Listener = Callable[[StoreEvent], None]

R = TypeVar("R", bound=_Record)


class _Table(Generic[R]):
    """One resource kind (``user`` or ``group``): its records, creation order and unique indexes."""

    __slots__ = ("index", "kind", "order", "record_type", "records", "resource_type")

    def __init__(self, record_type: type[R], kind: str, resource_type: str, attributes: tuple[str, ...]) -> None:
        self.record_type = record_type
        self.kind = kind  # NotFound/Conflict kind, journal kind and event prefix
        self.resource_type = resource_type
        self.records: dict[str, R] = {}
        self.order = _Ordered()
        self.index: dict[str, dict[str, str]] = {attribute: {} for attribute in attributes}

    def get(self, rid: str) -> R:
        rec = self.records.get(rid)
        if rec is None:
            raise NotFound(self.kind, rid)
        return rec

    def add(self, rec: R) -> None:
        self.records[rec.id] = rec
        self.link(rec)
        self.order.append(rec.seq, rec.id)

    def link(self, rec: R) -> None:
        for attribute, key in rec.index_keys():
            self.index[attribute][key] = rec.id

    def unlink(self, rec: R) -> None:
        for attribute, key in rec.index_keys():
            self.index[attribute].pop(key, None)

    def check_unique(self, attrs: JsonDict, own_id: str | None) -> None:
        for attribute, key, shown in self.record_type.unique_keys(attrs):
            other = self.index[attribute].get(key)
            if other is not None and other != own_id:
                raise Conflict(self.kind, attribute, shown)

    def body(self, rec: R) -> JsonDict:
        body: JsonDict = {"id": rec.id}
        body.update(rec.attrs())
        body["meta"] = {
            "resourceType": self.resource_type,
            "created": format_time(rec.created),
            "lastModified": format_time(rec.updated),
        }
        return body

    def event(self, what: str, at: float, rid: str) -> StoreEvent:
        if self.kind == "user":
            return StoreEvent(f"user_{what}", at, user_id=rid)
        return StoreEvent(f"group_{what}", at, group_id=rid)

    def clear(self) -> None:
        self.records.clear()
        self.order.clear()
        for index in self.index.values():
            index.clear()


class Store:
    """In-memory identity store with indexes; see the module docstring for the full contract."""

    def __init__(self, clock: Clock, *, seed: int | None = None, journal: Journal | None = None) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._journal = journal
        self._listeners: list[Listener] = []
        self._seq = 0
        self._users = _Table(UserRecord, "user", "User", ("userName", "emails", "externalId"))
        self._groups = _Table(GroupRecord, "group", "Group", ("displayName", "externalId"))
        self._members: dict[str, set[str]] = {}
        self._groups_of: dict[str, set[str]] = {}
        if journal is not None:
            self._load(journal)
            # a restarted store must not regenerate the ids it handed out before (re-created = new id)
            self._rng = random.Random(f"{seed}:{self._seq}:{self.user_count()}:{self.group_count()}")

    # --- listeners ---------------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` after every committed change (see the module docstring)."""
        with self.lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _emit(self, events: list[StoreEvent]) -> None:
        error: BaseException | None = None
        for event in events:
            for listener in list(self._listeners):
                try:
                    listener(event)
                except Exception as exc:  # a listener bug must not undo or hide a committed write
                    error = error or exc
        if error is not None:
            raise error

    # --- ids ---------------------------------------------------------------------------------------
    def new_id(self) -> str:
        """Return a fresh id in AWS's ``<10 hex>-<uuid4>`` form from the seeded generator."""
        with self.lock:
            while True:
                prefix = f"{self._rng.getrandbits(40):010x}"
                rid = f"{prefix}-{uuid.UUID(int=self._rng.getrandbits(128), version=4)}"
                if rid not in self._users.records and rid not in self._groups.records:
                    return rid

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- what users and groups share ---------------------------------------------------------------
    def _insert(self, table: _Table[R], attrs: JsonDict, wanted_id: str | None) -> R:
        table.check_unique(attrs, None)
        now = self.clock.time()
        rid = wanted_id or self.new_id()
        if rid in self._users.records or rid in self._groups.records:
            raise Conflict(table.kind, "id", rid)
        rec = table.record_type(rid, self._next_seq(), now, now, attrs)
        self._persist(table, rec)
        table.add(rec)
        return rec

    def _replace(self, table: _Table[R], rid: str, attrs: JsonDict) -> JsonDict:
        rec = table.get(rid)
        table.check_unique(attrs, rid)
        now = self.clock.time()
        old_packed = rec.packed
        table.unlink(rec)
        rec.set_attrs(attrs)
        rec.updated = now
        try:
            self._persist(table, rec)
        except BaseException:
            rec.set_attrs(json.loads(old_packed))
            table.link(rec)
            raise
        table.link(rec)
        return self._announce(table, rec, "updated", now)

    def _announce(self, table: _Table[R], rec: R, what: str, at: float) -> JsonDict:
        body = table.body(rec)
        self._emit([table.event(what, at, rec.id)])
        return body

    def _delete(self, table: _Table[R], rid: str, pairs: list[tuple[str, str]]) -> None:
        """Delete ``rid`` and its memberships ``pairs`` (``(group id, user id)``, in event order)."""
        rec = table.get(rid)
        now = self.clock.time()
        ops: list[tuple[str, str, str | None]] = [("member", _mkey(g, u), None) for g, u in pairs]
        ops.append((table.kind, rid, None))
        self._write(ops)
        for g, u in pairs:
            self._members[g].discard(u)
            self._groups_of[u].discard(g)
        (self._groups_of if table is self._users else self._members).pop(rid, None)
        del table.records[rid]
        table.unlink(rec)
        table.order.remove(rec.seq)
        events = [StoreEvent("member_removed", now, user_id=u, group_id=g) for g, u in pairs]
        events.append(table.event("deleted", now, rid))
        self._emit(events)

    def _persist(self, table: _Table[R], rec: R) -> None:
        self._write([(table.kind, rec.id, _pack_record(rec.seq, rec.created, rec.updated, rec.packed))])

    # --- users -------------------------------------------------------------------------------------
    def create_user(self, attrs: JsonDict, *, user_id: str | None = None) -> JsonDict:
        """Store a new user; return its JSON body. Raises :class:`Conflict` on a uniqueness clash."""
        with self.lock:
            rec = self._insert(self._users, attrs, user_id)
            return self._announce(self._users, rec, "created", rec.created)

    def get_user(self, user_id: str) -> JsonDict:
        """Return the user's JSON body. Raises :class:`NotFound`."""
        with self.lock:
            return self._users.body(self._users.get(user_id))

    def has_user(self, user_id: str) -> bool:
        """Return whether ``user_id`` exists."""
        with self.lock:
            return user_id in self._users.records

    def user_active(self, user_id: str) -> bool:
        """Return the user's ``active`` flag. Raises :class:`NotFound`."""
        with self.lock:
            return self._users.get(user_id).active

    def replace_user(self, user_id: str, attrs: JsonDict) -> JsonDict:
        """Replace every attribute of a user (PUT, or the result of a PATCH); return the new body."""
        with self.lock:
            return self._replace(self._users, user_id, attrs)

    def delete_user(self, user_id: str) -> None:
        """Delete a user and its memberships. Raises :class:`NotFound`."""
        with self.lock:
            groups = sorted(self._groups_of.get(user_id, ()))
            self._delete(self._users, user_id, [(g, user_id) for g in groups])

    def user_id_by_name(self, user_name: str) -> str | None:
        """Return the id of the user whose userName matches case-insensitively, or None."""
        with self.lock:
            return self._users.index["userName"].get(user_name.casefold())

    def user_id_by_external_id(self, external_id: str) -> str | None:
        """Return the id of the user with this externalId (case-exact), or None."""
        with self.lock:
            return self._users.index["externalId"].get(external_id)

    def user_id_by_email(self, email: str) -> str | None:
        """Return the id of the user with this primary email (case-insensitive), or None."""
        with self.lock:
            return self._users.index["emails"].get(email.casefold())

    def user_count(self) -> int:
        """Return how many users are stored."""
        with self.lock:
            return len(self._users.records)

    def user_seq(self, user_id: str) -> int:
        """Return the user's creation sequence (for cursors). Raises :class:`NotFound`."""
        with self.lock:
            return self._users.get(user_id).seq

    def page_users(self, after: int, limit: int) -> tuple[list[JsonDict], int | None]:
        """Return up to ``limit`` user bodies created after sequence ``after`` and the sequence to continue from."""
        with self.lock:
            return self._page(self._users, after, limit)

    def user_ids(self) -> list[str]:
        """Return every user id in creation order."""
        with self.lock:
            return [rid for _, rid in self._users.order.after(0)]

    # --- groups ------------------------------------------------------------------------------------
    def create_group(self, attrs: JsonDict, *, group_id: str | None = None) -> JsonDict:
        """Store a new group (``members`` in ``attrs`` is ignored: use :meth:`add_members`); return its body."""
        with self.lock:
            rec = self._insert(self._groups, attrs, group_id)
            self._members[rec.id] = set()
            return self._announce(self._groups, rec, "created", rec.created)

    def get_group(self, group_id: str) -> JsonDict:
        """Return the group's JSON body (without members). Raises :class:`NotFound`."""
        with self.lock:
            return self._groups.body(self._groups.get(group_id))

    def has_group(self, group_id: str) -> bool:
        """Return whether ``group_id`` exists."""
        with self.lock:
            return group_id in self._groups.records

    def replace_group(self, group_id: str, attrs: JsonDict) -> JsonDict:
        """Replace a group's attributes (memberships untouched); return the new body."""
        with self.lock:
            return self._replace(self._groups, group_id, attrs)

    def delete_group(self, group_id: str) -> None:
        """Delete a group and its memberships. Raises :class:`NotFound`."""
        with self.lock:
            members = sorted(self._members.get(group_id, ()))
            self._delete(self._groups, group_id, [(group_id, u) for u in members])

    def group_id_by_name(self, display_name: str) -> str | None:
        """Return the id of the group with this displayName (case-insensitive), or None."""
        with self.lock:
            return self._groups.index["displayName"].get(display_name.casefold())

    def group_id_by_external_id(self, external_id: str) -> str | None:
        """Return the id of the group with this externalId (case-exact), or None."""
        with self.lock:
            return self._groups.index["externalId"].get(external_id)

    def group_count(self) -> int:
        """Return how many groups are stored."""
        with self.lock:
            return len(self._groups.records)

    def group_seq(self, group_id: str) -> int:
        """Return the group's creation sequence (for cursors). Raises :class:`NotFound`."""
        with self.lock:
            return self._groups.get(group_id).seq

    def page_groups(self, after: int, limit: int) -> tuple[list[JsonDict], int | None]:
        """Return up to ``limit`` group bodies created after sequence ``after`` and the sequence to continue from."""
        with self.lock:
            return self._page(self._groups, after, limit)

    def group_ids(self) -> list[str]:
        """Return every group id in creation order."""
        with self.lock:
            return [rid for _, rid in self._groups.order.after(0)]

    # --- memberships -------------------------------------------------------------------------------
    def add_members(self, group_id: str, user_ids: Iterable[str]) -> list[str]:
        """Add users to a group; return the ids actually added (existing memberships are skipped).

        All-or-nothing: an unknown group or user raises :class:`NotFound` before anything changes.
        """
        with self.lock:
            self._groups.get(group_id)
            wanted = list(dict.fromkeys(user_ids))
            for uid in wanted:
                self._users.get(uid)
            current = self._members[group_id]
            added = [u for u in wanted if u not in current]
            if not added:
                return []
            now = self.clock.time()
            self._write([("member", _mkey(group_id, u), json.dumps(now)) for u in added])
            for u in added:
                current.add(u)
                self._groups_of.setdefault(u, set()).add(group_id)
            self._emit([StoreEvent("member_added", now, user_id=u, group_id=group_id) for u in added])
            return added

    def remove_members(self, group_id: str, user_ids: Iterable[str]) -> list[str]:
        """Remove users from a group; return the ids actually removed (absent memberships are skipped).

        An unknown group raises :class:`NotFound`; unknown user ids are simply not members.
        """
        with self.lock:
            current = self._members.get(group_id)
            if current is None:
                raise NotFound("group", group_id)
            removed = [u for u in dict.fromkeys(user_ids) if u in current]
            if not removed:
                return []
            now = self.clock.time()
            self._write([("member", _mkey(group_id, u), None) for u in removed])
            for u in removed:
                current.discard(u)
                groups = self._groups_of.get(u)
                if groups is not None:
                    groups.discard(group_id)
                    if not groups:
                        del self._groups_of[u]
            self._emit([StoreEvent("member_removed", now, user_id=u, group_id=group_id) for u in removed])
            return removed

    def is_member(self, group_id: str, user_id: str) -> bool:
        """Return whether ``user_id`` is a member of ``group_id`` (False for unknown ids)."""
        with self.lock:
            return user_id in self._members.get(group_id, ())

    def member_ids(self, group_id: str) -> list[str]:
        """Return the group's member user ids in user creation order. Raises :class:`NotFound`."""
        with self.lock:
            if group_id not in self._groups.records:
                raise NotFound("group", group_id)
            return sorted(self._members[group_id], key=lambda u: self._users.records[u].seq)

    def group_ids_of(self, user_id: str) -> list[str]:
        """Return the ids of the groups the user belongs to, in group creation order. Raises :class:`NotFound`."""
        with self.lock:
            if user_id not in self._users.records:
                raise NotFound("user", user_id)
            return sorted(self._groups_of.get(user_id, ()), key=lambda g: self._groups.records[g].seq)

    def membership_count(self) -> int:
        """Return the total number of (group, user) memberships."""
        with self.lock:
            return sum(len(m) for m in self._members.values())

    # --- whole store -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every user, group and membership (and the journal's copies); emit a ``reset`` event."""
        with self.lock:
            if self._journal is not None:
                self._journal.clear(("user", "group", "member"))
            self._users.clear()
            self._groups.clear()
            self._members.clear()
            self._groups_of.clear()
            self._emit([StoreEvent("reset", self.clock.time())])

    def dump(self) -> JsonDict:
        """Return a JSON-ready snapshot: ``users``, ``groups`` (bodies) and ``memberships`` (group id → user ids)."""
        with self.lock:
            return {
                "users": [self._users.body(self._users.records[u]) for u in self.user_ids()],
                "groups": [self._groups.body(self._groups.records[g]) for g in self.group_ids()],
                "memberships": {g: self.member_ids(g) for g in self.group_ids()},
            }

    def _page(self, table: _Table[R], after: int, limit: int) -> tuple[list[JsonDict], int | None]:
        out: list[JsonDict] = []
        last = 0
        for seq, rid in table.order.after(after):
            if len(out) == limit:
                return out, last
            out.append(table.body(table.records[rid]))
            last = seq
        return out, None

    # --- persistence -------------------------------------------------------------------------------
    def _write(self, ops: list[tuple[str, str, str | None]]) -> None:
        if self._journal is not None and ops:
            self._journal.put_many(ops)

    def _load(self, journal: Journal) -> None:
        rows: list[tuple[int, str, str, float, float, JsonDict]] = []
        for kind in ("user", "group"):
            for key, value in journal.load(kind):
                seq, created, updated, packed = json.loads(value)
                rows.append((int(seq), kind, key, float(created), float(updated), json.loads(packed)))
        rows.sort(key=lambda r: r[0])
        for seq, kind, key, created, updated, attrs in rows:
            self._seq = max(self._seq, seq)
            if kind == "user":
                self._users.add(UserRecord(key, seq, created, updated, attrs))
            else:
                self._groups.add(GroupRecord(key, seq, created, updated, attrs))
                self._members[key] = set()
        for key, _value in journal.load("member"):
            group_id, user_id = key.split("|", 1)
            if group_id in self._groups.records and user_id in self._users.records:
                self._members[group_id].add(user_id)
                self._groups_of.setdefault(user_id, set()).add(group_id)


def _mkey(group_id: str, user_id: str) -> str:
    return f"{group_id}|{user_id}"


def _pack_record(seq: int, created: float, updated: float, packed: str) -> str:
    return json.dumps([seq, created, updated, packed], separators=(",", ":"))
