"""Identity Center membership and user-status history on the injected clock.

The access plane decides launches with :func:`sim.rules.launch_allowed`, which asks "was the user a member at
time t" (at sign-in, at launch, or at the last hourly refresh, by entitlement mode). The identity store only holds
the present, so this module records every membership add/remove and every user disable/delete as it happens,
as half-open intervals :class:`sim.rules.Interval` per (user, group).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

from sim.rules import Interval

if TYPE_CHECKING:
    from scim_server.events import StoreEvent
    from scim_server.journal import Journal
    from scim_server.store import Store

KIND = "aws_history"
"""Journal kind holding the history (``open|user|group`` → start, ``closed|user|group|start`` → [start, end],
``disabled|user`` / ``deleted|user`` → time)."""

__all__ = ["MembershipHistory", "track_history"]


class MembershipHistory:
    """Per (user, group) membership intervals and per-user disable/delete times."""

    def __init__(self, journal: Journal | None = None) -> None:
        self._closed: dict[tuple[str, str], list[Interval]] = {}
        self._open: dict[tuple[str, str], float] = {}
        self._disabled: dict[str, float] = {}
        self._deleted: dict[str, float] = {}
        self._journal = journal
        if journal is not None:
            self._load(journal)

    def _load(self, journal: Journal) -> None:
        for key, value in journal.load(KIND):
            kind, _, rest = key.partition("|")
            data = json.loads(value)
            if kind == "open":
                user, group = rest.split("|", 1)
                self._open[(user, group)] = float(data)
            elif kind == "closed":
                user, group, _start = rest.split("|", 2)
                self._closed.setdefault((user, group), []).append(Interval(float(data[0]), float(data[1])))
            elif kind == "disabled":
                self._disabled[rest] = float(data)
            elif kind == "deleted":
                self._deleted[rest] = float(data)
        for intervals in self._closed.values():
            intervals.sort(key=lambda iv: iv.start)

    def _write(self, ops: list[tuple[str, str | None]]) -> None:
        if self._journal is not None:
            self._journal.put_many([(KIND, key, value) for key, value in ops])

    def clear(self) -> None:
        """Forget everything (sandbox reset)."""
        self._closed.clear()
        self._open.clear()
        self._disabled.clear()
        self._deleted.clear()
        if self._journal is not None:
            self._journal.clear([KIND])

    # --- events ----------------------------------------------------------------------------------------
    def member_added(self, user_id: str, group_id: str, t: float) -> None:
        """Record that ``user_id`` became a member of ``group_id`` at ``t`` (no-op if already a member)."""
        if (user_id, group_id) not in self._open:
            self._open[(user_id, group_id)] = t
            self._write([(f"open|{user_id}|{group_id}", json.dumps(t))])

    def member_removed(self, user_id: str, group_id: str, t: float) -> None:
        """Record that ``user_id`` stopped being a member of ``group_id`` at ``t`` (no-op if not a member)."""
        start = self._open.pop((user_id, group_id), None)
        if start is None:
            return
        ops: list[tuple[str, str | None]] = [(f"open|{user_id}|{group_id}", None)]
        if t > start:
            self._closed.setdefault((user_id, group_id), []).append(Interval(start, t))
            ops.append((f"closed|{user_id}|{group_id}|{start!r}", json.dumps([start, t])))
        self._write(ops)

    def user_disabled(self, user_id: str, t: float) -> None:
        """Record that ``user_id`` was disabled (``active=false`` / ``UserStatus DISABLED``) at ``t``."""
        if user_id not in self._disabled:
            self._disabled[user_id] = t
            self._write([(f"disabled|{user_id}", json.dumps(t))])

    def user_enabled(self, user_id: str) -> None:
        """Record that ``user_id`` is enabled again."""
        if self._disabled.pop(user_id, None) is not None:
            self._write([(f"disabled|{user_id}", None)])

    def user_deleted(self, user_id: str, t: float) -> None:
        """Record that ``user_id`` was deleted at ``t`` and close all of its memberships."""
        if user_id not in self._deleted:
            self._deleted[user_id] = t
            self._write([(f"deleted|{user_id}", json.dumps(t))])
        for user, group in [key for key in self._open if key[0] == user_id]:
            self.member_removed(user, group, t)

    def group_deleted(self, group_id: str, t: float) -> None:
        """Close every membership of ``group_id`` at ``t``."""
        for user, group in [key for key in self._open if key[1] == group_id]:
            self.member_removed(user, group, t)

    # --- queries ---------------------------------------------------------------------------------------
    def intervals(self, user_id: str, group_id: str) -> list[Interval]:
        """Return the membership intervals of ``user_id`` in ``group_id``, earliest first (open ones end at inf)."""
        out = list(self._closed.get((user_id, group_id), []))
        start = self._open.get((user_id, group_id))
        if start is not None:
            out.append(Interval(start, math.inf))
        return out

    def groups_ever(self, user_id: str) -> set[str]:
        """Return every group ``user_id`` has ever been a member of."""
        keys = set(self._closed) | set(self._open)
        return {group for user, group in keys if user == user_id}

    def member_at(self, user_id: str, group_id: str, t: float) -> bool:
        """Return True when ``user_id`` was a member of ``group_id`` at ``t``."""
        return any(iv.contains(t) for iv in self.intervals(user_id, group_id))

    def disabled_at(self, user_id: str) -> float | None:
        """Return when the user was disabled or deleted (the earlier), or None while enabled and present."""
        times = [x for x in (self._disabled.get(user_id), self._deleted.get(user_id)) if x is not None]
        return min(times) if times else None

    def dump(self) -> dict[str, object]:
        """Return a JSON-ready view for ``GET /_sandbox/state``."""
        rows = []
        for user, group in sorted(set(self._closed) | set(self._open)):
            for iv in self.intervals(user, group):
                rows.append({"user_id": user, "group_id": group, "start": iv.start, "end": _json_time(iv.end)})
        return {"memberships": rows, "disabled": dict(self._disabled), "deleted": dict(self._deleted)}


def _json_time(t: float) -> float | None:
    return None if math.isinf(t) else t


def track_history(store: Store, history: MembershipHistory) -> None:
    """Record the store's membership and user-status changes into ``history`` (and seed it with the present)."""
    with store.lock:
        now = store.clock.time()
        for group_id in store.group_ids():
            for user_id in store.member_ids(group_id):
                history.member_added(user_id, group_id, now)
        for user_id in store.user_ids():
            if not store.user_active(user_id):
                history.user_disabled(user_id, now)

        def listener(event: StoreEvent) -> None:
            if event.kind == "member_added" and event.user_id and event.group_id:
                history.member_added(event.user_id, event.group_id, event.at)
            elif event.kind == "member_removed" and event.user_id and event.group_id:
                history.member_removed(event.user_id, event.group_id, event.at)
            elif event.kind == "user_deleted" and event.user_id:
                history.user_deleted(event.user_id, event.at)
            elif event.kind in ("user_created", "user_updated") and event.user_id:
                if store.has_user(event.user_id) and not store.user_active(event.user_id):
                    history.user_disabled(event.user_id, event.at)
                else:
                    history.user_enabled(event.user_id)
            elif event.kind == "group_deleted" and event.group_id:
                history.group_deleted(event.group_id, event.at)
            elif event.kind == "reset":
                history.clear()

        store.add_listener(listener)
