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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

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


class UserRecord:
    """A stored user: indexed fields plus the compact JSON of the remaining attributes (keeps memory low)."""

    __slots__ = ("active", "created", "email", "external_id", "id", "packed", "seq", "updated", "user_name")

    def __init__(self, id: str, seq: int, created: float, updated: float, attrs: JsonDict) -> None:
        self.id = id
        self.seq = seq
        self.created = created
        self.updated = updated
        self.set_attrs(attrs)

    def set_attrs(self, attrs: JsonDict) -> None:
        """Replace the attributes (and refresh the indexed fields)."""
        self.user_name: str = str(attrs.get("userName", ""))
        ext = attrs.get("externalId")
        self.external_id: str | None = None if ext is None else str(ext)
        self.email: str | None = _primary_email(attrs)
        self.active: bool = bool(attrs.get("active", True))
        self.packed: str = json.dumps(attrs, separators=(",", ":"), ensure_ascii=False)

    def attrs(self) -> JsonDict:
        """Return a fresh copy of the stored attributes."""
        data: JsonDict = json.loads(self.packed)
        return data


class GroupRecord:
    """A stored group: indexed fields plus the compact JSON of the remaining attributes (never ``members``)."""

    __slots__ = ("created", "display_name", "external_id", "id", "packed", "seq", "updated")

    def __init__(self, id: str, seq: int, created: float, updated: float, attrs: JsonDict) -> None:
        self.id = id
        self.seq = seq
        self.created = created
        self.updated = updated
        self.set_attrs(attrs)

    def set_attrs(self, attrs: JsonDict) -> None:
        """Replace the attributes (and refresh the indexed fields)."""
        attrs = {k: v for k, v in attrs.items() if k != "members"}
        self.display_name: str = str(attrs.get("displayName", ""))
        ext = attrs.get("externalId")
        self.external_id: str | None = None if ext is None else str(ext)
        self.packed: str = json.dumps(attrs, separators=(",", ":"), ensure_ascii=False)

    def attrs(self) -> JsonDict:
        """Return a fresh copy of the stored attributes."""
        data: JsonDict = json.loads(self.packed)
        return data


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


