"""The exponential moving average shared by the load band and the success-rate policies."""

from __future__ import annotations

import math

import pytest

from roost.rpc.ema import Ema


def test_the_first_sample_is_taken_as_is_then_weighed_by_elapsed_stamps() -> None:
    ema = Ema(10.0)
    assert ema.update(0.0, 4.0) == 4.0
    w = math.exp(-5.0 / 10.0)
    assert ema.update(5.0, 0.0) == pytest.approx(4.0 * w)
    assert ema.update(5.0, 100.0) == pytest.approx(4.0 * w)  # no time passed: no weight


def test_a_stamp_from_the_past_counts_as_no_time_passed() -> None:
    ema = Ema(10.0)
    ema.update(10.0, 1.0)
    assert ema.update(5.0, 0.0) == 1.0
    assert ema.update(10.0, 0.0) == 1.0  # still measured from 10


def test_a_zero_window_follows_the_last_sample_and_reset_forgets() -> None:
    ema = Ema(0.0)
    ema.update(0.0, 1.0)
    assert ema.update(1.0, 3.0) == 3.0
    ema.reset()
    assert ema.update(2.0, 7.0) == 7.0
    with pytest.raises(ValueError, match="negative"):
        Ema(-1.0)
