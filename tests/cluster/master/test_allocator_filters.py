"""Allocator: refused-offer filters, SUPPRESS and REVIVE (``hierarchical.cpp``), ManualClock-driven."""

from __future__ import annotations

import random

import pytest

from roost.cluster.master.allocator import (
    DEFAULT_REFUSE_SECONDS,
    Allocation,
    Allocator,
)
from roost.core.clock import ManualClock
from roost.core.resources import Resources

R = Resources.parse
AGENT = "cpus:8;mem:32768;disk:100000;ports:[31000-32000]"
DAY = 24 * 3600.0


def make(**kwargs: object) -> tuple[Allocator, ManualClock]:
    clock = ManualClock()
    return Allocator(clock, random=random.Random(7), **kwargs), clock  # type: ignore[arg-type]


def owners(allocations: list[Allocation]) -> dict[str, str]:
    return {a.agent_id: a.framework_id for a in allocations}


def decline(alloc: Allocator, a: Allocation, refuse_seconds: float | None) -> None:
    alloc.recover(a.framework_id, a.agent_id, a.resources, refuse_seconds)


# -- filters ----------------------------------------------------------------------------------
def test_a_decline_filter_lasts_refuse_seconds() -> None:
    alloc, clock = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R(AGENT))
    [offer] = alloc.allocate()
    decline(alloc, offer, 10.0)
    clock.advance(9.99)
    assert alloc.allocate() == []
    clock.advance(0.01)
    assert alloc.allocate() == [offer]


def test_a_decline_without_filters_uses_the_default_five_seconds() -> None:
    alloc, clock = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R(AGENT))
    decline(alloc, alloc.allocate()[0], DEFAULT_REFUSE_SECONDS)
    [f] = alloc.filters("f1")
    assert f.expires_at == clock.monotonic() + 5.0


@pytest.mark.parametrize(
    ("refuse_seconds", "interval", "lasts"),
    [
        (0.0, 1.0, None),  # no filter at all
        (0.2, 1.0, 1.0),  # at least one allocation interval (MESOS-4302)
        (2.0, 3.0, 3.0),
        (-4.0, 1.0, 5.0),
        (float("nan"), 1.0, 5.0),
        (1e9, 1.0, 365 * DAY),  # capped at 365 days
    ],
)
def test_filter_duration_rules(refuse_seconds: float, interval: float, lasts: float | None) -> None:
    alloc, clock = make(allocation_interval=interval)
    alloc.add_framework("f1")
    alloc.add_agent("a1", R(AGENT))
    [offer] = alloc.allocate()
    decline(alloc, offer, refuse_seconds)
    if lasts is None:
        assert alloc.filters() == []
        assert alloc.allocate() == [offer]
        return
    [f] = alloc.filters()
    assert f.expires_at == pytest.approx(clock.monotonic() + lasts)
    clock.advance(lasts * 0.999)
    assert alloc.allocate() == []
    clock.advance(lasts * 0.001)
    assert alloc.allocate() == [offer]


def test_a_filter_blocks_smaller_offers_and_lets_a_larger_one_through() -> None:
    alloc, _ = make()
    alloc.add_framework("f1", role="r1")
    alloc.add_framework("f2", role="r2")
    alloc.add_agent("a1", R("cpus:8;mem:4096"))
    [offer] = alloc.allocate()
    assert offer.framework_id == "f1"
    # f1 launches a task on cpus:2;mem:1024 and declines the rest.
    alloc.recover("f1", "a1", R("cpus:6;mem:3072"), refuse_seconds=60.0)
    assert alloc.available("a1") == R("cpus:6;mem:3072")
    # f2 takes the refused part, runs a task on half of it, returns the other half.
    assert owners(alloc.allocate()) == {"a1": "f2"}
    alloc.suppress("f2")
    alloc.recover("f2", "a1", R("cpus:3;mem:1536"))
    assert alloc.allocate() == []  # smaller than what f1 refused
    alloc.recover("f2", "a1", R("cpus:3;mem:1536"))  # f2's task ends
    assert alloc.allocate() == []  # exactly what f1 refused
    # f1's task ends: now more than the refused set is available.
    alloc.recover("f1", "a1", R("cpus:2;mem:1024"))
    assert alloc.allocate() == [Allocation("f1", "a1", "r1", R("cpus:8;mem:4096"))]


def test_a_filter_of_one_framework_lets_another_have_the_agent() -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_framework("f2")
    alloc.add_agent("a1", R(AGENT))
    [offer] = alloc.allocate()
    decline(alloc, offer, 30.0)
    [again] = alloc.allocate()
    assert again.framework_id != offer.framework_id


def test_revive_clears_filters_and_asks_for_a_run() -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R(AGENT))
    decline(alloc, alloc.allocate()[0], 3600.0)
    assert alloc.allocate() == []
    assert not alloc.needs_run()
    alloc.revive("f1")
    assert alloc.needs_run()
    assert alloc.filters() == []
    assert owners(alloc.allocate()) == {"a1": "f1"}


def test_suppress_skips_the_framework_and_revive_restores_it() -> None:
    alloc, _ = make()
    alloc.add_framework("f1", role="r1")
    alloc.add_framework("f2", role="r2")
    alloc.suppress("f1")
    assert alloc.role_order() == ["r2"]
    alloc.add_agent("a1", R(AGENT))
    alloc.add_agent("a2", R(AGENT))
    assert set(owners(alloc.allocate()).values()) == {"f2"}
    alloc.revive("f1")
    alloc.add_agent("a3", R(AGENT))
    assert owners(alloc.allocate()) == {"a3": "f1"}


def test_a_framework_suppressed_from_the_start_gets_nothing() -> None:
    alloc, _ = make()
    alloc.add_framework("f1", suppressed=True)
    alloc.add_agent("a1", R(AGENT))
    assert alloc.allocate() == []


def test_suppress_keeps_filters() -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R(AGENT))
    decline(alloc, alloc.allocate()[0], 60.0)
    alloc.suppress("f1")
    assert len(alloc.filters("f1")) == 1


def test_deactivating_a_framework_stops_offers_and_clears_its_filters() -> None:
    alloc, _ = make()
    alloc.add_framework("f1")
    alloc.add_agent("a1", R(AGENT))
    decline(alloc, alloc.allocate()[0], 60.0)
    alloc.deactivate_framework("f1")
    assert alloc.filters() == []
    assert alloc.allocate() == []
    alloc.activate_framework("f1")
    assert alloc.needs_run()
    assert owners(alloc.allocate()) == {"a1": "f1"}
