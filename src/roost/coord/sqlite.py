"""The embedded default backend: one SQLite file in WAL mode (``sqlite:///path``).

All disk work runs on one dedicated worker thread, so the event loop never waits
on the file. Committed writes survive a SIGKILL of the process (WAL with
``synchronous=NORMAL`` is durable against process crashes, not power loss).

Several stores, in this process or others, may share a file: writes are
``BEGIN IMMEDIATE`` transactions (atomic compare-and-set), this store's own
writes reach its watches before the call returns, and other stores' writes are
picked up by polling the file's change log every ``poll_interval`` seconds.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from roost.coord.election import current_leader, run_election
from roost.coord.errors import StoreClosedError, StoreError
from roost.coord.rules import check_key, check_prefix, check_value
from roost.coord.sqlite_session import Outcome, SqliteSession
from roost.coord.store import Leadership
from roost.coord.watch import Watch, WatchHub
from roost.core.clock import SYSTEM_CLOCK, Clock

T = TypeVar("T")

log = logging.getLogger(__name__)


class SqliteStore:
    """A :class:`~roost.coord.store.Store` session on the SQLite file at ``path``.

    ``session_timeout``: how long after this process stops heartbeating (crash,
    SIGKILL, a stalled loop) its ephemerals and leaderships end; heartbeats go
    out every third of it. ``poll_interval``: how often changes made by other
    stores on the file are looked for. ``change_log_size``: rows of change log
    kept for those stores. The store binds to the event loop it is first used
    on. A call cancelled while its write is on the worker thread may still commit.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        session_timeout: float = 10.0,
        poll_interval: float = 0.5,
        change_log_size: int = 10_000,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if session_timeout <= 0 or poll_interval <= 0 or change_log_size < 1:
            raise ValueError("session_timeout, poll_interval and change_log_size must be > 0")
        self.path = os.fspath(path)
        self._poll_interval = poll_interval
        self._heartbeat_interval = session_timeout / 3
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="roost-sqlite")
        self._session: Future[SqliteSession] = self._executor.submit(
            SqliteSession, self.path, session_timeout, clock, change_log_size
        )
        self._hub = WatchHub()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: builtins.list[asyncio.Task[None]] = []
        self._closed = False

    async def get(self, key: str) -> tuple[bytes, int] | None:
        """See :meth:`roost.coord.store.Store.get`."""
        check_key(key)
        return await self._call(lambda s: s.get(key))

    async def put(self, key: str, value: bytes, expected_version: int | None = None) -> int:
        """See :meth:`roost.coord.store.Store.put`."""
        check_value(check_key(key), value)
        return await self._call(lambda s: s.put(key, value, expected_version))

    async def delete(self, key: str, expected_version: int | None = None) -> None:
        """See :meth:`roost.coord.store.Store.delete`."""
        check_key(key)
        await self._call(lambda s: s.delete(key, expected_version))

    async def list(self, prefix: str) -> builtins.list[str]:
        """See :meth:`roost.coord.store.Store.list`."""
        check_prefix(prefix)
        return await self._call(lambda s: s.list(prefix))

    def watch(self, prefix: str) -> Watch:
        """See :meth:`roost.coord.store.Store.watch`."""
        check_prefix(prefix)
        self._check_open()
        self._start()
        return self._hub.open(prefix)

    async def ephemeral(self, key: str, value: bytes) -> None:
        """See :meth:`roost.coord.store.Store.ephemeral`."""
        check_value(check_key(key), value)
        await self._call(lambda s: s.ephemeral(key, value, sequential=False))

    async def ephemeral_sequential(self, prefix: str, value: bytes) -> str:
        """See :meth:`roost.coord.election.CandidateStore.ephemeral_sequential`."""
        check_value(check_key(prefix), value)
        return await self._call(lambda s: s.ephemeral(prefix, value, sequential=True))

    def election(self, name: str, my_info: bytes) -> AbstractAsyncContextManager[Leadership]:
        """See :meth:`roost.coord.store.Store.election`."""
        return run_election(self, name, my_info)

    async def leader(self, name: str) -> bytes | None:
        """See :meth:`roost.coord.store.Store.leader`."""
        return await current_leader(self, name)

    async def expire_session(self) -> None:
        """Fault injection: end this session as a timeout would (its ephemerals vanish,
        its leaderships are lost) while the store stays usable with a new session."""
        await self._call(lambda s: s.expire(reopen=True))

    async def close(self) -> None:
        """See :meth:`roost.coord.store.Store.close`."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._close_session, loop)
        finally:
            self._executor.shutdown(wait=False)
            self._hub.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"the sqlite store {self.path} is closed")

    def _start(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            self._tasks = [
                loop.create_task(self._every(self._heartbeat_interval, SqliteSession.heartbeat)),
                loop.create_task(self._every(self._poll_interval, SqliteSession.poll)),
            ]
        elif loop is not self._loop:
            raise RuntimeError("a SqliteStore is bound to the event loop it was first used on")
        return loop

    async def _call(self, op: Callable[[SqliteSession], Outcome[T]]) -> T:
        self._check_open()
        loop = self._start()
        return await loop.run_in_executor(self._executor, self._run, loop, op)

    def _run(self, loop: asyncio.AbstractEventLoop, op: Callable[[SqliteSession], Outcome[T]]) -> T:
        # Worker thread. Publishing through the loop before returning means the
        # caller's own watches hold the events by the time its await resumes.
        try:
            result, events = op(self._session.result())
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {self.path}: {exc}") from exc
        if events:
            loop.call_soon_threadsafe(self._hub.publish, events)
        return result

    def _close_session(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._session.exception() is not None:
            return  # never opened: nothing to clean
        try:
            self._run(loop, lambda s: s.expire(reopen=False))
        finally:
            self._session.result().close()

    async def _every(self, interval: float, op: Callable[[SqliteSession], Outcome[None]]) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self._call(op)
            except StoreClosedError:
                return
            except StoreError as exc:  # e.g. the file stayed locked; try again next round
                log.warning("background %s failed: %s", op.__name__, exc)
