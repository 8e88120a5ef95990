"""Write-through SQLite persistence for the fake's state (``jitbox serve --state FILE``).

One table ``records(kind, key, value, seq)``; every :meth:`SqliteJournal.put_many` is one transaction committed before
it returns, so a write the HTTP layer acknowledged survives a restart (the issue's "keeps every acknowledged
write"). Uses only the standard library's ``sqlite3``. Other components (e.g. the AWS access plane) may store their
own kinds in the same journal.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

__all__ = ["SqliteJournal"]


class SqliteJournal:
    """A :class:`scim_server.journal.Journal` backed by one SQLite file (thread-safe, synchronous commits)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        # The file holds tokens and credentials: owner-only (0600) from its first byte; SQLite gives its -wal and
        # -shm files the database file's mode.
        if str(path) != ":memory:":
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
            os.chmod(self.path, 0o600)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS records ("
            "kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, seq INTEGER NOT NULL, "
            "PRIMARY KEY (kind, key))"
        )
        row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM records").fetchone()
        self._seq = int(row[0])

    def put(self, kind: str, key: str, value: str) -> None:
        """Insert or replace one record and commit."""
        self.put_many([(kind, key, value)])

    def delete(self, kind: str, key: str) -> None:
        """Delete one record (if present) and commit."""
        self.put_many([(kind, key, None)])

    def put_many(self, items: Iterable[tuple[str, str, str | None]]) -> None:
        """Apply puts (value str) and deletes (value None) in one transaction, committed before returning."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for kind, key, value in items:
                    if value is None:
                        self._db.execute("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key))
                    else:
                        self._seq += 1
                        self._db.execute(
                            "INSERT INTO records(kind, key, value, seq) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value",
                            (kind, key, value, self._seq),
                        )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def clear(self, kinds: Iterable[str]) -> None:
        """Delete every record of the given kinds and commit."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for kind in kinds:
                self._db.execute("DELETE FROM records WHERE kind = ?", (kind,))
            self._db.execute("COMMIT")

    def load(self, kind: str) -> list[tuple[str, str]]:
        """Return every ``(key, value)`` of ``kind`` in first-insertion order."""
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM records WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
        return [(str(k), str(v)) for k, v in rows]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
