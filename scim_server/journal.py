"""The write-through journal the identity store persists to, and how store records are laid out in it.

:class:`Journal` is the interface (``scim_server/persist.py`` has the SQLite one). The store writes three kinds:

- ``user`` / ``group``: key = id, value = JSON ``[seq, created, updated, "<compact JSON of the attributes>"]``;
- ``member``: key = ``"<group id>|<user id>"``, value = the Unix time the membership was added.

Other components (tokens, the AWS access plane) keep their own kinds in the same journal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Protocol

from scim_server.records import JsonDict

__all__ = [
    "Journal",
    "JournalOp",
    "StoredRecord",
    "load_members",
    "load_records",
    "member_key",
    "pack_record",
]

JournalOp = tuple[str, str, str | None]
"""``(kind, key, value)``: a put (value is JSON text) or a delete (value None)."""

StoredRecord = tuple[int, str, str, float, float, JsonDict]
"""``(seq, kind, id, created, updated, attributes)`` of a user or group read back from a journal."""


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


def member_key(group_id: str, user_id: str) -> str:
    """Return the journal key of the membership of ``user_id`` in ``group_id``."""
    return f"{group_id}|{user_id}"


def pack_record(seq: int, created: float, updated: float, packed: str) -> str:
    """Return the journal value of a user or group record (``packed`` is the compact JSON of its attributes)."""
    return json.dumps([seq, created, updated, packed], separators=(",", ":"))


def load_records(journal: Journal) -> list[StoredRecord]:
    """Return every user and group in ``journal`` in creation order (by sequence)."""
    rows: list[StoredRecord] = []
    for kind in ("user", "group"):
        for key, value in journal.load(kind):
            seq, created, updated, packed = json.loads(value)
            rows.append((int(seq), kind, key, float(created), float(updated), json.loads(packed)))
    rows.sort(key=lambda r: r[0])
    return rows


def load_members(journal: Journal) -> Iterator[tuple[str, str]]:
    """Yield ``(group id, user id)`` for every membership in ``journal``."""
    for key, _value in journal.load("member"):
        group_id, user_id = key.split("|", 1)
        yield group_id, user_id
