"""One session on a roost SQLite file: the synchronous transactions behind SqliteStore.

Everything here runs on the store's single worker thread. Every write is one
``BEGIN IMMEDIATE`` transaction, so compare-and-set is atomic across threads and
processes sharing the file; it first expires dead sessions (deleting their
ephemerals), then appends what it changed to the ``changes`` log, which is how
other stores on the file learn about it.

Sessions are rows with a wall-clock deadline that their owner pushes forward by
heartbeat; an ephemeral whose owner's deadline has passed is invisible to reads
at once and deleted (with a logged ``delete``) by the next write of any session.
"""

from __future__ import annotations

import builtins
import logging
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from roost.coord.errors import NodeExistsError
from roost.coord.rules import (
    CREATE_ONLY,
    check_delete,
    check_key,
    child_names,
    key_range,
    next_version,
)
from roost.coord.watch import WatchEvent
from roost.core.clock import Clock

T = TypeVar("T")
Outcome = tuple[T, list[WatchEvent]]
"""A result plus the committed changes it observed, for the store to publish."""

log = logging.getLogger(__name__)

BUSY_TIMEOUT = 5.0
"""Seconds a write waits for another connection's write transaction to finish."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    version INTEGER NOT NULL,
    owner TEXT  -- session id of an ephemeral's owner, NULL for persistent nodes
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nodes_by_owner ON nodes (owner) WHERE owner IS NOT NULL;
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, expires REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sequences (parent TEXT PRIMARY KEY, next INTEGER NOT NULL)
    WITHOUT ROWID;
"""

_LIVE = "(owner IS NULL OR owner IN (SELECT id FROM sessions WHERE expires > ?))"


