"""HealthResult: Marathon's Health counters and HealthCheckActor's grace and kill rules."""

from __future__ import annotations

import pytest

from roost.core.clock import ManualClock
from roost.marathon.health import HealthResult
from tests.marathon.health import make_check

STARTED = 1_000.0
WALL = 1_700_000_000.0  # ManualClock's default wall time at STARTED


def fmt(wall: float) -> str:
    return f"t+{wall - WALL:g}"


def result_for(clock: ManualClock, **check_fields: object) -> HealthResult:
    return HealthResult(
        make_check(**check_fields),
        task_id="web.instance-1._app.1",
        instance_id="web.instance-1",
        started_at=clock.monotonic(),
    )


def succeed(result: HealthResult, clock: ManualClock) -> None:
    result.record_success(now=clock.monotonic(), wall=clock.time())


def fail(result: HealthResult, clock: ManualClock, cause: str = "HTTP 500") -> bool:
    return result.record_failure(now=clock.monotonic(), wall=clock.time(), cause=cause)


def test_new_result_is_not_alive_and_has_no_timestamps() -> None:
    result = result_for(ManualClock(STARTED))
    assert result.to_json(fmt) == {
        "alive": False,
        "consecutiveFailures": 0,
        "firstSuccess": None,
        "lastSuccess": None,
        "lastFailure": None,
        "lastFailureCause": None,
        "instanceId": "web.instance-1",
        "taskId": "web.instance-1._app.1",
    }


def test_success_sets_first_and_last_success_and_makes_the_result_alive() -> None:
    clock = ManualClock(STARTED)
    result = result_for(clock)
    clock.advance(5)
    succeed(result, clock)
    clock.advance(60)
    succeed(result, clock)
    body = result.to_json(fmt)
    assert (body["alive"], body["firstSuccess"], body["lastSuccess"]) == (True, "t+5", "t+65")


@pytest.mark.parametrize("offset", [0, 1, 150, 299.999])
def test_failure_inside_grace_period_before_any_success_is_ignored(offset: float) -> None:
    clock = ManualClock(STARTED)
    result = result_for(clock, grace_period_seconds=300, max_consecutive_failures=1)
    clock.advance(offset)
    assert [fail(result, clock) for _ in range(5)] == [False] * 5
    assert result.consecutive_failures == 0
    assert result.to_json(fmt)["lastFailure"] is None
    assert result.to_json(fmt)["lastFailureCause"] is None


@pytest.mark.parametrize("offset", [300, 301, 10_000])
def test_failure_from_the_end_of_the_grace_period_counts(offset: float) -> None:
    clock = ManualClock(STARTED)
    result = result_for(clock, grace_period_seconds=300)
    clock.advance(offset)
    fail(result, clock, "ConnectionRefused")
    body = result.to_json(fmt)
    assert body["consecutiveFailures"] == 1
    assert (body["lastFailure"], body["lastFailureCause"]) == (f"t+{offset:g}", "ConnectionRefused")


def test_failure_after_a_success_counts_even_inside_the_grace_period() -> None:
    clock = ManualClock(STARTED)
    result = result_for(clock, grace_period_seconds=300)
    clock.advance(10)
    succeed(result, clock)
    clock.advance(10)
    fail(result, clock)
    assert (result.alive, result.consecutive_failures) == (False, 1)


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_kill_comes_with_the_failure_after_max_consecutive_failures(limit: int) -> None:
    # HealthCheckActor.checkConsecutiveFailures looks at the count before the new failure:
    # a task that "fails more than maxConsecutiveFailures checks" is killed.
    clock = ManualClock(STARTED)
    result = result_for(clock, grace_period_seconds=0, max_consecutive_failures=limit)
    decisions = [fail(result, clock) for _ in range(limit + 1)]
    assert decisions == [False] * limit + [True]
    assert result.consecutive_failures == limit + 1


def test_every_failure_past_the_limit_still_asks_for_the_kill() -> None:
    clock = ManualClock(STARTED)
    result = result_for(clock, grace_period_seconds=0, max_consecutive_failures=1)
    assert [fail(result, clock) for _ in range(4)] == [False, True, True, True]


def test_max_consecutive_failures_zero_never_kills() -> None:
    clock = ManualClock(STARTED)
    result = result_for(clock, grace_period_seconds=0, max_consecutive_failures=0)
    assert not any(fail(result, clock) for _ in range(100))
    assert result.consecutive_failures == 100


def test_success_resets_the_failure_count_so_the_limit_starts_over() -> None:
    clock = ManualClock(STARTED)
    result = result_for(clock, grace_period_seconds=0, max_consecutive_failures=2)
    assert [fail(result, clock), fail(result, clock)] == [False, False]
    succeed(result, clock)
    assert result.consecutive_failures == 0
    assert [fail(result, clock), fail(result, clock), fail(result, clock)] == [False, False, True]


def test_alive_follows_the_latest_counted_outcome_and_first_success_stays() -> None:
    clock = ManualClock(STARTED)
    result = result_for(clock, grace_period_seconds=0)
    seen = []
    for outcome in ["ok", "fail", "fail", "ok", "fail", "ok"]:
        clock.advance(1)
        succeed(result, clock) if outcome == "ok" else fail(result, clock)
        seen.append(result.alive)
    assert seen == [True, False, False, True, False, True]
    body = result.to_json(fmt)
    assert (body["firstSuccess"], body["lastSuccess"], body["lastFailure"]) == ("t+1", "t+6", "t+5")


def test_json_keys_are_the_ones_marathon_python_accepts() -> None:
    accepted = {
        "alive",
        "consecutiveFailures",
        "firstSuccess",
        "lastFailure",
        "lastSuccess",
        "taskId",
        "lastFailureCause",
        "instanceId",
    }
    assert set(result_for(ManualClock()).to_json()) == accepted


def test_default_json_formats_timestamps_like_marathon() -> None:
    clock = ManualClock(STARTED, wall=1443542391.164)
    result = result_for(clock)
    succeed(result, clock)
    assert result.to_json()["firstSuccess"] == "2015-09-29T15:59:51.164Z"
