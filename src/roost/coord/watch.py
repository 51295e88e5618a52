"""Watches: a store's changes as an async stream (Tower's ``discover::Change`` shape).

Unlike ZooKeeper's one-shot watches a :class:`Watch` keeps delivering until it is
closed or its store closes; consumers react to changes instead of polling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from roost.coord.errors import StoreClosedError
from roost.coord.rules import is_under


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One committed change: ``put`` carries the new value and version, ``delete`` the last
    version and ``value=None``."""

    kind: Literal["put", "delete"]
    key: str
    value: bytes | None
    version: int


class Watch:
    """Changes to keys at or under ``prefix``, in commit order, as an async iterator.

    The watch is registered when it is created. Open the watch first, then read
    the current state: every change the read does not already reflect is then
    delivered (a store still opening its session in the background finishes
    that before the read, as ZooKeeper sets watches with reads). Iteration ends
    when the watch or its store is closed. Events queue without bound; a
    consumer that stops reading should close the watch.
    """

    def __init__(self, prefix: str, hub: WatchHub) -> None:
        self.prefix = prefix
        self._hub = hub
        self._queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._ended = False

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> WatchEvent:
        if self._ended:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            self._ended = True
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Stop delivering; a pending ``__anext__`` ends the iteration."""
        self._hub.discard(self)
        self._end()

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _deliver(self, event: WatchEvent) -> None:
        self._queue.put_nowait(event)

    def _end(self) -> None:
        self._queue.put_nowait(None)


class WatchHub:
    """The open watches of one store; its backend publishes each committed change here."""

    def __init__(self) -> None:
        self._watches: set[Watch] = set()
        self._closed = False

    def open(self, prefix: str) -> Watch:
        """Register and return a new watch on ``prefix`` (already validated)."""
        if self._closed:
            raise StoreClosedError("cannot watch: the store is closed", key=prefix)
        watch = Watch(prefix, self)
        self._watches.add(watch)
        return watch

    def discard(self, watch: Watch) -> None:
        """Forget ``watch``; it receives nothing more."""
        self._watches.discard(watch)

    def publish(self, events: Iterable[WatchEvent]) -> None:
        """Hand each event to every watch whose prefix covers its key."""
        for event in events:
            for watch in self._watches:
                if is_under(event.key, watch.prefix):
                    watch._deliver(event)

    def close(self) -> None:
        """End every watch (their iterations stop) and refuse new ones."""
        self._closed = True
        for watch in self._watches:
            watch._end()
        self._watches.clear()
