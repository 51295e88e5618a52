"""Round robin rotates over OPEN nodes and rebuilds when statuses change."""

from __future__ import annotations

import random

from roost.core.clock import ManualClock
from roost.rpc.endpoints import Endpoint
from roost.rpc.loadbalancer import Node, RoundRobin
from roost.rpc.service import Status


def round_robin(n: int) -> tuple[RoundRobin, list[Node]]:
    balancer = RoundRobin(clock=ManualClock(), rng=random.Random(5))
    nodes = [balancer.add(Endpoint(f"10.0.0.{i}:80")) for i in range(n)]
    return balancer, nodes


def addresses(balancer: RoundRobin, k: int) -> list[str]:
    return [balancer.pick().address for _ in range(k)]


def test_round_robin_visits_every_node_once_per_turn_in_a_fixed_order() -> None:
    balancer, nodes = round_robin(3)
    picked = addresses(balancer, 9)
    assert sorted(picked[:3]) == sorted(n.address for n in nodes)
    assert picked[3:6] == picked[:3] and picked[6:9] == picked[:3]


def test_a_node_that_is_not_open_leaves_the_rotation() -> None:
    balancer, (a, b, c) = round_robin(3)
    rebuilds = balancer.rebuilds
    b.status = Status.BUSY
    picked = addresses(balancer, 10)
    assert b.address not in picked
    assert picked.count(a.address) == picked.count(c.address) == 5
    assert balancer.rebuilds == rebuilds + 1
    assert balancer.panicked == 0


def test_a_recovered_node_rejoins_the_rotation() -> None:
    balancer, (a, b, c) = round_robin(3)
    b.status = Status.BUSY
    addresses(balancer, 3)
    b.status = Status.OPEN
    assert sorted(addresses(balancer, 3)) == sorted([a.address, b.address, c.address])


def test_closed_nodes_are_never_picked_while_one_is_open() -> None:
    balancer, (a, b, c) = round_robin(3)
    a.status = Status.CLOSED
    c.status = Status.CLOSED
    assert set(addresses(balancer, 10)) == {b.address}


def test_with_no_open_node_round_robin_rotates_over_the_others_in_panic() -> None:
    balancer, nodes = round_robin(2)
    for node in nodes:
        node.status = Status.BUSY
    picked = addresses(balancer, 4)
    assert sorted(picked) == sorted(2 * [n.address for n in nodes])
    assert balancer.panicked == 4
