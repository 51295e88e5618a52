"""StatusUpdateManager: per-task FIFO, one in flight, retries with backoff, acks, resends."""

from __future__ import annotations

import pytest

from roost.cluster.agent.status_updates import (
    Recorded,
    StatusUpdate,
    StatusUpdateManager,
)
from roost.core.clock import ManualClock

_counter = 0


def update(task: str, state: str, framework: str = "F1", uuid: str | None = None) -> StatusUpdate:
    global _counter
    _counter += 1
    return StatusUpdate(
        framework,
        {"task_id": {"value": task}, "state": state, "uuid": uuid or f"u{_counter}"},
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sum_(clock: ManualClock) -> StatusUpdateManager:
    return StatusUpdateManager(clock, retry_min=10.0, retry_max=40.0)


def test_first_update_of_a_task_is_forwarded_and_later_ones_queue(sum_: StatusUpdateManager):
    assert sum_.record(update("t1", "TASK_STARTING")) is Recorded.FORWARD
    assert sum_.record(update("t1", "TASK_RUNNING")) is Recorded.QUEUED
    assert sum_.record(update("t2", "TASK_RUNNING")) is Recorded.FORWARD


def test_in_flight_update_is_retried_with_doubling_interval_up_to_the_max(
    sum_: StatusUpdateManager, clock: ManualClock
):
    u = update("t1", "TASK_RUNNING")
    sum_.record(u)
    assert sum_.next_deadline() == clock.monotonic() + 10
    clock.advance(9.9)
    assert sum_.due() == []
    clock.advance(0.1)
    assert sum_.due() == [u]  # t=10
    for wait in (20.0, 40.0, 40.0):  # doubling, capped at retry_max
        clock.advance(wait - 0.1)
        assert sum_.due() == []
        clock.advance(0.1)
        assert sum_.due() == [u]


def test_ack_of_in_flight_update_releases_the_next_queued_one(sum_: StatusUpdateManager):
    first, second = update("t1", "TASK_STARTING"), update("t1", "TASK_RUNNING")
    sum_.record(first)
    sum_.record(second)
    ack = sum_.acknowledge("F1", "t1", first.uuid)
    assert ack.matched and not ack.terminal
    assert ack.next == second
    assert sum_.in_flight("F1", "t1") == second


def test_ack_with_unknown_or_queued_uuid_is_ignored(sum_: StatusUpdateManager):
    first, second = update("t1", "TASK_STARTING"), update("t1", "TASK_RUNNING")
    sum_.record(first)
    sum_.record(second)
    assert not sum_.acknowledge("F1", "t1", second.uuid).matched
    assert not sum_.acknowledge("F1", "t1", "nope").matched
    assert not sum_.acknowledge("F2", "t1", first.uuid).matched
    assert sum_.in_flight("F1", "t1") == first


def test_terminal_ack_ends_the_stream(sum_: StatusUpdateManager):
    done = update("t1", "TASK_FINISHED")
    sum_.record(done)
    ack = sum_.acknowledge("F1", "t1", done.uuid)
    assert ack.matched and ack.terminal and ack.next is None
    assert not sum_.has_stream("F1", "t1")
    assert sum_.next_deadline() is None


def test_duplicate_uuid_is_not_recorded_twice(sum_: StatusUpdateManager):
    u = update("t1", "TASK_RUNNING", uuid="same")
    assert sum_.record(u) is Recorded.FORWARD
    assert sum_.record(update("t1", "TASK_RUNNING", uuid="same")) is Recorded.DUPLICATE
    assert list(sum_.pending()) == [u]


def test_updates_after_a_terminal_one_are_dropped(sum_: StatusUpdateManager):
    sum_.record(update("t1", "TASK_FAILED"))
    assert sum_.record(update("t1", "TASK_RUNNING")) is Recorded.TERMINATED
    assert len(list(sum_.pending())) == 1


def test_next_queued_update_gets_a_fresh_retry_interval(
    sum_: StatusUpdateManager, clock: ManualClock
):
    first, second = update("t1", "TASK_STARTING"), update("t1", "TASK_RUNNING")
    sum_.record(first)
    sum_.record(second)
    clock.advance(10)
    assert sum_.due() == [first]
    clock.advance(5)
    sum_.acknowledge("F1", "t1", first.uuid)
    assert sum_.next_deadline() == clock.monotonic() + 10


def test_resend_all_returns_every_in_flight_update_and_resets_timers(
    sum_: StatusUpdateManager, clock: ManualClock
):
    a, a2, b = update("a", "TASK_RUNNING"), update("a", "TASK_FINISHED"), update("b", "TASK_LOST")
    for u in (a, a2, b):
        sum_.record(u)
    clock.advance(10)
    sum_.due()
    clock.advance(20)
    sum_.due()
    assert sorted(u.uuid for u in sum_.resend_all()) == sorted([a.uuid, b.uuid])
    assert sum_.next_deadline() == clock.monotonic() + 10
    assert [u.uuid for u in sum_.pending()] == [a.uuid, a2.uuid, b.uuid]


def test_cleanup_drops_only_that_frameworks_streams(sum_: StatusUpdateManager):
    sum_.record(update("t1", "TASK_RUNNING", framework="F1"))
    sum_.record(update("t1", "TASK_RUNNING", framework="F2"))
    assert sum_.cleanup("F1") == 1
    assert [u.framework_id for u in sum_.pending()] == ["F2"]


def test_bad_retry_bounds_are_rejected(clock: ManualClock):
    with pytest.raises(ValueError):
        StatusUpdateManager(clock, retry_min=0, retry_max=1)
    with pytest.raises(ValueError):
        StatusUpdateManager(clock, retry_min=5, retry_max=1)
