"""The identity store behind the fake IAM Identity Center: users, groups, memberships (pure state, no HTTP).

This is the "backend" half of the moto split (``models.py``): the SCIM service (``scim_server/service.py``) and the
AWS API routes (``scim_server/aws/``) validate requests and call this class. The store never sees a Request object
and never formats an HTTP error; it raises :class:`~scim_server.records.StoreError` subclasses instead.

:class:`Store` is the one entry point and owns the lock, the journal writes and the events; the parts live in
small modules: ``records.py`` (record types, ``NotFound``/``Conflict``, time format), ``indexes.py`` (creation
order, unique indexes, memberships), ``events.py`` (``StoreEvent``, listeners) and ``journal.py`` (the
``Journal`` interface and the record layout in it).

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
    Optional write-through :class:`Journal` (:mod:`fakekit.persist` has the SQLite one): every change is written
    and committed before the method returns, so an HTTP response is only sent for a durable write. On start the
    store loads the journal's contents.

Ordering and paging
    Users and groups are listed in creation order. ``page_users(after, limit)`` returns up to ``limit`` records
    whose creation sequence is greater than ``after`` plus the sequence to continue from (``None`` at the end);
    the SCIM layer turns that sequence into an opaque cursor.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterable

from fakekit.ids import seeded_uuid
from scim_server.events import Listener, Listeners, StoreEvent
from scim_server.indexes import Memberships, R, ResourceTable
from scim_server.journal import Journal, JournalOp, load_members, load_records, member_key, pack_record
from scim_server.records import Conflict, GroupRecord, JsonDict, NotFound, UserRecord
from sim.clock import Clock

__all__ = ["Store"]


class Store:
    """In-memory identity store with indexes; see the module docstring for the full contract."""

    def __init__(self, clock: Clock, *, seed: int | None = None, journal: Journal | None = None) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._journal = journal
        self._listeners = Listeners()
        self._seq = 0
        self._users = ResourceTable(UserRecord, "user", "User", ("userName", "emails", "externalId"))
        self._groups = ResourceTable(GroupRecord, "group", "Group", ("displayName", "externalId"))
        self._memberships = Memberships()
        if journal is not None:
            self._load(journal)
            # a restarted store must not regenerate the ids it handed out before (re-created = new id)
            self._rng = random.Random(f"{seed}:{self._seq}:{self.user_count()}:{self.group_count()}")

    # --- listeners ---------------------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` after every committed change (see the module docstring)."""
        with self.lock:
            self._listeners.add(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        with self.lock:
            self._listeners.remove(listener)

    # --- ids ---------------------------------------------------------------------------------------
    def new_id(self) -> str:
        """Return a fresh id in AWS's ``<10 hex>-<uuid4>`` form from the seeded generator."""
        with self.lock:
            while True:
                prefix = f"{self._rng.getrandbits(40):010x}"
                rid = f"{prefix}-{seeded_uuid(self._rng)}"
                if rid not in self._users.records and rid not in self._groups.records:
                    return rid

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- what users and groups share ---------------------------------------------------------------
    def _insert(self, table: ResourceTable[R], attrs: JsonDict, wanted_id: str | None) -> R:
        table.check_unique(attrs, None)
        now = self.clock.time()
        rid = wanted_id or self.new_id()
        if rid in self._users.records or rid in self._groups.records:
            raise Conflict(table.kind, "id", rid)
        rec = table.record_type(rid, self._next_seq(), now, now, attrs)
        self._persist(table, rec)
        table.add(rec)
        return rec

    def _replace(self, table: ResourceTable[R], rid: str, attrs: JsonDict) -> JsonDict:
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

    def _announce(self, table: ResourceTable[R], rec: R, what: str, at: float) -> JsonDict:
        body = table.body(rec)
        self._listeners.emit([table.event(what, at, rec.id)])
        return body

    def _delete(self, table: ResourceTable[R], rid: str, pairs: list[tuple[str, str]]) -> None:
        """Delete ``rid`` and its memberships ``pairs`` (``(group id, user id)``, in event order)."""
        rec = table.get(rid)
        now = self.clock.time()
        ops: list[JournalOp] = [("member", member_key(g, u), None) for g, u in pairs]
        ops.append((table.kind, rid, None))
        self._write(ops)
        for g, u in pairs:
            self._memberships.remove(g, u)
        if table is self._users:
            self._memberships.drop_user(rid)
        else:
            self._memberships.drop_group(rid)
        table.drop(rec)
        events = [StoreEvent("member_removed", now, user_id=u, group_id=g) for g, u in pairs]
        events.append(table.event("deleted", now, rid))
        self._listeners.emit(events)

    def _persist(self, table: ResourceTable[R], rec: R) -> None:
        self._write([(table.kind, rec.id, pack_record(rec.seq, rec.created, rec.updated, rec.packed))])

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
            groups = sorted(self._memberships.groups_of(user_id))
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
            return self._users.page(after, limit)

    def user_ids(self) -> list[str]:
        """Return every user id in creation order."""
        with self.lock:
            return self._users.ids()

    # --- groups ------------------------------------------------------------------------------------
    def create_group(self, attrs: JsonDict, *, group_id: str | None = None) -> JsonDict:
        """Store a new group (``members`` in ``attrs`` is ignored: use :meth:`add_members`); return its body."""
        with self.lock:
            rec = self._insert(self._groups, attrs, group_id)
            self._memberships.add_group(rec.id)
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
            members = sorted(self._memberships.members(group_id) or ())
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
            return self._groups.page(after, limit)

    def group_ids(self) -> list[str]:
        """Return every group id in creation order."""
        with self.lock:
            return self._groups.ids()

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
            current = self._memberships.members(group_id) or set()
            added = [u for u in wanted if u not in current]
            if not added:
                return []
            now = self.clock.time()
            self._write([("member", member_key(group_id, u), json.dumps(now)) for u in added])
            for u in added:
                self._memberships.add(group_id, u)
            self._listeners.emit([StoreEvent("member_added", now, user_id=u, group_id=group_id) for u in added])
            return added

    def remove_members(self, group_id: str, user_ids: Iterable[str]) -> list[str]:
        """Remove users from a group; return the ids actually removed (absent memberships are skipped).

        An unknown group raises :class:`NotFound`; unknown user ids are simply not members.
        """
        with self.lock:
            current = self._memberships.members(group_id)
            if current is None:
                raise NotFound("group", group_id)
            removed = [u for u in dict.fromkeys(user_ids) if u in current]
            if not removed:
                return []
            now = self.clock.time()
            self._write([("member", member_key(group_id, u), None) for u in removed])
            for u in removed:
                self._memberships.remove(group_id, u)
            self._listeners.emit([StoreEvent("member_removed", now, user_id=u, group_id=group_id) for u in removed])
            return removed

    def is_member(self, group_id: str, user_id: str) -> bool:
        """Return whether ``user_id`` is a member of ``group_id`` (False for unknown ids)."""
        with self.lock:
            return self._memberships.is_member(group_id, user_id)

    def member_ids(self, group_id: str) -> list[str]:
        """Return the group's member user ids in user creation order. Raises :class:`NotFound`."""
        with self.lock:
            if group_id not in self._groups.records:
                raise NotFound("group", group_id)
            return sorted(self._memberships.members(group_id) or (), key=lambda u: self._users.records[u].seq)

    def group_ids_of(self, user_id: str) -> list[str]:
        """Return the ids of the groups the user belongs to, in group creation order. Raises :class:`NotFound`."""
        with self.lock:
            if user_id not in self._users.records:
                raise NotFound("user", user_id)
            return sorted(self._memberships.groups_of(user_id), key=lambda g: self._groups.records[g].seq)

    def membership_count(self) -> int:
        """Return the total number of (group, user) memberships."""
        with self.lock:
            return self._memberships.count()

    # --- whole store -------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every user, group and membership (and the journal's copies); emit a ``reset`` event."""
        with self.lock:
            if self._journal is not None:
                self._journal.clear(("user", "group", "member"))
            self._users.clear()
            self._groups.clear()
            self._memberships.clear()
            self._listeners.emit([StoreEvent("reset", self.clock.time())])

    def dump(self) -> JsonDict:
        """Return a JSON-ready snapshot: ``users``, ``groups`` (bodies) and ``memberships`` (group id → user ids)."""
        with self.lock:
            return {
                "users": [self._users.body(self._users.records[u]) for u in self.user_ids()],
                "groups": [self._groups.body(self._groups.records[g]) for g in self.group_ids()],
                "memberships": {g: self.member_ids(g) for g in self.group_ids()},
            }

    # --- persistence -------------------------------------------------------------------------------
    def _write(self, ops: list[JournalOp]) -> None:
        if self._journal is not None and ops:
            self._journal.put_many(ops)

    def _load(self, journal: Journal) -> None:
        for seq, kind, key, created, updated, attrs in load_records(journal):
            self._seq = max(self._seq, seq)
            if kind == "user":
                self._users.add(UserRecord(key, seq, created, updated, attrs))
            else:
                self._groups.add(GroupRecord(key, seq, created, updated, attrs))
                self._memberships.add_group(key)
        for group_id, user_id in load_members(journal):
            if group_id in self._groups.records and user_id in self._users.records:
                self._memberships.add(group_id, user_id)
