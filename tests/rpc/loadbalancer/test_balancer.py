"""The balancer loop: max effort, panic, endpoint changes and stats."""

from __future__ import annotations

import random

import pytest

from roost.core.clock import ManualClock
from roost.rpc.endpoints import Endpoint, Insert, Remove
from roost.rpc.errors import NoBrokersAvailable
from roost.rpc.loadbalancer import P2CLeastLoaded
from roost.rpc.service import Status


class CountingP2C(P2CLeastLoaded):
    """Counts distributor picks."""

    picks = 0

    def _pick_once(self):  # type: ignore[no-untyped-def]
        self.picks += 1
        return super()._pick_once()


class Source:
    def __init__(self, status: Status = Status.OPEN) -> None:
        self.status = status


def balancer_with(*statuses: Status, max_effort: int = 5) -> CountingP2C:
    balancer = CountingP2C(clock=ManualClock(), rng=random.Random(3), max_effort=max_effort)
    for i, status in enumerate(statuses):
        balancer.add(Endpoint(f"10.0.0.{i}:80")).status = status
    return balancer


def test_an_empty_balancer_has_no_brokers_available() -> None:
    balancer = balancer_with()
    with pytest.raises(NoBrokersAvailable):
        balancer.pick()
    assert balancer.status is Status.BUSY


def test_with_no_open_node_the_loop_tries_max_effort_times_then_panics_once() -> None:
    balancer = balancer_with(Status.BUSY, Status.BUSY, Status.BUSY, max_effort=4)
    node = balancer.pick()
    assert node.status is Status.BUSY
    assert balancer.picks == 4 + 1
    assert balancer.panicked == 1


def test_the_loop_stops_at_the_first_open_pick() -> None:
    balancer = balancer_with(Status.OPEN, Status.BUSY)
    for _ in range(100):
        assert balancer.pick().status is Status.OPEN
    assert balancer.picks == 100  # status-first P2C finds the open node at once
    assert balancer.panicked == 0


def test_a_closed_node_is_returned_only_in_panic() -> None:
    balancer = balancer_with(Status.CLOSED, Status.BUSY)
    assert balancer.pick().status is Status.BUSY  # busy beats closed even in panic
    assert balancer.panicked == 1


def test_changes_add_update_and_remove_nodes_and_are_counted() -> None:
    balancer = P2CLeastLoaded(clock=ManualClock(), rng=random.Random(1))
    balancer.apply(Insert(Endpoint("a:1")))
    balancer.apply(Insert(Endpoint("b:1")))
    node = balancer.node("a:1")
    assert node is not None
    lease = node.start()
    balancer.apply(Insert(Endpoint("a:1", weight=2.0)))
    assert balancer.node("a:1") is node and node.weight == 2.0 and node.pending == 1
    balancer.apply(Remove("b:1"))
    balancer.apply(Remove("b:1"))
    assert (balancer.adds, balancer.updates, balancer.removes) == (2, 1, 1)
    assert balancer.rebuilds == 4
    assert balancer.size == 1
    lease.release()
    lease.release()
    assert node.pending == 0


def test_gauges_count_nodes_by_status_and_status_is_the_best_of_them() -> None:
    balancer = balancer_with(Status.OPEN, Status.BUSY, Status.BUSY, Status.CLOSED)
    assert (balancer.size, balancer.available, balancer.busy, balancer.closed) == (4, 1, 2, 1)
    assert balancer.status is Status.OPEN
    balancer.remove("10.0.0.0:80")
    assert balancer.status is Status.BUSY


def test_a_node_with_a_source_takes_its_status_from_it() -> None:
    balancer = balancer_with()
    source = Source(Status.BUSY)
    node = balancer.add(Endpoint("s:1"), source=source)
    assert node.status is Status.BUSY
    source.status = Status.OPEN
    assert node.status is Status.OPEN
    with pytest.raises(ValueError, match="comes from its factory"):
        node.status = Status.CLOSED


def test_max_effort_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_effort"):
        P2CLeastLoaded(max_effort=0)


@pytest.mark.parametrize(("status", "panicked"), [(Status.OPEN, 0), (Status.BUSY, 1)])
def test_one_node_is_the_pick_panicking_as_before_when_it_is_not_open(
    status: Status, panicked: int
) -> None:
    """A stateless P2C over one node skips the distributor while the node is open; one that
    is not open goes through the loop and its panic as with more nodes."""
    balancer = balancer_with(status, max_effort=3)
    node = balancer.pick()
    assert node.address == "10.0.0.0:80"
    assert balancer.panicked == panicked
    assert balancer.picks == (0 if status is Status.OPEN else 3 + 1)
