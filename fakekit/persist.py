"""Write-through SQLite persistence for the fakes' state (``jitbox serve --state FILE``), shared by both fakes.

:class:`Journal` is the interface (a key-value log of JSON records by ``kind``); :class:`SqliteJournal` keeps it in one
SQLite file: one table ``records(kind, key, value, seq)``; every :meth:`SqliteJournal.put_many` is one transaction committed before
it returns, so a write the HTTP layer acknowledged survives a restart (the issue's "keeps every acknowledged
write"). Uses only the standard library's ``sqlite3``. The Identity Center fake stores its kinds (``user``,
``group``, ``member``, ``token``, ``meta``, the access plane's) and the Entra fake its own (``entra.*``,
:mod:`pim_fake.persist`) in the same file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FlushBeforeResponse", "Journal", "JournalOp", "SqliteJournal"]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods whose requests are not expected to change state (a flush after them only writes what did change)."""

JournalOp = tuple[str, str, str | None]
"""``(kind, key, value)``: a put (value is JSON text) or a delete (value None)."""


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


class SqliteJournal:
    """A :class:`Journal` backed by one SQLite file (thread-safe, synchronous commits)."""

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


class FlushBeforeResponse:
    """ASGI middleware: call ``flush(force)`` after the app has answered and before the answer's first byte is sent,
    so every change a client sees acknowledged is already committed (``jitbox serve --state``).

    ``force`` is True for methods other than GET/HEAD/OPTIONS. The flush runs in a worker thread (it commits to
    SQLite) so the event loop is not held. An exception from it propagates like one from the app (the outer error
    middleware answers in the protocol's format; nothing of the original answer was sent).
    """

    def __init__(self, app: ASGIApp, flush: Any) -> None:
        self.app = app
        self.flush = flush

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        force = scope.get("method", "GET") not in READ_METHODS
        flushed = False

        async def send_after_flush(message: Message) -> None:
            nonlocal flushed
            if message["type"] == "http.response.start" and not flushed:
                flushed = True
                await run_in_threadpool(self.flush, force)
            await send(message)

        await self.app(scope, receive, send_after_flush)
