"""The launch queue and each app's launch delay (reference §2.7, Marathon ``backoff.md``).

Times are plain monotonic seconds: both classes are pure and take ``now`` from the caller.
"""

from __future__ import annotations

import pytest

from roost.marathon.launch_queue import LaunchDelay, LaunchQueue

MAX = 300.0


def default_delay() -> LaunchDelay:
    """Upstream defaults: ``backoffSeconds`` 1, ``backoffFactor`` 1.15, max 300 s."""
    return LaunchDelay(backoff_seconds=1.0, factor=1.15, max_seconds=MAX)


# -- LaunchDelay ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        (1, 1.0),
        (2, 1.15),
        (3, 1.15**2),
        (5, 1.15**4),
        (20, 1.15**19),
        (40, 1.15**39),
        (41, 1.15**40),
        (42, MAX),
        (100, MAX),
    ],
)
def test_delay_starts_at_backoff_seconds_and_grows_by_the_factor_up_to_the_max(
    failures: int, expected: float
) -> None:
    delay = default_delay()
    seconds = 0.0
    for _ in range(failures):
        seconds = delay.on_failure(now=50.0)
    assert seconds == pytest.approx(expected)
    assert delay.current == pytest.approx(expected)


def test_delay_is_never_larger_than_max_even_when_backoff_seconds_is() -> None:
    delay = LaunchDelay(backoff_seconds=10.0, factor=2.0, max_seconds=5.0)
    assert delay.on_failure(now=0.0) == 5.0
    assert delay.on_failure(now=0.0) == 5.0