class Store:
    """In-memory identity store with indexes; see the module docstring for the full contract."""

    def __init__(self, clock: Clock, *, seed: int | None = None, journal: Journal | None = None) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._journal = journal
        self._listeners: list[Listener] = []
        self._seq = 0
        self._users: dict[str, UserRecord] = {}
        self._groups: dict[str, GroupRecord] = {}
        self._user_by_name: dict[str, str] = {}
        self._user_by_email: dict[str, str] = {}
        self._user_by_ext: dict[str, str] = {}
        self._group_by_name: dict[str, str] = {}
        self._group_by_ext: dict[str, str] = {}
        self._members: dict[str, set[str]] = {}
        self._groups_of: dict[str, set[str]] = {}
        self._user_order = _Ordered()
        self._group_order = _Ordered()
        if journal is not None:
            self._load(journal)
            # a restarted store must not regenerate the ids it handed out before (re-created = new id)
            self._rng = random.Random(f"{seed}:{self._seq}:{len(self._users)}:{len(self._groups)}")

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
                if rid not in self._users and rid not in self._groups:
                    return rid

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- users -------------------------------------------------------------------------------------
    def _check_user_unique(self, attrs: JsonDict, own_id: str | None) -> None:
        name = str(attrs.get("userName", "")).casefold()
        other = self._user_by_name.get(name)
        if other is not None and other != own_id:
            raise Conflict("user", "userName", str(attrs.get("userName")))
        email = _primary_email(attrs)
        if email is not None:
            other = self._user_by_email.get(email.casefold())
            if other is not None and other != own_id:
                raise Conflict("user", "emails", email)
        ext = attrs.get("externalId")
        if ext is not None:
            other = self._user_by_ext.get(str(ext))
            if other is not None and other != own_id:
                raise Conflict("user", "externalId", str(ext))

    def _index_user(self, rec: UserRecord) -> None:
        self._user_by_name[rec.user_name.casefold()] = rec.id
        if rec.email is not None:
            self._user_by_email[rec.email.casefold()] = rec.id
        if rec.external_id is not None:
            self._user_by_ext[rec.external_id] = rec.id

    def _unindex_user(self, rec: UserRecord) -> None:
        self._user_by_name.pop(rec.user_name.casefold(), None)
        if rec.email is not None:
            self._user_by_email.pop(rec.email.casefold(), None)
        if rec.external_id is not None:
            self._user_by_ext.pop(rec.external_id, None)

    def create_user(self, attrs: JsonDict, *, user_id: str | None = None) -> JsonDict:
        """Store a new user; return its JSON body. Raises :class:`Conflict` on a uniqueness clash."""
        with self.lock:
            self._check_user_unique(attrs, None)
            now = self.clock.time()
            rid = user_id or self.new_id()
            if rid in self._users or rid in self._groups:
                raise Conflict("user", "id", rid)
            rec = UserRecord(rid, self._next_seq(), now, now, attrs)
            self._persist_user(rec)
            self._users[rid] = rec
            self._index_user(rec)
            self._user_order.append(rec.seq, rid)
            body = self._user_body(rec)
            self._emit([StoreEvent("user_created", now, user_id=rid)])
            return body

    def get_user(self, user_id: str) -> JsonDict:
        """Return the user's JSON body. Raises :class:`NotFound`."""
        with self.lock:
            return self._user_body(self._user(user_id))

    def has_user(self, user_id: str) -> bool:
        """Return whether ``user_id`` exists."""
        with self.lock:
            return user_id in self._users

    def user_active(self, user_id: str) -> bool:
        """Return the user's ``active`` flag. Raises :class:`NotFound`."""
        with self.lock:
            return self._user(user_id).active

    def replace_user(self, user_id: str, attrs: JsonDict) -> JsonDict:
        """Replace every attribute of a user (PUT, or the result of a PATCH); return the new body."""
        with self.lock:
            rec = self._user(user_id)
            self._check_user_unique(attrs, user_id)
            now = self.clock.time()
            old_packed = rec.packed
            self._unindex_user(rec)
            rec.set_attrs(attrs)
            rec.updated = now
            try:
                self._persist_user(rec)
            except BaseException:
                rec.set_attrs(json.loads(old_packed))
                self._index_user(rec)
                raise
            self._index_user(rec)
            body = self._user_body(rec)
            self._emit([StoreEvent("user_updated", now, user_id=user_id)])
            return body

    def delete_user(self, user_id: str) -> None:
        """Delete a user and its memberships. Raises :class:`NotFound`."""
        with self.lock:
            rec = self._user(user_id)
            now = self.clock.time()
            groups = sorted(self._groups_of.get(user_id, ()))
            ops: list[tuple[str, str, str | None]] = [("member", _mkey(g, user_id), None) for g in groups]
            ops.append(("user", user_id, None))
            self._write(ops)
            for g in groups:
                self._members[g].discard(user_id)
            self._groups_of.pop(user_id, None)
            del self._users[user_id]
            self._unindex_user(rec)
            self._user_order.remove(rec.seq)
            events = [StoreEvent("member_removed", now, user_id=user_id, group_id=g) for g in groups]
            events.append(StoreEvent("user_deleted", now, user_id=user_id))
            self._emit(events)

    def user_id_by_name(self, user_name: str) -> str | None:
        """Return the id of the user whose userName matches case-insensitively, or None."""
        with self.lock:
            return self._user_by_name.get(user_name.casefold())

    def user_id_by_external_id(self, external_id: str) -> str | None:
        """Return the id of the user with this externalId (case-exact), or None."""
        with self.lock:
            return self._user_by_ext.get(external_id)

    def user_id_by_email(self, email: str) -> str | None:
        """Return the id of the user with this primary email (case-insensitive), or None."""
        with self.lock:
            return self._user_by_email.get(email.casefold())

    def user_count(self) -> int:
        """Return how many users are stored."""
        with self.lock:
            return len(self._users)

    def user_seq(self, user_id: str) -> int:
        """Return the user's creation sequence (for cursors). Raises :class:`NotFound`."""
        with self.lock:
            return self._user(user_id).seq

    def page_users(self, after: int, limit: int) -> tuple[list[JsonDict], int | None]:
        """Return up to ``limit`` user bodies created after sequence ``after`` and the sequence to continue from."""
        with self.lock:
            return self._page(self._user_order.after(after), limit, self._users, self._user_body)

    def user_ids(self) -> list[str]:
        """Return every user id in creation order."""
        with self.lock:
            return [rid for _, rid in self._user_order.after(0)]

    def _user(self, user_id: str) -> UserRecord:
        rec = self._users.get(user_id)
        if rec is None:
            raise NotFound("user", user_id)
        return rec

    def _user_body(self, rec: UserRecord) -> JsonDict:
        body: JsonDict = {"id": rec.id}
        body.update(rec.attrs())
        body["meta"] = {
            "resourceType": "User",
            "created": format_time(rec.created),
            "lastModified": format_time(rec.updated),
        }
        return body

    def _persist_user(self, rec: UserRecord) -> None:
        self._write([("user", rec.id, _pack_record(rec.seq, rec.created, rec.updated, rec.packed))])

    # --- groups ------------------------------------------------------------------------------------
    def _check_group_unique(self, attrs: JsonDict, own_id: str | None) -> None:
        name = str(attrs.get("displayName", "")).casefold()
        other = self._group_by_name.get(name)
        if other is not None and other != own_id:
            raise Conflict("group", "displayName", str(attrs.get("displayName")))
        ext = attrs.get("externalId")
        if ext is not None:
            other = self._group_by_ext.get(str(ext))
            if other is not None and other != own_id:
                raise Conflict("group", "externalId", str(ext))

    def _index_group(self, rec: GroupRecord) -> None:
        self._group_by_name[rec.display_name.casefold()] = rec.id
        if rec.external_id is not None:
            self._group_by_ext[rec.external_id] = rec.id

    def _unindex_group(self, rec: GroupRecord) -> None:
        self._group_by_name.pop(rec.display_name.casefold(), None)
        if rec.external_id is not None:
            self._group_by_ext.pop(rec.external_id, None)

    def create_group(self, attrs: JsonDict, *, group_id: str | None = None) -> JsonDict:
        """Store a new group (``members`` in ``attrs`` is ignored: use :meth:`add_members`); return its body."""
        with self.lock:
            self._check_group_unique(attrs, None)
            now = self.clock.time()
            rid = group_id or self.new_id()
            if rid in self._users or rid in self._groups:
                raise Conflict("group", "id", rid)
            rec = GroupRecord(rid, self._next_seq(), now, now, attrs)
            self._persist_group(rec)
            self._groups[rid] = rec
            self._index_group(rec)
            self._group_order.append(rec.seq, rid)
            self._members[rid] = set()
            body = self._group_body(rec)
            self._emit([StoreEvent("group_created", now, group_id=rid)])
            return body

    def get_group(self, group_id: str) -> JsonDict:
        """Return the group's JSON body (without members). Raises :class:`NotFound`."""
        with self.lock:
            return self._group_body(self._group(group_id))

    def has_group(self, group_id: str) -> bool:
        """Return whether ``group_id`` exists."""
        with self.lock:
            return group_id in self._groups

    def replace_group(self, group_id: str, attrs: JsonDict) -> JsonDict:
        """Replace a group's attributes (memberships untouched); return the new body."""
        with self.lock:
            rec = self._group(group_id)
            self._check_group_unique(attrs, group_id)
            now = self.clock.time()
            old_packed = rec.packed
            self._unindex_group(rec)
            rec.set_attrs(attrs)
            rec.updated = now
            try:
                self._persist_group(rec)
            except BaseException:
                rec.set_attrs(json.loads(old_packed))
                self._index_group(rec)
                raise
            self._index_group(rec)
            body = self._group_body(rec)
            self._emit([StoreEvent("group_updated", now, group_id=group_id)])
            return body

    def delete_group(self, group_id: str) -> None:
        """Delete a group and its memberships. Raises :class:`NotFound`."""
        with self.lock:
            rec = self._group(group_id)
            now = self.clock.time()
            members = sorted(self._members.get(group_id, ()))
            ops: list[tuple[str, str, str | None]] = [("member", _mkey(group_id, u), None) for u in members]
            ops.append(("group", group_id, None))
            self._write(ops)
            for u in members:
                self._groups_of[u].discard(group_id)
            self._members.pop(group_id, None)
            del self._groups[group_id]
            self._unindex_group(rec)
            self._group_order.remove(rec.seq)
            events = [StoreEvent("member_removed", now, user_id=u, group_id=group_id) for u in members]
            events.append(StoreEvent("group_deleted", now, group_id=group_id))
            self._emit(events)

    def group_id_by_name(self, display_name: str) -> str | None:
        """Return the id of the group with this displayName (case-insensitive), or None."""
        with self.lock:
            return self._group_by_name.get(display_name.casefold())

    def group_id_by_external_id(self, external_id: str) -> str | None:
        """Return the id of the group with this externalId (case-exact), or None."""
        with self.lock:
            return self._group_by_ext.get(external_id)

    def group_count(self) -> int:
        """Return how many groups are stored."""
        with self.lock:
            return len(self._groups)

    def group_seq(self, group_id: str) -> int:
        """Return the group's creation sequence (for cursors). Raises :class:`NotFound`."""
        with self.lock:
            return self._group(group_id).seq

    def page_groups(self, after: int, limit: int) -> tuple[list[JsonDict], int | None]:
        """Return up to ``limit`` group bodies created after sequence ``after`` and the sequence to continue from."""
        with self.lock:
            return self._page(self._group_order.after(after), limit, self._groups, self._group_body)

    def group_ids(self) -> list[str]:
        """Return every group id in creation order."""
        with self.lock:
            return [rid for _, rid in self._group_order.after(0)]

    def _group(self, group_id: str) -> GroupRecord:
        rec = self._groups.get(group_id)
        if rec is None:
            raise NotFound("group", group_id)
        return rec

    def _group_body(self, rec: GroupRecord) -> JsonDict:
        body: JsonDict = {"id": rec.id}
        body.update(rec.attrs())
        body["meta"] = {
            "resourceType": "Group",
            "created": format_time(rec.created),
            "lastModified": format_time(rec.updated),
        }
        return body

    def _persist_group(self, rec: GroupRecord) -> None:
        self._write([("group", rec.id, _pack_record(rec.seq, rec.created, rec.updated, rec.packed))])

    # --- memberships -------------------------------------------------------------------------------
    def add_members(self, group_id: str, user_ids: Iterable[str]) -> list[str]:
        """Add users to a group; return the ids actually added (existing memberships are skipped).

        All-or-nothing: an unknown group or user raises :class:`NotFound` before anything changes.
        """
        with self.lock:
            self._group(group_id)
            wanted = list(dict.fromkeys(user_ids))
            for uid in wanted:
                self._user(uid)
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
            if group_id not in self._groups:
                raise NotFound("group", group_id)
            return sorted(self._members[group_id], key=lambda u: self._users[u].seq)

    def group_ids_of(self, user_id: str) -> list[str]:
        """Return the ids of the groups the user belongs to, in group creation order. Raises :class:`NotFound`."""
        with self.lock:
            if user_id not in self._users:
                raise NotFound("user", user_id)
            return sorted(self._groups_of.get(user_id, ()), key=lambda g: self._groups[g].seq)

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
            for index in (
                self._user_by_name,
                self._user_by_email,
                self._user_by_ext,
                self._group_by_name,
                self._group_by_ext,
                self._members,
                self._groups_of,
            ):
                index.clear()
            self._user_order.clear()
            self._group_order.clear()
            self._emit([StoreEvent("reset", self.clock.time())])

    def dump(self) -> JsonDict:
        """Return a JSON-ready snapshot: ``users``, ``groups`` (bodies) and ``memberships`` (group id → user ids)."""
        with self.lock:
            return {
                "users": [self._user_body(self._users[u]) for u in self.user_ids()],
                "groups": [self._group_body(self._groups[g]) for g in self.group_ids()],
                "memberships": {g: self.member_ids(g) for g in self.group_ids()},
            }

    def _page(
        self,
        order: Iterator[tuple[int, str]],
        limit: int,
        table: dict[str, Any],
        body: Callable[[Any], JsonDict],
    ) -> tuple[list[JsonDict], int | None]:
        out: list[JsonDict] = []
        last = 0
        for seq, rid in order:
            if len(out) == limit:
                return out, last
            out.append(body(table[rid]))
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
                urec = UserRecord(key, seq, created, updated, attrs)
                self._users[key] = urec
                self._index_user(urec)
                self._user_order.append(seq, key)
            else:
                grec = GroupRecord(key, seq, created, updated, attrs)
                self._groups[key] = grec
                self._index_group(grec)
                self._group_order.append(seq, key)
                self._members[key] = set()
        for key, _value in journal.load("member"):
            group_id, user_id = key.split("|", 1)
            if group_id in self._groups and user_id in self._users:
                self._members[group_id].add(user_id)
                self._groups_of.setdefault(user_id, set()).add(group_id)


def _mkey(group_id: str, user_id: str) -> str:
    return f"{group_id}|{user_id}"


def _pack_record(seq: int, created: float, updated: float, packed: str) -> str:
    return json.dumps([seq, created, updated, packed], separators=(",", ":"))
