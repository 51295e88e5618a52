"""WindowedAdder and LeakyBucket on a virtual clock."""

from __future__ import annotations

from roost.core.clock import ManualClock
from roost.rpc.window import LeakyBucket, WindowedAdder


def test_values_expire_once_their_slice_leaves_the_window() -> None:
    clock = ManualClock()
    adder = WindowedAdder(10.0, 10, clock)
    adder.add(5)
    clock.advance(5.0)
    adder.add(3)
    assert adder.sum() == 8
    clock.advance(5.0)  # the first slice (t=0..1) is out of the window now
    assert adder.sum() == 3
    clock.advance(5.0)
    assert adder.sum() == 0


def test_a_long_silence_clears_every_slice() -> None:
    clock = ManualClock()
    adder = WindowedAdder(1.0, 10, clock)
    for _ in range(10):
        adder.incr()
        clock.advance(0.1)
    assert adder.sum() == 9  # the first one expired exactly at the window's end
    clock.advance(1000.0)
    assert adder.sum() == 0


def test_the_leaky_bucket_keeps_its_reserve_and_refuses_what_it_lacks() -> None:
    clock = ManualClock()
    bucket = LeakyBucket(10.0, reserve=10, clock=clock)
    assert bucket.try_get(10)
    assert not bucket.try_get(1)
    bucket.put(5)
    assert bucket.count() == 5
    clock.advance(11.0)  # the withdrawal and the deposit expired
    assert bucket.count() == 10
