"""IdleCache: capacity (least recently used goes), idle TTL on an injected clock, eviction
callbacks."""

from __future__ import annotations

import pytest

from roost.core.clock import ManualClock
from roost.naming.cache import IdleCache


def test_past_capacity_the_least_recently_used_goes() -> None:
    gone: list[tuple[str, int]] = []
    cache: IdleCache[str, int] = IdleCache(2, None, on_evict=lambda k, v: gone.append((k, v)))
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert gone == [("b", 2)] and cache.keys() == ["a", "c"]


def test_idle_entries_expire_and_use_keeps_them() -> None:
    clock = ManualClock()
    cache: IdleCache[str, int] = IdleCache(10, 60.0, clock=clock)
    cache.put("kept", 1)
    cache.put("idle", 2)
    clock.advance(40)
    assert cache.get("kept") == 1
    clock.advance(30)  # idle: 70 s unused; kept: 30 s
    cache.sweep()
    assert cache.keys() == ["kept"] and cache.evictions == 1
    assert cache.get("idle") is None


def test_replacing_a_value_evicts_the_old_one_and_clear_evicts_all() -> None:
    gone: list[int] = []
    cache: IdleCache[str, int] = IdleCache(5, None, on_evict=lambda _k, v: gone.append(v))
    cache.put("a", 1)
    cache.put("a", 2)
    cache.put("b", 3)
    cache.clear()
    assert gone == [1, 2, 3] and len(cache) == 0


@pytest.mark.parametrize(("capacity", "ttl"), [(0, 1.0), (True, 1.0), (1.5, 1.0), (1, 0.0)])
def test_bad_limits_are_refused(capacity: object, ttl: float) -> None:
    with pytest.raises(ValueError):
        IdleCache(capacity, ttl)  # type: ignore[arg-type]
