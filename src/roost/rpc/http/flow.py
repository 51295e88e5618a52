"""Back-pressure on writes: :class:`WriteFlow` and :func:`write_stream`.

asyncio tells a protocol to ``pause_writing`` when the transport's buffer passes its high
mark and ``resume_writing`` when it drains below the low one. A streamed body is written a
chunk at a time and waits while paused, so a peer that reads slowly holds at most about one
buffer (64 KB) of our memory, not the whole body.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from roost.rpc.http.codec import LAST_CHUNK, chunk_header

WRITE_HIGH_WATER = 64 * 1024


class WriteFlow:
    """The pause/resume state of one transport, awaitable by its single writer."""

    __slots__ = ("_error", "_paused", "_waiter")

    def __init__(self) -> None:
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._error: BaseException | None = None

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._wake()

    def fail(self, exc: BaseException) -> None:
        """The connection is gone: writers waiting now, or later, get ``exc``."""
        if self._error is None:
            self._error = exc
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def check(self) -> None:
        if self._error is not None:
            raise self._error

    async def drain(self) -> None:
        """Return once the transport wants more (raise if the connection was lost)."""
        self.check()
        while self._paused:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            self.check()


async def write_stream(
    transport: asyncio.WriteTransport,
    flow: WriteFlow,
    body: AsyncIterator[bytes],
    *,
    chunked: bool,
    length: int | None = None,
) -> int:
    """Write ``body`` chunk by chunk (``chunked`` framing, or raw bytes of a declared
    ``length``), waiting while the transport is paused; return the bytes written.

    Raises ``ValueError`` when the body does not match its declared length (the framing is
    then broken and the caller must drop the connection)."""
    written = 0
    async for chunk in body:
        if not chunk:
            continue
        flow.check()
        written += len(chunk)
        if chunked:
            transport.writelines((chunk_header(len(chunk)), chunk, b"\r\n"))
        else:
            if length is not None and written > length:
                raise ValueError(f"body is longer than its Content-Length {length}")
            transport.write(chunk)
        if flow.paused:
            await flow.drain()
    flow.check()
    if chunked:
        transport.write(LAST_CHUNK)
    elif length is not None and written != length:
        raise ValueError(f"body ended after {written} of its {length} bytes")
    return written
