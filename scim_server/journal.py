"""The write-through journal the identity store persists to, and how store records are laid out in it.

:class:`Journal` is the interface (it and the SQLite one live in :mod:`fakekit.persist`, shared with the Entra fake).
The store writes three kinds:

- ``user`` / ``group``: key = id, value = JSON ``[seq, created, updated, "<compact JSON of the attributes>"]``;
- ``member``: key = ``"<group id>|<user id>"``, value = the Unix time the membership was added.

Other components (tokens, the AWS access plane) keep their own kinds in the same journal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from fakekit.persist import Journal, JournalOp
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

StoredRecord = tuple[int, str, str, float, float, JsonDict]
"""``(seq, kind, id, created, updated, attributes)`` of a user or group read back from a journal."""


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
