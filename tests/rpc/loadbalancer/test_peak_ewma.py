"""Peak EWMA: exact costs on a virtual clock (durations are powers of two: exact floats)."""

from __future__ import annotations

import math
import random

import pytest

from roost.core.clock import ManualClock
from roost.rpc.endpoints import Endpoint
from roost.rpc.loadbalancer import PENALTY, P2CPeakEwma, PeakEwmaNode


def fresh(clock: ManualClock) -> PeakEwmaNode:
    return PeakEwmaNode(Endpoint("10.0.0.1:80"), clock)


def one_request(node: PeakEwmaNode, clock: ManualClock, rtt: float) -> None:
    lease = node.start()
    clock.advance(rtt)
    lease.release()


def test_the_penalty_is_long_max_shifted_by_sixteen() -> None:
    assert PENALTY == 140737488355327.0


def test_the_first_reply_sets_the_average_in_nanoseconds() -> None:
    clock = ManualClock(start=0.0)
    node = fresh(clock)
    one_request(node, clock, 0.25)
    assert node.ema == 250_000_000.0
    assert node.load() == 250_000_000.0  # ema * (pending + 1), no time passed


def test_a_faster_reply_blends_in_with_the_decay_weight() -> None:
    clock = ManualClock(start=0.0)
    node = fresh(clock)
    one_request(node, clock, 0.25)
    one_request(node, clock, 0.125)
    w = math.exp(-0.125 / 10.0)
    assert node.ema == pytest.approx(125e6 * (1 - w) + 250e6 * w, rel=1e-12)


def test_a_slower_reply_resets_the_average_to_the_peak() -> None:
    clock = ManualClock(start=0.0)
    node = fresh(clock)
    one_request(node, clock, 0.125)
    clock.advance(4.0)
    one_request(node, clock, 0.5)
    assert node.ema == 500_000_000.0


def test_load_decays_the_average_before_costing_the_queue() -> None:
    clock = ManualClock(start=0.0)
    node = fresh(clock)
    one_request(node, clock, 0.25)
    clock.advance(10.0)  # one decay time
    assert node.load() == pytest.approx(250e6 * math.exp(-1.0), rel=1e-12)
    node.start()
    node.start()
    assert node.load() == pytest.approx(3 * 250e6 * math.exp(-1.0), rel=1e-12)


def test_a_node_without_history_costs_the_penalty_once_it_has_requests_in_flight() -> None:
    clock = ManualClock(start=0.0)
    node = fresh(clock)
    assert node.load() == 0.0
    node.start()
    node.start()
    assert node.load() == PENALTY + 2


def test_a_new_node_gets_one_request_at_a_time_until_it_answers() -> None:
    clock = ManualClock(start=0.0)
    balancer = P2CPeakEwma(clock=clock, rng=random.Random(2))
    known = balancer.add(Endpoint("10.0.0.1:80"))
    one_request(known, clock, 0.25)
    new = balancer.add(Endpoint("10.0.0.2:80"))
    leases = [balancer.acquire() for _ in range(20)]
    assert new.pending == 1
    assert known.pending == 19
    for lease in leases:
        lease.release()


def test_p2c_peak_ewma_prefers_the_faster_node() -> None:
    clock = ManualClock(start=0.0)
    balancer = P2CPeakEwma(clock=clock, rng=random.Random(2))
    fast = balancer.add(Endpoint("10.0.0.1:80"))
    slow = balancer.add(Endpoint("10.0.0.2:80"))
    one_request(fast, clock, 0.125)
    one_request(slow, clock, 1.0)
    # cost: fast ~113 ms (125 ms decayed for 1 s) * (pending + 1) against slow 1 s * 1:
    # fast takes 8 before slow gets one
    for _ in range(8):
        balancer.acquire()
    assert (fast.pending, slow.pending) == (8, 0)
    balancer.acquire()
    assert slow.pending == 1


def test_decay_time_must_be_positive() -> None:
    with pytest.raises(ValueError, match="decay_time"):
        PeakEwmaNode(Endpoint("a:1"), ManualClock(), decay_time=0.0)
