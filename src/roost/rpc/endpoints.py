"""Discovery is a stream of changes (Tower ``discover::Change::{Insert, Remove}``).

An :class:`EndpointSet` holds the current endpoints of one destination and tells its
subscribers what changed: :class:`Insert` (a new endpoint, or new weight/meta for a known
address) and :class:`Remove`. Balancers consume the changes; they never poll.

A new subscriber first hears an ``Insert`` for every endpoint already present, so "the
stream so far" and "the current set" are the same thing to a consumer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    """One replica: ``address`` is ``host:port`` (``[v6]:port``), the identity of the endpoint."""

    address: str
    weight: float = 1.0
    """Relative share of traffic; load-aware balancers divide a node's load by it."""
    meta: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not self.address:
            raise ValueError("an endpoint needs an address")
        if not math.isfinite(self.weight) or self.weight < 0:
            raise ValueError(f"weight of {self.address} must be finite and >= 0: {self.weight}")
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))


@dataclass(frozen=True)
class Insert:
    endpoint: Endpoint


@dataclass(frozen=True)
class Remove:
    address: str


Change = Insert | Remove
Subscriber = Callable[[Change], None]


class EndpointSet:
    """The current endpoints plus subscribers to their changes (callbacks or :meth:`changes`)."""

    def __init__(self, endpoints: Iterable[Endpoint] = ()) -> None:
        self._endpoints: dict[str, Endpoint] = {}
        self._subscribers: list[Subscriber] = []
        for endpoint in endpoints:
            self._endpoints[endpoint.address] = endpoint

    def __len__(self) -> int:
        return len(self._endpoints)

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(list(self._endpoints.values()))

    def __contains__(self, address: object) -> bool:
        return address in self._endpoints

    def get(self, address: str) -> Endpoint | None:
        return self._endpoints.get(address)

    def apply(self, change: Change) -> bool:
        """Apply one change; subscribers hear it only if it changed something."""
        if isinstance(change, Insert):
            if self._endpoints.get(change.endpoint.address) == change.endpoint:
                return False
            self._endpoints[change.endpoint.address] = change.endpoint
        else:
            if self._endpoints.pop(change.address, None) is None:
                return False
        for subscriber in list(self._subscribers):
            subscriber(change)
        return True

    def insert(self, endpoint: Endpoint) -> bool:
        return self.apply(Insert(endpoint))

    def remove(self, address: str) -> bool:
        return self.apply(Remove(address))

    def replace(self, endpoints: Iterable[Endpoint]) -> None:
        """Make the set exactly ``endpoints`` (what a namer's new snapshot means), as changes."""
        wanted = {e.address: e for e in endpoints}
        for address in [a for a in self._endpoints if a not in wanted]:
            self.apply(Remove(address))
        for endpoint in wanted.values():
            self.apply(Insert(endpoint))

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with an ``Insert`` per current endpoint, then with every change.
        Returns the function that unsubscribes."""
        for endpoint in list(self._endpoints.values()):
            callback(Insert(endpoint))
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def changes(self) -> ChangeStream:
        """An async iterator of changes (current endpoints first); close it to unsubscribe."""
        return ChangeStream(self)


class ChangeStream:
    """``async for change in endpoint_set.changes()``; ``close()`` (or ``async with``) ends it."""

    def __init__(self, source: EndpointSet) -> None:
        self._queue: asyncio.Queue[Change | None] = asyncio.Queue()
        self._closed = False
        self._unsubscribe = source.subscribe(self._queue.put_nowait)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._unsubscribe()
            self._queue.put_nowait(None)

    def __aiter__(self) -> ChangeStream:
        return self

    async def __anext__(self) -> Change:
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        change = await self._queue.get()
        if change is None:
            raise StopAsyncIteration
        return change

    async def __aenter__(self) -> ChangeStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def parse_address(text: str) -> str:
    """Check one ``host:port`` (``[v6]:port``) and return it normalised (no blanks)."""
    item = text.strip()
    if not item:
        raise ValueError("empty address: expected host:port")
    host, sep, port = item.rpartition(":")
    if not sep or not host:
        raise ValueError(f"{item!r}: expected host:port")
    if host.startswith("["):
        if not host.endswith("]"):
            raise ValueError(f"{item!r}: unclosed '[' in IPv6 address")
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{item!r}: {host[1:-1]!r} is not an IPv6 address") from None
    elif ":" in host:
        raise ValueError(f"{item!r}: write an IPv6 address in brackets, like [::1]:8080")
    elif any(c.isspace() or c in "/?#@" for c in host):
        raise ValueError(f"{item!r}: {host!r} is not a host name")
    if not port.isdigit():
        raise ValueError(f"{item!r}: port {port!r} is not a number")
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"{item!r}: port {int(port)} is not in 1..65535")
    return f"{host}:{int(port)}"


def parse_endpoints(text: str) -> list[Endpoint]:
    """Parse a static list ``"127.0.0.1:8080,127.0.0.1:8081"`` into endpoints of weight 1."""
    if not text.strip():
        raise ValueError("no endpoints: expected host:port[,host:port...]")
    seen: dict[str, Endpoint] = {}
    for item in text.split(","):
        address = parse_address(item)
        if address in seen:
            raise ValueError(f"{address!r} is listed twice")
        seen[address] = Endpoint(address)
    return list(seen.values())
