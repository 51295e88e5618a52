"""Backoff streams: exact values for the deterministic ones, bounds and seeds for jitter."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from roost.rpc.backoff import (
    Backoff,
    const,
    decorrelated_jittered,
    equal_jittered,
    exponential,
    exponential_jittered,
    linear,
)


def test_const_repeats_one_delay() -> None:
    assert const(0.25).take(4) == [0.25, 0.25, 0.25, 0.25]
    assert const(0).take(2) == [0, 0]


def test_a_backoff_starts_again_on_each_iteration() -> None:
    backoff = exponential(1.0, 2)
    assert backoff.take(3) == [1.0, 2.0, 4.0]
    assert backoff.take(3) == [1.0, 2.0, 4.0]
    assert next(iter(backoff)) == 1.0


def test_exponential_multiplies_each_delay() -> None:
    assert exponential(0.5, 3).take(5) == [0.5, 1.5, 4.5, 13.5, 40.5]


def test_exponential_is_capped_and_then_constant() -> None:
    assert exponential(1.0, 2, max=10.0).take(7) == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_exponential_with_multiplier_one_is_constant() -> None:
    assert exponential(2.0, 1).take(3) == [2.0, 2.0, 2.0]


def test_exponential_starting_at_max_is_const_max() -> None:
    assert exponential(5.0, 2, max=5.0).take(3) == [5.0, 5.0, 5.0]


def test_linear_adds_the_offset_each_time() -> None:
    assert linear(1.0, 2.0).take(5) == [1.0, 3.0, 5.0, 7.0, 9.0]


def test_linear_is_capped_and_then_constant() -> None:
    assert linear(1.0, 2.0, max=6.0).take(6) == [1.0, 3.0, 5.0, 6.0, 6.0, 6.0]


def test_decorrelated_jittered_starts_at_start_and_grows_within_three_times() -> None:
    delays = decorrelated_jittered(0.005, 0.2, random.Random(7)).take(50)
    assert delays[0] == 0.005
    for prev, nxt in itertools.pairwise(delays):
        assert prev <= nxt <= min(3 * prev, 0.2)
    assert max(delays) <= 0.2
    assert delays[-1] > 0.15  # it climbs towards max


def test_decorrelated_jittered_draws_uniformly_between_previous_and_three_times_previous() -> None:
    draws = random.Random(42)
    r1, r2 = draws.random(), draws.random()
    d1 = 1.0 + r1 * (3.0 - 1.0)
    d2 = d1 + r2 * (min(3 * d1, 100.0) - d1)
    assert decorrelated_jittered(1.0, 100.0, random.Random(42)).take(3) == [1.0, d1, d2]


def test_decorrelated_jittered_at_max_is_const_max() -> None:
    assert decorrelated_jittered(2.0, 2.0, random.Random(1)).take(3) == [2.0, 2.0, 2.0]


def test_equal_jittered_keeps_half_the_exponential_growth() -> None:
    delays = equal_jittered(1.0, 1000.0, random.Random(3)).take(8)
    assert delays[0] == 1.0
    for k in range(1, 8):
        half = 2.0 ** (k - 1)
        assert half <= delays[k] < 2 * half


def test_equal_jittered_draws_are_seeded() -> None:
    draws = random.Random(9)
    r1, r2 = draws.random(), draws.random()
    assert equal_jittered(5.0, 300.0, random.Random(9)).take(3) == [
        5.0,
        5.0 + r1 * 5.0,
        10.0 + r2 * 10.0,
    ]


def test_equal_jittered_becomes_const_max_once_it_reaches_max() -> None:
    delays = equal_jittered(1.0, 4.0, random.Random(5)).take(7)
    assert delays[3:] == [4.0, 4.0, 4.0, 4.0]  # h = 4 for the fourth delay: 4 + x >= max
    assert all(d <= 4.0 for d in delays)


def test_failure_accrual_default_backoff_stays_within_five_and_three_hundred_seconds() -> None:
    delays = equal_jittered(5.0, 300.0, random.Random(11)).take(20)
    assert delays[0] == 5.0
    assert all(5.0 <= d <= 300.0 for d in delays)
    assert delays[-1] == 300.0


def test_exponential_jittered_is_full_jitter_under_a_doubling_ceiling() -> None:
    delays = exponential_jittered(1.0, 1000.0, random.Random(4)).take(9)
    assert delays[0] == 1.0
    for k in range(1, 9):
        assert 0.0 <= delays[k] < 2.0**k


def test_exponential_jittered_draws_are_seeded() -> None:
    draws = random.Random(2)
    r1, r2 = draws.random(), draws.random()
    assert exponential_jittered(1.0, 100.0, random.Random(2)).take(3) == [1.0, r1 * 2.0, r2 * 4.0]


def test_exponential_jittered_becomes_const_max_once_its_ceiling_reaches_max() -> None:
    delays = exponential_jittered(1.0, 10.0, random.Random(8)).take(7)
    assert all(d < 8.0 for d in delays[1:4])
    assert delays[4:] == [10.0, 10.0, 10.0]
    assert exponential_jittered(3.0, 3.0).take(2) == [3.0, 3.0]


def test_the_same_seed_gives_the_same_jitter_and_a_shared_rng_jitters_each_request() -> None:
    a = decorrelated_jittered(1.0, 50.0, random.Random(123)).take(10)
    b = decorrelated_jittered(1.0, 50.0, random.Random(123)).take(10)
    assert a == b
    shared = equal_jittered(1.0, 50.0, random.Random(123))
    assert shared.take(5) != shared.take(5)


def test_unseeded_jitter_stays_in_bounds() -> None:
    for backoff in (
        decorrelated_jittered(0.1, 2.0),
        equal_jittered(0.1, 2.0),
        exponential_jittered(0.1, 2.0),
    ):
        assert isinstance(backoff, Backoff)
        assert all(0.0 <= d <= 2.0 for d in backoff.take(30))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: const(-1), r"const: seconds must be a finite number at least 0, got -1"),
        (lambda: const(math.inf), r"const: seconds must be a finite number at least 0, got inf"),
        (lambda: exponential(-1, 2), r"exponential: start must be a finite number at least 0"),
        (
            lambda: exponential(1, 0.5),
            r"exponential: mult must be a finite number at least 1, got 0.5",
        ),
        (
            lambda: exponential(2, 2, max=1),
            r"exponential: max \(1\) must not be less than start \(2\)",
        ),
        (lambda: linear(1, -1), r"linear: offset must be a finite number at least 0, got -1"),
        (lambda: linear(1, 1, max=math.nan), r"linear: max must be a finite number at least 0"),
        (
            lambda: decorrelated_jittered(0, 1),
            r"decorrelated_jittered: start must be a finite number greater than 0, got 0",
        ),
        (lambda: decorrelated_jittered(2, 1), r"decorrelated_jittered: max \(1\) must not be less"),
        (lambda: equal_jittered(-5, 300), r"equal_jittered: start must be a finite number greater"),
        (
            lambda: exponential_jittered(1, 0.5),
            r"exponential_jittered: max \(0.5\) must not be less",
        ),
    ],
)
def test_invalid_backoff_arguments_are_refused_with_a_specific_message(
    make: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_backoffs_show_their_definition() -> None:
    assert repr(exponential(1.0, 2, max=8.0)) == "exponential(1.0, 2, max=8.0)"
    assert repr(const(0.0)) == "const(0.0)"