def test_delay_of_zero_backoff_stays_zero() -> None:
    delay = LaunchDelay(backoff_seconds=0.0, factor=1.15, max_seconds=MAX)
    assert [delay.on_failure(now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert delay.remaining(0.0) == 0.0


def test_remaining_counts_down_from_the_failure_to_zero() -> None:
    delay = default_delay()
    delay.on_failure(now=100.0)
    delay.on_failure(now=100.0)  # 1.15 s from 100
    assert delay.remaining(100.0) == pytest.approx(1.15)
    assert delay.remaining(100.5) == pytest.approx(0.65)
    assert delay.remaining(101.15) == pytest.approx(0.0)
    assert delay.remaining(200.0) == 0.0


def test_reset_clears_the_delay_and_starts_over_at_backoff_seconds() -> None:
    delay = default_delay()
    for _ in range(5):
        delay.on_failure(now=10.0)
    delay.reset()
    assert (delay.current, delay.remaining(10.0), delay.last_failure) == (0.0, 0.0, None)
    assert delay.on_failure(now=11.0) == 1.0


def test_a_quiet_spell_longer_than_delay_plus_max_resets_the_delay() -> None:
    delay = default_delay()
    delay.on_failure(now=0.0)
    delay.on_failure(now=0.0)  # 1.15 s
    quiet = 1.15 + MAX
    assert delay.on_failure(now=quiet + 0.5) == 1.0


def test_failures_closer_together_than_delay_plus_max_keep_growing() -> None:
    delay = default_delay()
    delay.on_failure(now=0.0)
    delay.on_failure(now=0.0)  # 1.15 s
    assert delay.on_failure(now=1.15 + MAX - 0.5) == pytest.approx(1.15**2)


def test_the_quiet_spell_is_measured_from_the_last_failure() -> None:
    delay = default_delay()
    t = 0.0
    for _ in range(4):  # each failure within the previous delay + max of the one before
        delay.on_failure(now=t)
        t += 200.0
    assert delay.current == pytest.approx(1.15**3)


# -- LaunchQueue ------------------------------------------------------------------------------


def test_add_creates_an_entry_and_adds_to_it_keeping_the_first_since() -> None:
    q = LaunchQueue()
    q.add("/a", 2, wall=1000.0)
    q.add("/a", 3, wall=2000.0)
    assert q.count("/a") == 5
    assert q.entries["/a"].since == 1000.0


@pytest.mark.parametrize("n", [0, -1])
def test_add_of_nothing_creates_no_entry(n: int) -> None:
    q = LaunchQueue()
    q.add("/a", n, wall=1.0)
    assert q.entries == {}
    assert q.count("/a") == 0


@pytest.mark.parametrize(
    ("queued", "take", "taken", "left"),
    [(3, 1, 1, 3 - 1), (3, 3, 3, 0), (3, 5, 3, 0), (3, 0, 0, 3), (3, -2, 0, 3), (0, 2, 0, 0)],
)
def test_remove_takes_at_most_what_is_queued(queued: int, take: int, taken: int, left: int) -> None:
    q = LaunchQueue()
    q.add("/a", queued, wall=1.0)
    assert q.remove("/a", take) == taken
    assert q.count("/a") == left
    assert ("/a" in q.entries) is (left > 0)


def test_clear_drops_the_entry_but_keeps_the_delay() -> None:
    q = LaunchQueue()
    q.add("/a", 2, wall=1.0)
    q.delay_for("/a", 1.0, 1.15, MAX).on_failure(now=10.0)
    q.clear("/a")
    assert q.count("/a") == 0
    assert q.remaining("/a", now=10.0) == 1.0


def test_forget_drops_the_entry_and_the_delay() -> None:
    q = LaunchQueue()
    q.add("/a", 2, wall=1.0)
    q.delay_for("/a", 1.0, 1.15, MAX).on_failure(now=10.0)
    q.forget("/a")
    assert (q.count("/a"), q.remaining("/a", now=10.0)) == (0, 0.0)
    assert "/a" not in q.delays


def test_delay_for_keeps_the_state_and_takes_new_parameters() -> None:
    q = LaunchQueue()
    first = q.delay_for("/a", 1.0, 1.15, MAX)
    first.on_failure(now=0.0)
    again = q.delay_for("/a", 2.0, 3.0, 10.0)
    assert again is first
    assert (again.backoff_seconds, again.factor, again.max_seconds) == (2.0, 3.0, 10.0)
    assert again.on_failure(now=0.0) == 3.0  # 1 s grown by the new factor


def test_remaining_of_an_app_without_a_delay_is_zero() -> None:
    assert LaunchQueue().remaining("/nobody", now=5.0) == 0.0


def test_reset_delay_makes_the_entry_launchable_at_once() -> None:
    q = LaunchQueue()
    q.add("/a", 1, wall=1.0)
    q.delay_for("/a", 5.0, 1.15, MAX).on_failure(now=10.0)
    assert q.launchable(now=10.0) == []
    q.reset_delay("/a")
    assert [e.app_id for e in q.launchable(now=10.0)] == ["/a"]
    q.reset_delay("/unknown")  # no delay yet: nothing to do, no error


def test_launchable_lists_entries_whose_delay_passed_oldest_first() -> None:
    q = LaunchQueue()
    q.add("/c", 1, wall=30.0)
    q.add("/a", 1, wall=20.0)
    q.add("/b", 1, wall=10.0)
    q.add("/delayed", 1, wall=5.0)
    q.delay_for("/delayed", 4.0, 1.15, MAX).on_failure(now=100.0)
    assert [e.app_id for e in q.launchable(now=100.0)] == ["/b", "/a", "/c"]
    assert [e.app_id for e in q.launchable(now=104.0)] == ["/delayed", "/b", "/a", "/c"]


def test_next_ready_at_is_when_the_first_delayed_entry_becomes_launchable() -> None:
    q = LaunchQueue()
    assert q.next_ready_at(now=0.0) is None
    q.add("/a", 1, wall=1.0)
    q.add("/b", 1, wall=2.0)
    q.delay_for("/a", 8.0, 1.15, MAX).on_failure(now=100.0)
    q.delay_for("/b", 3.0, 1.15, MAX).on_failure(now=100.0)
    assert q.next_ready_at(now=100.0) == 103.0
    assert q.next_ready_at(now=103.0) == 108.0
    assert q.next_ready_at(now=108.0) is None


def test_next_ready_at_ignores_delays_of_apps_with_nothing_queued() -> None:
    q = LaunchQueue()
    q.delay_for("/idle", 8.0, 1.15, MAX).on_failure(now=100.0)
    assert q.next_ready_at(now=100.0) is None
