"""The fast lane's bookkeeping of plain successes, in bulk (:class:`Tally`).

Most requests end the same way: answered, a success for the name and for the client. What
the full path records for each of them — the four ``StatsFilter``\\ s (server, name, client
and name, client), both budgets' deposits and per-request counts, the NACK admission's
accept rate, the endpoint's failure accrual — the lane records once per turn of the event
loop for all the requests that ended in it: their latencies summarised once
(:class:`~roost.rpc.stats.histogram.Batch`) and merged into every histogram, counters and
deposits added as one sum. A router's servers share one tally; a request of theirs that ends
any other way, and a retry they take from the budget, is recorded after what the tally holds
(:meth:`Tally.flush`), so the lanes' outcomes reach each object in their order. The full path
records its own outcomes as they come: one of them in the same turn may be recorded before the
lanes' held successes — as if those had arrived microseconds later, at the end of the turn.

What stays per request: the balancer lease (Peak-EWMA sees each round trip) and the
``pending`` counts going up (they come down in bulk).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from roost.rpc.accrual import FailureAccrualFactory
from roost.rpc.stats.histogram import Batch

if TYPE_CHECKING:
    from roost.mesh.lane.parts import Target

log = logging.getLogger(__name__)


class Tally:
    """Plain successes of a router's lanes, recorded at the end of the loop's turn."""

    __slots__ = ("_dirty", "_loop")

    def __init__(self) -> None:
        self._dirty: list[Target] = []
        """Targets with successes not recorded yet."""
        self._loop: asyncio.AbstractEventLoop | None = None

    def success(self, target: Target, factory: Any, ms: float) -> None:
        """A request to ``target`` through ``factory`` (its endpoint's) succeeded in ``ms``;
        its ``pending`` counts are still up."""
        done = target.done
        if not done:
            if not self._dirty:
                loop = self._loop
                if loop is None:
                    loop = self._loop = asyncio.get_running_loop()
                loop.call_soon(self.flush)
            self._dirty.append(target)
        done.append(ms)
        target.factories.append(factory)

    def flush(self) -> None:
        """Record every success held (at the end of the turn; before any other outcome)."""
        dirty, self._dirty = self._dirty, []
        for target in dirty:
            done, target.done = target.done, []
            factories, target.factories = target.factories, []
            if done:
                try:
                    _record(target, done, factories)
                except Exception:  # (one target's trouble must not stop the others')
                    log.exception("recording the fast lane's successes failed")


def _record(target: Target, done: list[float], factories: list[Any]) -> None:
    batch = Batch(done)
    n = batch.count
    name, client = target.name, target.client
    for stats in (target.server, name.stats, target.pair, client.stats):
        if stats is not None:
            stats.leave_all(batch)
    requeue, nack, retry = client.requeue, client.nack, name.retry
    if requeue is not None:
        requeue.budget.deposit(n)
        requeue.stats.requeued(0, n)
    if nack is not None:
        nack.observe(True)  # (n acceptances in a row: the rate moves as for the last)
    if retry is not None:
        retry.budget.deposit(n)
        retry.stats.retried(0, n)
    first = factories[0]
    if factories.count(first) == n:  # (one endpoint: the usual case)
        if isinstance(first, FailureAccrualFactory):
            first.succeeded(n)
        return
    for factory, k in Counter(factories).items():
        if isinstance(factory, FailureAccrualFactory):
            factory.succeeded(k)
