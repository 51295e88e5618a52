"""A bounded cache that forgets what was not used for a while (Linkerd's ``bindingCache``:
paths, trees, bounds and clients, 1,000 each, idle TTL 10 minutes).

``IdleCache(capacity, idle_ttl, clock, on_evict)``: ``get`` refreshes an entry's last use;
past ``capacity`` the least recently used entry goes; entries idle longer than ``idle_ttl``
go on the next ``get``/``put``/``sweep``. ``on_evict(key, value)`` is told, so a cached
client can be closed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from roost.core.clock import SYSTEM_CLOCK, Clock

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class IdleCache(Generic[K, V]):
    def __init__(
        self,
        capacity: int = 1000,
        idle_ttl: float | None = 600.0,
        *,
        clock: Clock = SYSTEM_CLOCK,
        on_evict: Callable[[K, V], None] | None = None,
    ) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be an integer >= 1, got {capacity!r}")
        if idle_ttl is not None and not idle_ttl > 0:
            raise ValueError(f"idle_ttl must be > 0 (or None), got {idle_ttl!r}")
        self.capacity = capacity
        self.idle_ttl = idle_ttl
        self.clock = clock
        self.on_evict = on_evict
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()
        self._sweep_at = float("inf")
        """No entry can have expired before this (the oldest one's last use + TTL): most
        calls skip looking."""
        self.evictions = 0

    def get(self, key: K) -> V | None:
        now = self.clock.monotonic()
        if now >= self._sweep_at:
            self._expire(now)
        entries = self._entries
        found = entries.get(key)
        if found is None:
            return None
        entries[key] = (found[0], now)
        entries.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V) -> None:
        now = self.clock.monotonic()
        if now >= self._sweep_at:
            self._expire(now)
        if self.idle_ttl is not None and not self._entries:
            self._sweep_at = now + self.idle_ttl
        if key in self._entries:
            old = self._entries.pop(key)[0]
            if old is not value:
                self._evicted(key, old)
        self._entries[key] = (value, now)
        while len(self._entries) > self.capacity:
            k, (v, _) = self._entries.popitem(last=False)
            self._evicted(k, v)

    def sweep(self) -> None:
        """Drop the entries idle past the TTL now."""
        self._expire(self.clock.monotonic())

    def clear(self) -> None:
        while self._entries:
            k, (v, _) = self._entries.popitem(last=False)
            self._evicted(k, v)

    def _expire(self, now: float) -> None:
        ttl = self.idle_ttl
        if ttl is None:
            return
        while self._entries:
            key, (value, used) = next(iter(self._entries.items()))
            if now - used < ttl:
                self._sweep_at = used + ttl
                return
            del self._entries[key]
            self._evicted(key, value)
        self._sweep_at = float("inf")

    def _evicted(self, key: K, value: V) -> None:
        self.evictions += 1
        if self.on_evict is not None:
            self.on_evict(key, value)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def keys(self) -> list[K]:
        return list(self._entries)

    def values(self) -> list[V]:
        """The cached values, least recently used first (without touching them)."""
        return [v for v, _ in self._entries.values()]
