"""Aperture: a load band widens and narrows a window of the ring."""

from __future__ import annotations

import math
import random

import pytest

from roost.core.clock import ManualClock
from roost.rpc.endpoints import Endpoint
from roost.rpc.loadbalancer import Aperture, Lease, LoadBand
from roost.rpc.service import Status


def aperture(n: int, clock: ManualClock, **kwargs: int) -> Aperture:
    balancer = Aperture(clock=clock, rng=random.Random(11), **kwargs)
    for i in range(n):
        balancer.add(Endpoint(f"10.0.0.{i}:80"))
    return balancer


def test_the_load_band_widens_at_the_high_mark_and_narrows_at_the_low_one() -> None:
    band = LoadBand(smooth_win=5.0, low_load=0.5, high_load=2.0)
    assert band.adjust(+2, 0.0, 1) == 1  # first sample taken as is: 2 / 1 >= 2
    assert band.adjust(0, 0.0, 2) == 0  # 2 / 2 = 1 is inside the band
    assert band.adjust(-1, 5.0, 2) == 0  # ema = 1 + (2 - 1) e^-1 = 1.37; avg 0.68
    assert band.offered_load_ema == pytest.approx(1 + math.e**-1)
    assert band.adjust(-1, 10.0, 2) == -1  # ema ~ 0.50; avg 0.25 <= 0.5


def test_the_load_band_rejects_an_empty_band() -> None:
    with pytest.raises(ValueError, match="low_load < high_load"):
        LoadBand(low_load=2.0, high_load=2.0)


def test_light_load_stays_within_min_aperture() -> None:
    clock = ManualClock()
    balancer = aperture(6, clock)
    assert balancer.aperture == 1 and len(balancer.window) == 1
    for _ in range(50):
        clock.advance(0.1)
        balancer.acquire().release()
    assert {n.address for n in balancer.nodes if n.requests} == {balancer.window[0].address}
    assert balancer.widen == 0


def test_the_aperture_widens_under_load_and_narrows_when_it_drops() -> None:
    clock = ManualClock()
    balancer = aperture(6, clock)
    held: list[Lease] = []
    for _ in range(200):  # 20 s of one more outstanding request every 0.1 s
        clock.advance(0.1)
        held.append(balancer.acquire())
    assert balancer.aperture == 6
    assert balancer.widen == 5
    assert all(n.pending > 0 for n in balancer.nodes)
    for lease in held:  # the load drains over 20 s
        clock.advance(0.1)
        lease.release()
    for _ in range(300):  # then 30 s of a trickle: one request in flight half of the time
        lease = balancer.acquire()
        clock.advance(0.05)
        lease.release()
        clock.advance(0.05)
    assert balancer.aperture == 1
    assert balancer.narrow == 5


def test_the_aperture_never_exceeds_the_nodes_nor_drops_below_min_aperture() -> None:
    clock = ManualClock()
    balancer = aperture(3, clock, min_aperture=2)
    assert balancer.aperture == 2
    held = [balancer.acquire() for _ in range(50)]
    clock.advance(10.0)
    held += [balancer.acquire() for _ in range(5)]
    assert balancer.aperture == 3
    balancer.remove(balancer.nodes[0].address)
    assert balancer.aperture == 2
    for lease in held:
        lease.release()
    clock.advance(60.0)
    balancer.acquire().release()
    assert balancer.aperture == 2


def test_a_window_node_that_is_not_open_gives_its_place_to_an_open_one() -> None:
    clock = ManualClock()
    balancer = aperture(4, clock)
    (first,) = balancer.window
    first.status = Status.BUSY
    picked = balancer.pick()
    assert picked is not first and picked.status is Status.OPEN
    assert balancer.window == [picked]
    assert balancer.panicked == 0
    first.status = Status.OPEN
    balancer.pick()
    assert balancer.window == [first]  # back in its place on the ring


def test_removing_a_node_outside_the_window_keeps_the_window() -> None:
    clock = ManualClock()
    balancer = aperture(5, clock, min_aperture=2)
    window = balancer.window
    outside = next(n for n in balancer.nodes if n not in window)
    balancer.remove(outside.address)
    assert balancer.window == window
