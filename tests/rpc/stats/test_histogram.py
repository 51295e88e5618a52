"""The bucketed histogram: percentiles within the documented 1 %, exact count/sum/min/max."""

from __future__ import annotations

import math
import random

import pytest

from roost.rpc.stats.histogram import (
    BUCKETS,
    LOWEST,
    PERCENTILES,
    RATIO,
    Histogram,
    bucket_of,
)


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered) - 1e-9)) - 1]


def assert_percentiles_within_one_percent(values: list[float]) -> None:
    h = Histogram()
    for v in values:
        h.add(v)
    snap = h.snapshot()
    for key, q in PERCENTILES.items():
        exact = nearest_rank(values, q)
        got = snap.percentiles[key]
        assert abs(got - exact) <= 0.01 * exact, (key, got, exact)


def test_percentiles_of_the_integers_one_to_ten_thousand_are_within_one_percent() -> None:
    values = [float(i) for i in range(1, 10_001)]
    random.Random(3).shuffle(values)
    assert_percentiles_within_one_percent(values)


def test_percentiles_of_lognormal_latencies_are_within_one_percent() -> None:
    rng = random.Random(7)
    assert_percentiles_within_one_percent([rng.lognormvariate(2.0, 1.5) for _ in range(50_000)])


def test_percentiles_over_twelve_decades_are_within_one_percent() -> None:
    rng = random.Random(11)
    assert_percentiles_within_one_percent([10 ** rng.uniform(-3, 9) for _ in range(20_000)])


def test_percentiles_of_an_exponential_tail_are_within_one_percent() -> None:
    rng = random.Random(5)
    assert_percentiles_within_one_percent([rng.expovariate(1 / 30) + 0.5 for _ in range(20_000)])


def test_a_constant_value_is_reported_exactly() -> None:
    h = Histogram()
    for _ in range(1000):
        h.add(12)
    snap = h.snapshot()
    assert set(snap.percentiles.values()) == {12}
    assert (snap.min, snap.max, snap.avg) == (12, 12, 12)


def test_count_sum_min_and_max_are_exact() -> None:
    rng = random.Random(1)
    values = [rng.uniform(0, 500) for _ in range(10_000)] + [0.0, 499.999]
    h = Histogram()
    for v in values:
        h.add(v)
    snap = h.snapshot()
    total = 0.0
    for v in values:
        total += v
    assert snap.count == len(values)
    assert snap.sum == total
    assert snap.min == min(values)
    assert snap.max == max(values)
    assert snap.avg == total / len(values)


def test_integer_values_keep_an_integer_sum() -> None:
    h = Histogram()
    for v in (1, 2, 3):
        h.add(v)
    assert h.sum == 6 and isinstance(h.sum, int)


def test_tiny_zero_and_negative_values_land_in_the_first_bucket_with_exact_min() -> None:
    h = Histogram()
    for v in (0.0, 0.0002, -5.0, 0.0009):
        h.add(v)
    snap = h.snapshot()
    assert snap.count == 4
    assert snap.min == -5.0
    assert snap.max == 0.0009
    # below 0.001 the error is absolute: every estimate lies within [min, max]
    assert all(-5.0 <= v <= 0.0009 for v in snap.percentiles.values())


def test_an_empty_histogram_reports_zeros() -> None:
    snap = Histogram().snapshot()
    assert snap.fields() == {
        "count": 0,
        "sum": 0,
        "avg": 0.0,
        "min": 0.0,
        "max": 0.0,
        **{k: 0.0 for k in PERCENTILES},
    }


def test_a_snapshot_with_reset_starts_a_new_interval() -> None:
    h = Histogram()
    for v in range(1, 101):
        h.add(v)
    first = h.snapshot(reset=True)
    assert first.count == 100
    h.add(7)
    second = h.snapshot()
    assert (second.count, second.min, second.max, second.percentiles["p99"]) == (1, 7, 7, 7)


def test_bucket_edges_grow_by_two_percent_and_are_monotone() -> None:
    assert bucket_of(0.0) == 0
    assert bucket_of(LOWEST) == 1
    assert bucket_of(1e15) == BUCKETS - 1
    prev = 0
    x = LOWEST
    while x < 1e11:
        b = bucket_of(x)
        assert b >= prev
        assert bucket_of(x * RATIO * 1.0001) == b + 1 or bucket_of(x * RATIO * 1.0001) == b + 2
        prev = b
        x *= 1.37


@pytest.mark.parametrize("q", [0.0, 0.5, 1.0])
def test_percentile_of_a_single_value_is_that_value(q: float) -> None:
    h = Histogram()
    h.add(42.5)
    assert h.percentile(q) == 42.5
