"""The conformance suite every balancer must pass (in the style of trio's ``_check_streams``).

A new balancer joins by adding its constructor to ``BALANCERS``.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from roost.core.clock import ManualClock
from roost.rpc.endpoints import Endpoint, Insert, Remove
from roost.rpc.errors import NoBrokersAvailable
from roost.rpc.loadbalancer import (
    Aperture,
    Balancer,
    Lease,
    P2CLeastLoaded,
    P2CPeakEwma,
    RoundRobin,
)
from roost.rpc.service import Status

MakeBalancer = Callable[[ManualClock, random.Random], Balancer]

BALANCERS: dict[str, MakeBalancer] = {
    "round_robin": lambda clock, rng: RoundRobin(clock=clock, rng=rng),
    "p2c_least_loaded": lambda clock, rng: P2CLeastLoaded(clock=clock, rng=rng),
    "p2c_peak_ewma": lambda clock, rng: P2CPeakEwma(clock=clock, rng=rng),
    "aperture": lambda clock, rng: Aperture(clock=clock, rng=rng),
}


@pytest.fixture(params=sorted(BALANCERS))
def make(request: pytest.FixtureRequest) -> Callable[..., Balancer]:
    def build(*addresses: str, seed: int = 42) -> Balancer:
        balancer = BALANCERS[request.param](ManualClock(), random.Random(seed))
        for address in addresses:
            balancer.apply(Insert(Endpoint(address)))
        return balancer

    return build


def addresses(n: int) -> list[str]:
    return [f"10.0.0.{i}:80" for i in range(n)]


def traffic(balancer: Balancer, requests: int, in_flight: int) -> Counter[str]:
    """Send ``requests``, one per virtual millisecond, keeping ``in_flight`` outstanding."""
    clock = balancer.clock
    assert isinstance(clock, ManualClock)
    held: list[Lease] = []
    picked: Counter[str] = Counter()
    for _ in range(requests):
        clock.advance(0.001)
        lease = balancer.acquire()
        picked[lease.node.address] += 1
        held.append(lease)
        if len(held) > in_flight:
            held.pop(0).release()
    for lease in held:
        lease.release()
    return picked


def test_an_empty_balancer_raises_no_brokers_available(make: Callable[..., Balancer]) -> None:
    balancer = make()
    with pytest.raises(NoBrokersAvailable):
        balancer.acquire()
    balancer.apply(Insert(Endpoint("10.0.0.1:80")))
    balancer.apply(Remove("10.0.0.1:80"))
    with pytest.raises(NoBrokersAvailable):
        balancer.pick()


def test_a_single_node_is_picked_whatever_its_status(make: Callable[..., Balancer]) -> None:
    balancer = make("10.0.0.1:80")
    (only,) = balancer.nodes
    for status in Status:
        only.status = status
        assert balancer.pick() is only


def test_removed_nodes_are_never_picked(make: Callable[..., Balancer]) -> None:
    balancer = make(*addresses(6))
    traffic(balancer, 200, 10)
    for address in addresses(6)[::2]:
        balancer.apply(Remove(address))
    picked = traffic(balancer, 1000, 10)
    assert set(picked) <= set(addresses(6)[1::2])  # aperture may use fewer: its window
    assert balancer.size == 3 and balancer.removes == 3


def test_a_closed_node_is_never_picked_while_the_others_are_open(
    make: Callable[..., Balancer],
) -> None:
    balancer = make(*addresses(4))
    closed = balancer.nodes[0]
    closed.status = Status.CLOSED
    picked = traffic(balancer, 1000, 10)
    assert closed.address not in picked
    assert balancer.panicked == 0
    assert (balancer.available, balancer.busy, balancer.closed) == (3, 0, 1)


def test_with_most_nodes_unhealthy_only_panicked_picks_land_on_them(
    make: Callable[..., Balancer],
) -> None:
    # P2C may draw two unhealthy nodes max_effort times in a row (0.3^5 here); rotations never
    balancer = make(*addresses(5))
    nodes = balancer.nodes
    nodes[0].status = Status.CLOSED
    nodes[1].status = Status.CLOSED
    nodes[2].status = Status.BUSY
    picked = traffic(balancer, 1000, 10)
    unhealthy = sum(picked[n.address] for n in nodes[:3])
    assert unhealthy <= balancer.panicked <= 10
    assert (balancer.available, balancer.busy, balancer.closed) == (2, 1, 2)


def test_when_no_node_is_open_a_busy_one_is_still_picked_in_panic(
    make: Callable[..., Balancer],
) -> None:
    balancer = make(*addresses(3))
    for node in balancer.nodes:
        node.status = Status.BUSY
    assert balancer.status is Status.BUSY
    for _ in range(10):
        assert balancer.pick().status is Status.BUSY
    assert balancer.panicked == 10


def test_load_is_spread_across_equal_nodes(make: Callable[..., Balancer]) -> None:
    balancer = make(*addresses(4))
    picked = traffic(balancer, 4000, 20)
    assert set(picked) == set(addresses(4))
    assert min(picked.values()) >= 0.15 * 4000


def test_a_node_picked_by_acquire_has_the_request_pending_until_released(
    make: Callable[..., Balancer],
) -> None:
    balancer = make(*addresses(3))
    lease = balancer.acquire()
    assert lease.node.pending == 1 and lease.node.requests == 1
    lease.release()
    lease.release()
    assert lease.node.pending == 0


def test_a_reinserted_address_keeps_its_node_and_takes_the_new_weight(
    make: Callable[..., Balancer],
) -> None:
    balancer = make(*addresses(2))
    node = balancer.node(addresses(2)[0])
    lease = node.start() if node is not None else None
    balancer.apply(Insert(Endpoint(addresses(2)[0], weight=2.5)))
    assert balancer.node(addresses(2)[0]) is node and node is not None
    assert node.weight == 2.5 and node.pending == 1
    assert (balancer.size, balancer.adds, balancer.updates) == (2, 2, 1)
    assert lease is not None
    lease.release()
