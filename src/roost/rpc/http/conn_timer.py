"""Several deadlines of one connection on one ``TimerHandle``: :class:`ConnectionTimer`.

A busy connection moves its read deadline on every body chunk; cancelling and creating a
timer each time would cost more than the chunk. Instead a deadline is a number, and the one
handle, when it fires early, re-arms itself for what is left (the way Netty's
``IdleStateHandler`` checks the last read time when its timer runs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class ConnectionTimer:
    __slots__ = ("_at", "_due", "_expired", "_handle", "_loop")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, expired: Callable[[int], None], slots: int
    ) -> None:
        self._loop = loop
        self._expired = expired
        """Called with the slot whose deadline passed."""
        self._due: list[float | None] = [None] * slots
        self._handle: asyncio.TimerHandle | None = None
        self._at = 0.0

    def set(self, slot: int, delay: float | None) -> None:
        """Expire ``slot`` ``delay`` seconds from now (``None``: never)."""
        if delay is None:
            self._due[slot] = None
            return
        when = self._loop.time() + delay
        self._due[slot] = when
        self._arm(when)

    def cancel(self) -> None:
        self._due = [None] * len(self._due)
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            if self._at <= when:
                return  # fires earlier and re-arms for the rest
            self._handle.cancel()
        self._at = when
        self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        now = self._loop.time()
        for slot, due in enumerate(self._due):
            if due is not None and due <= now:
                self._due[slot] = None
                self._expired(slot)
        pending = [due for due in self._due if due is not None]
        if pending:
            self._arm(min(pending))
