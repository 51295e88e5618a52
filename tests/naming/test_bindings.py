"""Live bindings: pending -> ok / failed, observers, refresh on an injected clock, last
known good when a rebind fails, the cache's limits and invalidation."""

from __future__ import annotations

import pytest

from roost.core.clock import ManualClock
from roost.naming import NEG, Dtab, Leaf, NameTree, Path, mount
from roost.naming.bindings import FAILED, OK, PENDING, BindingCache
from roost.naming.namer import Name, inet_bound


class Switch:
    """A namer whose answer the test sets: a port, ``None`` (``~``) or an exception."""

    def __init__(self) -> None:
        self.answer: int | Exception | None = 8080
        self.asked = 0

    async def lookup(self, path: Path) -> NameTree[Name]:
        self.asked += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        if self.answer is None:
            return NEG
        return Leaf(inet_bound("127.0.0.1", self.answer))


DTAB = Dtab.read("/svc => /#/switch")
PATH = Path.read("/svc/web")


def cache(namer: Switch, clock: ManualClock, **kw: object) -> BindingCache:
    return BindingCache([mount("switch", namer)], clock=clock, **kw)  # type: ignore[arg-type]


async def test_a_binding_goes_from_pending_to_ok_and_is_reused() -> None:
    namer, clock = Switch(), ManualClock()
    bindings = cache(namer, clock)
    binding = bindings.binding(DTAB, PATH)
    assert binding.state == PENDING
    tree = await bindings.bind(DTAB, PATH)
    assert binding.state == OK and tree.show == "/$/inet/127.0.0.1/8080"
    await bindings.bind(DTAB, PATH)
    assert namer.asked == 1  # fresh: no rebind
    await bindings.aclose()


async def test_a_stale_tree_is_served_while_it_is_bound_again_and_observers_hear() -> None:
    namer, clock = Switch(), ManualClock()
    bindings = cache(namer, clock, refresh=1.0)
    binding = bindings.binding(DTAB, PATH)
    seen: list[str] = []
    binding.observe(lambda b: seen.append(b.state if b.tree is None else b.tree.show))
    await binding.ready()
    namer.answer = 9090
    clock.advance(1.5)
    assert (await binding.ready()).show.endswith("/8080")  # the old tree, right away
    task = binding.rebind()  # the background rebind it started
    await task
    assert (await binding.ready()).show.endswith("/9090")
    assert seen == ["pending", "/$/inet/127.0.0.1/8080", "/$/inet/127.0.0.1/9090"]
    await bindings.aclose()


async def test_a_failing_rebind_keeps_the_last_good_tree() -> None:
    namer, clock = Switch(), ManualClock()
    bindings = cache(namer, clock)
    binding = bindings.binding(DTAB, PATH)
    await binding.ready()
    namer.answer = RuntimeError("discovery is down")
    clock.advance(5)
    await binding.rebind()
    assert binding.state == OK and binding.tree is not None
    assert (await binding.ready()).show.endswith("/8080")
    await bindings.aclose()


async def test_a_first_bind_that_fails_raises_and_is_retried_once_stale() -> None:
    namer, clock = Switch(), ManualClock()
    namer.answer = RuntimeError("discovery is down")
    bindings = cache(namer, clock)
    binding = bindings.binding(DTAB, PATH)
    with pytest.raises(RuntimeError, match="discovery is down"):
        await binding.ready()
    assert binding.state == FAILED
    namer.answer = 8080
    with pytest.raises(RuntimeError):  # not stale yet: the failure stands
        await binding.ready()
    clock.advance(1.0)
    assert (await binding.ready()).show.endswith("/8080")
    await bindings.aclose()


async def test_invalidate_makes_every_binding_bind_again() -> None:
    namer, clock = Switch(), ManualClock()
    bindings = cache(namer, clock, refresh=3600.0)
    await bindings.bind(DTAB, PATH)
    namer.answer = None
    bindings.invalidate()
    binding = bindings.binding(DTAB, PATH)
    await binding.ready()
    await binding.rebind()
    assert binding.tree is NEG
    await bindings.aclose()


async def test_the_cache_keeps_at_most_capacity_bindings_and_forgets_idle_ones() -> None:
    namer, clock = Switch(), ManualClock()
    bindings = cache(namer, clock, capacity=2, idle_ttl=60.0)
    for name in ("a", "b", "c"):
        await bindings.bind(DTAB, Path.of("svc", name))
    assert len(bindings) == 2
    clock.advance(61)
    bindings.binding(DTAB, PATH)  # a new ask sweeps the idle ones
    assert len(bindings) == 1
    await bindings.aclose()


def test_a_bad_refresh_is_refused() -> None:
    with pytest.raises(ValueError, match="refresh must be > 0"):
        BindingCache(refresh=0)
