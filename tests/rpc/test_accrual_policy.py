"""Failure accrual policies and the default mark-dead backoff."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import pytest

from roost.rpc.accrual_policy import (
    EXHAUSTED,
    consecutive_failures,
    default_backoff,
    success_rate,
    success_rate_windowed,
)


def test_the_default_backoff_starts_at_5s_then_doubles_with_up_to_as_much_again() -> None:
    durations = iter(default_backoff(random.Random(4)))
    first = [next(durations) for _ in range(8)]
    assert first[0] == 5.0
    for k, d in enumerate(first[1:6], start=1):
        h = 5.0 * 2 ** (k - 1)
        assert h <= d < 2 * h or d == 300.0
    assert first[-1] == 300.0  # 5 * 2**6 >= 300: constant from there on
    assert all(next(durations) == 300.0 for _ in range(5))


def test_the_default_backoff_starts_over_each_time_it_is_iterated() -> None:
    backoff = default_backoff(random.Random(1))
    assert next(iter(backoff)) == 5.0
    assert next(iter(backoff)) == 5.0


def test_consecutive_failures_marks_dead_at_the_nth_failure_in_a_row() -> None:
    policy = consecutive_failures(3, [7.0, 11.0])
    assert policy.mark_dead_on_failure(0.0) is None
    assert policy.mark_dead_on_failure(0.0) is None
    policy.record_success(0.0)  # breaks the run
    assert policy.mark_dead_on_failure(0.0) is None
    assert policy.mark_dead_on_failure(0.0) is None
    assert policy.mark_dead_on_failure(0.0) == 7.0
    assert policy.mark_dead_on_failure(0.0) == 11.0  # still failing: the next duration
    assert policy.mark_dead_on_failure(0.0) == EXHAUSTED == 300.0
    policy.revived()
    assert [policy.mark_dead_on_failure(0.0) for _ in range(3)] == [None, None, 7.0]


def test_a_one_shot_backoff_replays_from_its_start_after_a_revival() -> None:
    def durations() -> Iterator[float]:
        yield from (1.0, 2.0, 4.0)

    policy = consecutive_failures(1, durations())
    assert [policy.mark_dead_on_failure(0.0) for _ in range(2)] == [1.0, 2.0]
    policy.revived()
    assert [policy.mark_dead_on_failure(0.0) for _ in range(4)] == [1.0, 2.0, 4.0, 300.0]


def test_success_rate_needs_a_full_window_of_requests_before_marking_dead() -> None:
    policy = success_rate(0.8, 5, [9.0])
    assert [policy.mark_dead_on_failure(0.0) for _ in range(4)] == [None] * 4
    assert policy.mark_dead_on_failure(0.0) == 9.0


def test_success_rate_is_an_ema_over_requests() -> None:
    policy = success_rate(0.5, 4, [9.0])
    for _ in range(4):
        policy.record_success(0.0)
    w = math.exp(-1 / 4)
    assert policy.mark_dead_on_failure(0.0) is None  # 1 - w = 0.22 lost: 0.78
    assert policy.success_rate == pytest.approx(w)
    assert policy.mark_dead_on_failure(0.0) is None  # w**2 = 0.61
    assert policy.mark_dead_on_failure(0.0) == 9.0  # w**3 = 0.47 < 0.5
    policy.revived()
    assert policy.mark_dead_on_failure(0.0) is None  # a fresh window after revival


def test_success_rate_within_duration_needs_min_requests_in_the_window() -> None:
    policy = success_rate_windowed(0.8, 30.0, [9.0], min_request_threshold=3)
    assert policy.mark_dead_on_failure(0.0) is None
    assert policy.mark_dead_on_failure(1.0) is None
    assert policy.mark_dead_on_failure(2.0) == 9.0
    policy.revived()
    assert policy.mark_dead_on_failure(100.0) is None
    assert policy.mark_dead_on_failure(140.0) is None  # the first one left the window
    assert policy.mark_dead_on_failure(141.0) is None
    assert policy.mark_dead_on_failure(142.0) == 9.0  # the backoff started over too


def test_success_rate_within_duration_weighs_outcomes_by_time() -> None:
    recent = success_rate_windowed(0.5, 10.0, [9.0], min_request_threshold=1)
    recent.record_success(0.0)
    assert recent.mark_dead_on_failure(1.0) is None  # the success still weighs e^-0.1
    assert recent.success_rate == pytest.approx(math.exp(-0.1))
    old = success_rate_windowed(0.5, 10.0, [9.0], min_request_threshold=1)
    old.record_success(0.0)
    assert old.mark_dead_on_failure(10.0) == 9.0  # one window later it weighs e^-1 < 0.5
    assert old.success_rate == pytest.approx(math.exp(-1))


def test_or_else_tells_both_policies_and_takes_the_longer_duration() -> None:
    policy = consecutive_failures(2, [5.0, 50.0]).or_else(success_rate(0.9, 2, [20.0]))
    assert policy.mark_dead_on_failure(0.0) is None
    assert policy.mark_dead_on_failure(0.0) == 20.0  # both say dead: 5 vs 20
    assert policy.mark_dead_on_failure(0.0) == 300.0  # 50 vs exhausted
    policy.revived()  # both start over: counts, windows and backoffs
    assert policy.mark_dead_on_failure(0.0) is None
    assert policy.mark_dead_on_failure(0.0) == 20.0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: consecutive_failures(0), "at least 1"),
        (lambda: success_rate(1.5, 10), r"in \[0, 1\]"),
        (lambda: success_rate(0.5, 0), "positive"),
    ],
)
def test_bad_policy_parameters_are_refused(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]
