"""The status-first power-of-two-choices pick and P2C least loaded."""

from __future__ import annotations

import random

from roost.core.clock import ManualClock
from roost.rpc.endpoints import Endpoint
from roost.rpc.loadbalancer import Node, P2CLeastLoaded, p2c_pick
from roost.rpc.service import Status

from .helpers import ScriptedRandom


def nodes(*pending: int) -> list[Node]:
    clock = ManualClock()
    out = []
    for i, p in enumerate(pending):
        node = Node(Endpoint(f"10.0.0.{i}:80"), clock)
        node.pending = p
        out.append(node)
    return out


def test_b_is_drawn_from_the_nodes_other_than_a() -> None:
    n0, n1, n2 = nodes(5, 5, 0)
    # a = index 1; the second draw (1 of the 2 remaining) skips a's index: b = index 2
    assert p2c_pick([n0, n1, n2], ScriptedRandom(1, 1)) is n2
    n2.pending = 9
    # a = index 2; b = index 0 (below a, unshifted)
    assert p2c_pick([n0, n1, n2], ScriptedRandom(2, 0)) is n0


def test_the_healthier_status_wins_whatever_the_load() -> None:
    a, b = nodes(100, 0)
    b.status = Status.BUSY
    assert p2c_pick([a, b], ScriptedRandom(0, 0)) is a
    assert p2c_pick([a, b], ScriptedRandom(1, 0)) is a
    a.status = Status.CLOSED
    assert p2c_pick([a, b], ScriptedRandom(0, 0)) is b


def test_at_equal_status_the_lower_load_wins_and_a_tie_goes_to_a() -> None:
    a, b = nodes(3, 2)
    assert p2c_pick([a, b], ScriptedRandom(0, 0)) is b
    b.pending = 3
    assert p2c_pick([a, b], ScriptedRandom(0, 0)) is a
    assert p2c_pick([a, b], ScriptedRandom(1, 0)) is b


def test_a_single_node_is_the_pick_without_drawing() -> None:
    (only,) = nodes(7)
    only.status = Status.CLOSED
    assert p2c_pick([only], ScriptedRandom()) is only


def test_weights_divide_the_load() -> None:
    a, b = nodes(3, 2)
    a.endpoint = Endpoint(a.address, weight=2.0)  # cost 1.5 < 2
    assert p2c_pick([a, b], ScriptedRandom(1, 0)) is a
    a.endpoint = Endpoint(a.address, weight=0.0)  # costs infinity
    a.pending = 0
    assert p2c_pick([a, b], ScriptedRandom(0, 0)) is b


def test_least_loaded_keeps_outstanding_requests_level_across_equal_nodes() -> None:
    balancer = P2CLeastLoaded(clock=ManualClock(), rng=random.Random(7))
    for i in range(4):
        balancer.add(Endpoint(f"10.0.0.{i}:80"))
    leases = [balancer.acquire() for _ in range(400)]
    pending = sorted(n.pending for n in balancer.nodes)
    assert sum(pending) == 400
    assert pending[-1] - pending[0] <= 3
    for lease in leases:
        lease.release()
    assert all(n.pending == 0 for n in balancer.nodes)


def test_a_node_of_weight_three_carries_three_times_the_outstanding_requests() -> None:
    balancer = P2CLeastLoaded(clock=ManualClock(), rng=random.Random(7))
    light = balancer.add(Endpoint("10.0.0.1:80"))
    heavy = balancer.add(Endpoint("10.0.0.2:80", weight=3.0))
    for _ in range(400):
        balancer.acquire()
    assert abs(heavy.pending - 300) <= 3
    assert abs(light.pending - 100) <= 3
