"""A received body read as a stream: :class:`BodyStream`.

A connection feeds the bytes it parses; the reader iterates chunks (``async for``). The
stream holds at most about ``high_water`` bytes: past that it asks its :class:`BodySource`
to pause reading the socket, and to resume once the reader has taken the buffer below
``high_water // 4``. So a proxy forwarding a 1 GB body holds a few hundred KB of it, and a
slow reader slows the sender down through TCP instead of growing our memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol


class BodySource(Protocol):
    """The connection behind a :class:`BodyStream`."""

    def pause_body(self) -> None:
        """Too much is buffered: stop reading the socket."""

    def resume_body(self) -> None:
        """The reader caught up: read again."""

    def body_started(self, stream: BodyStream) -> None:
        """The first read (a server answers ``Expect: 100-continue`` here)."""

    def body_abandoned(self, stream: BodyStream) -> None:
        """The reader closed the stream before its end: the connection cannot be reused."""


class BodyStream:
    """An async iterator of the chunks of one body (``async for chunk in stream``)."""

    __slots__ = (
        "_buffer",
        "_done",
        "_error",
        "_paused",
        "_source",
        "_started",
        "_waiter",
        "buffered",
        "high_water",
        "peak_buffered",
        "received",
    )

    def __init__(self, source: BodySource | None = None, *, high_water: int = 256 * 1024) -> None:
        self._source = source
        self.high_water = high_water
        self._buffer: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._done = False
        self._error: BaseException | None = None
        self._paused = False
        self._started = False
        self.buffered = 0
        """Bytes received and not yet read."""
        self.peak_buffered = 0
        """The most that was ever buffered (tests bound it)."""
        self.received = 0

    @property
    def complete(self) -> bool:
        """Every byte arrived (some may still be buffered)."""
        return self._done and self._error is None

    @property
    def failed(self) -> bool:
        return self._error is not None

    # -- the connection's side ----------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self._done or not data:
            return
        self._buffer.append(data)
        self.buffered += len(data)
        self.received += len(data)
        if self.buffered > self.peak_buffered:
            self.peak_buffered = self.buffered
        if not self._paused and self.buffered > self.high_water and self._source is not None:
            self._paused = True
            self._source.pause_body()
        self._wake()

    def feed_eof(self) -> None:
        self._done = True
        self._wake()

    def fail(self, exc: BaseException) -> None:
        """End the stream with ``exc`` (raised to the reader once the buffer is read)."""
        if self._done:
            return
        self._error = exc
        self._done = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- the reader's side --------------------------------------------------------------

    def __aiter__(self) -> BodyStream:
        return self

    async def __anext__(self) -> bytes:
        if not self._started:
            self._started = True
            if self._source is not None:
                self._source.body_started(self)
        while not self._buffer:
            if self._done:
                if self._error is not None:
                    raise self._error
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        # hand over everything buffered at once: fewer, larger reads
        chunk = self._buffer.popleft() if len(self._buffer) == 1 else self._take_all()
        self.buffered -= len(chunk)
        if self._paused and self.buffered <= self.high_water // 4 and self._source is not None:
            self._paused = False
            self._source.resume_body()
        return chunk

    def _take_all(self) -> bytes:
        chunk = b"".join(self._buffer)
        self._buffer.clear()
        return chunk

    async def aclose(self) -> None:
        """Stop reading: drop what is buffered; an unfinished body spoils its connection."""
        self._buffer.clear()
        self.buffered = 0
        if not self._done:
            self._done = True
            self._error = RuntimeError("the body stream was closed by its reader")
            if self._source is not None:
                self._source.body_abandoned(self)
        self._wake()
