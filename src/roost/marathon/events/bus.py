"""The in-process Marathon event bus: publishers fan events out to bounded subscriptions.

Mirrors Marathon's Akka ``EventStream`` as used by ``HttpEventStreamHandleActor``: every
subscriber gets every event it asked for, publishing never waits for a subscriber, and a
subscriber that falls ``max_queue`` events behind is dropped rather than buffered without
bound (Marathon PR #6657, "Drop connection for slow event consumers": closing the slow
consumer is louder than silently losing events, and memory stays bounded).

All methods must be called from the event loop's thread; ``publish`` is synchronous, so
no subscriber runs between two publishes made in one go.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Collection
from types import TracebackType
from typing import Any

from roost.marathon.events.types import KNOWN_EVENT_TYPES

__all__ = ["EventBus", "Subscription"]


class Subscription:
    """An async iterator over the events of one subscriber, in publish order.

    Use ``async with bus.subscribe(...) as sub: async for event in sub: ...`` or call
    :meth:`aclose`. Iteration ends when the subscription is closed, when the bus closes (after
    the events already queued) or when the subscriber overflowed (at once, queue discarded;
    :attr:`overflowed` tells which). Events are shared between subscribers: treat them as
    read-only.
    """

    def __init__(self, bus: EventBus, event_types: frozenset[str] | None, max_queue: int) -> None:
        self._bus = bus
        self.event_types = event_types
        self.max_queue = max_queue
        self._queue: deque[dict[str, Any]] = deque()
        self._wakeup = asyncio.Event()
        self.closed = False
        self.overflowed = False

    def wants(self, event_type: str) -> bool:
        """True when this subscriber asked for ``event_type`` (no filter = everything)."""
        return self.event_types is None or event_type in self.event_types

    @property
    def pending(self) -> int:
        """Events queued and not yet taken by the consumer."""
        return len(self._queue)

    def _offer(self, event: dict[str, Any]) -> bool:
        """Queue ``event``; False (and nothing queued) when the queue is already full."""
        if len(self._queue) >= self.max_queue:
            return False
        self._queue.append(event)
        self._wakeup.set()
        return True

    def _end(self, *, overflowed: bool = False) -> None:
        if overflowed:
            self.overflowed = True
            self._queue.clear()
        self.closed = True
        self._wakeup.set()

    def close(self) -> None:
        """Stop receiving events; queued ones may still be read. Idempotent."""
        if not self.closed:
            self._bus._unsubscribe(self)
            self._end()

    async def aclose(self) -> None:
        """Async spelling of :meth:`close` for ``contextlib.aclosing`` and friends."""
        self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        # Cancellation-safe: an event is only taken off the queue once it is returned,
        # so ``asyncio.timeout(...)`` around ``anext(sub)`` never loses one.
        while not self._queue:
            if self.closed:
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._queue.popleft()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class EventBus:
    """Fan-out of Marathon events to subscribers, with metrics.

    * :attr:`published` counts published events by ``eventType``;
    * :attr:`subscriber_count` is the number of live subscriptions;
    * :attr:`dropped_subscribers` counts subscriptions dropped for falling behind.
    """

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self.published: Counter[str] = Counter()
        self.dropped_subscribers = 0
        self.closed = False

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def subscribe(
        self, event_types: Collection[str] | None = None, *, max_queue: int = 1024
    ) -> Subscription:
        """A new subscription to ``event_types`` (None or empty: every type).

        Like Marathon's ``?event_type=`` filter, unknown names are accepted and match
        nothing. On a closed bus the subscription is already ended.
        """
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        wanted = frozenset(event_types) if event_types else None
        sub = Subscription(self, wanted, max_queue)
        if self.closed:
            sub._end()
        else:
            self._subscriptions.add(sub)
        return sub

    def publish(self, event: dict[str, Any]) -> None:
        """Deliver ``event`` to every interested subscriber without waiting for any.

        Raises ValueError for an event without a string ``timestamp`` or with an ``eventType``
        outside ``KNOWN_EVENT_TYPES``: the marathon client would crash on it, so it is a bug
        in the publisher. A subscriber whose queue is full is dropped. On a closed bus the
        event is checked and discarded.
        """
        event_type = event.get("eventType")
        if event_type not in KNOWN_EVENT_TYPES:
            raise ValueError(f"unknown Marathon eventType {event_type!r}")
        if not isinstance(event.get("timestamp"), str):
            raise ValueError(f"{event_type} event has no timestamp string")
        if self.closed:
            return
        self.published[event_type] += 1
        for sub in list(self._subscriptions):
            if sub.wants(event_type) and not sub._offer(event):
                self._subscriptions.discard(sub)
                self.dropped_subscribers += 1
                sub._end(overflowed=True)

    def close(self) -> None:
        """End every subscription (each may still drain what it has queued)."""
        self.closed = True
        subs, self._subscriptions = self._subscriptions, set()
        for sub in subs:
            sub._end()

    def _unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)