def _enable_wal(conn: sqlite3.Connection) -> None:
    # Switching a fresh file to WAL fails at once (no busy handler) while another
    # connection is doing the same; by the retry the file is usually WAL already.
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SqliteSession:
    """A connection to the file plus this store's session id and change-log cursor."""

    def __init__(self, path: str, session_timeout: float, clock: Clock, log_size: int) -> None:
        self._timeout = session_timeout
        self._clock = clock
        self._log_size = log_size
        self._conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        # WAL + synchronous=NORMAL: a committed write survives the process being killed.
        _enable_wal(self._conn)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(f"BEGIN IMMEDIATE;{SCHEMA}COMMIT;")
        self.id = uuid.uuid4().hex
        self._cursor = 0
        with self._write() as now:
            self._renew(now)
            (last,) = self._conn.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()
            self._cursor = last

    def get(self, key: str) -> Outcome[tuple[bytes, int] | None]:
        sql = f"SELECT value, version FROM nodes WHERE key = ? AND {_LIVE}"
        row = self._conn.execute(sql, (key, self._clock.time())).fetchone()
        return (None if row is None else (row[0], row[1])), []

    def list(self, prefix: str) -> Outcome[list[str]]:
        sql = f"SELECT key FROM nodes WHERE key >= ? AND key < ? AND {_LIVE}"
        rows = self._conn.execute(sql, (*key_range(prefix), self._clock.time())).fetchall()
        return child_names(prefix, [key for (key,) in rows]), []

    def put(self, key: str, value: bytes, expected: int | None) -> Outcome[int]:
        with self._write():
            current = self._version(key)
            version = next_version(key, current, expected)
            self._conn.execute(
                "INSERT INTO nodes (key, value, version) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET value = excluded.value, version = excluded.version",
                (key, value, version),
            )
            self._log("put", key, value, version)
            return version, self._read_changes()

    def delete(self, key: str, expected: int | None) -> Outcome[None]:
        with self._write():
            version = check_delete(key, self._version(key), expected)
            self._conn.execute("DELETE FROM nodes WHERE key = ?", (key,))
            self._log("delete", key, None, version)
            return None, self._read_changes()

    def ephemeral(self, key: str, value: bytes, sequential: bool) -> Outcome[str]:
        """Create ``key`` (or ``key`` + next sequence number) owned by this session."""
        with self._write() as now:
            self._renew(now)
            if sequential:
                key = check_key(f"{key}{self._next_sequence(key.rsplit('/', 1)[0]):010d}")
            if self._version(key) is not None:
                raise NodeExistsError(f"node {key} already exists", key=key)
            version = next_version(key, None, CREATE_ONLY)
            self._conn.execute(
                "INSERT INTO nodes (key, value, version, owner) VALUES (?, ?, ?, ?)",
                (key, value, version, self.id),
            )
            self._log("put", key, value, version)
            return key, self._read_changes()

    def heartbeat(self) -> Outcome[None]:
        """Renew this session, expire dead ones and keep the change log bounded."""
        with self._write() as now:
            self._renew(now)
            self._conn.execute(
                "DELETE FROM changes WHERE id <= (SELECT max(id) FROM changes) - ?",
                (self._log_size,),
            )
            return None, self._read_changes()

    def poll(self) -> Outcome[None]:
        """Changes committed by anyone since the last look."""
        return None, self._read_changes()

    def expire(self, reopen: bool) -> Outcome[None]:
        """End this session now (its ephemerals go); with ``reopen`` start a fresh one."""
        with self._write() as now:
            self._delete_nodes("SELECT key, version FROM nodes WHERE owner = ?", (self.id,))
            self._conn.execute("DELETE FROM sessions WHERE id = ?", (self.id,))
            if reopen:
                self.id = uuid.uuid4().hex
                self._renew(now)
            return None, self._read_changes()

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[float]:
        self._conn.execute("BEGIN IMMEDIATE")
        cursor = self._cursor
        try:
            now = self._clock.time()
            self._conn.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
            self._delete_nodes(
                "SELECT key, version FROM nodes WHERE owner IS NOT NULL"
                " AND owner NOT IN (SELECT id FROM sessions)",
                (),
            )
            yield now
            self._conn.execute("COMMIT")
        except BaseException:
            self._cursor = cursor
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    def _renew(self, now: float) -> None:
        self._conn.execute(
            "INSERT INTO sessions (id, expires) VALUES (?, ?)"
            " ON CONFLICT (id) DO UPDATE SET expires = excluded.expires",
            (self.id, now + self._timeout),
        )

    def _version(self, key: str) -> int | None:
        row = self._conn.execute("SELECT version FROM nodes WHERE key = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    def _next_sequence(self, parent: str) -> int:
        row = self._conn.execute(
            "INSERT INTO sequences (parent, next) VALUES (?, 1) ON CONFLICT (parent)"
            " DO UPDATE SET next = next + 1 RETURNING next",
            (parent,),
        ).fetchone()
        return int(row[0]) - 1

    def _delete_nodes(self, select: str, params: tuple[Any, ...]) -> None:
        for key, version in self._conn.execute(select, params).fetchall():
            self._conn.execute("DELETE FROM nodes WHERE key = ?", (key,))
            self._log("delete", key, None, version)

    def _log(
        self, kind: Literal["put", "delete"], key: str, value: bytes | None, version: int
    ) -> None:
        self._conn.execute(
            "INSERT INTO changes (kind, key, value, version) VALUES (?, ?, ?, ?)",
            (kind, key, value, version),
        )

    def _read_changes(self) -> builtins.list[WatchEvent]:
        rows = self._conn.execute(
            "SELECT id, kind, key, value, version FROM changes WHERE id > ? ORDER BY id",
            (self._cursor,),
        ).fetchall()
        if rows and rows[0][0] > self._cursor + 1 and self._cursor:
            log.warning("change log trimmed past this store's cursor: some watch events were lost")
        if rows:
            self._cursor = rows[-1][0]
        return [WatchEvent(kind, key, value, version) for _, kind, key, value, version in rows]
