"""Server concurrency limit (Finagle ``RequestSemaphoreFilter`` / ``PendingRequestFilter``;
Linkerd ``maxConcurrentRequests``).

At most ``max_concurrent`` requests run at once; up to ``max_waiters`` more wait in FIFO
order for a slot (``max_waiters=0``: no queue). Anything beyond is refused at once with
:class:`~roost.rpc.errors.Rejected` (REJECTED|RETRYABLE) — a NACK, which the HTTP server
answers with ``503`` and ``finagle-http-nack`` so clients requeue it elsewhere. A waiter
that is cancelled leaves the queue (or passes on a slot it was just handed).

Gauges ``request_concurrency`` and ``request_queue_size`` are attributes and, given a stats
receiver (the server's ``srv/<label>``), registered under it, as Finagle does.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque

from roost.rpc.errors import Rejected
from roost.rpc.service import Filter, Rep, Req, Service
from roost.rpc.stats.receiver import NullStatsReceiver, StatsReceiver


class ConcurrencyLimitFilter(Filter[Req, Rep, Req, Rep]):
    def __init__(
        self,
        max_concurrent: int,
        max_waiters: int = 0,
        stats_receiver: StatsReceiver | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent}")
        if max_waiters < 0:
            raise ValueError(f"max_waiters must not be negative, not {max_waiters}")
        self.max_concurrent = max_concurrent
        self.max_waiters = max_waiters
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        stats = stats_receiver or NullStatsReceiver()
        self._rejected = stats.counter("admission_control", "concurrency_limit", "rejected")
        me = weakref.ref(self)  # the registry must not keep a discarded filter alive
        stats.gauge("request_concurrency", fn=lambda: f._active if (f := me()) else 0)
        stats.gauge("request_queue_size", fn=lambda: len(f._waiters) if (f := me()) else 0)

    @property
    def request_concurrency(self) -> int:
        """Requests running now."""
        return self._active

    @property
    def request_queue_size(self) -> int:
        """Requests waiting for a slot."""
        return len(self._waiters)

    async def __call__(self, req: Req, service: Service[Req, Rep]) -> Rep:
        await self._acquire()
        try:
            return await service(req)
        finally:
            self._release()

    async def _acquire(self) -> None:
        if self._active < self.max_concurrent and not self._waiters:
            self._active += 1
            return
        if len(self._waiters) >= self.max_waiters:
            self._rejected.incr()
            raise Rejected(
                f"concurrency limit reached: {self._active} running, "
                f"{len(self._waiters)} waiting (max {self.max_concurrent}/{self.max_waiters})"
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # a slot was handed over just as we were cancelled
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def _release(self) -> None:
        # hand the slot straight to the first live waiter, so `_active` is unchanged
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._active -= 1
