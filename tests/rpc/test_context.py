"""Request context: deadlines combine strictest-first and scopes unwind."""

from __future__ import annotations

import asyncio

from roost.core.clock import ManualClock
from roost.rpc.context import (
    Deadline,
    attempt_scope,
    current_deadline,
    deadline_scope,
    dtab_scope,
    local_dtab,
    retry_attempt,
)


def test_combined_takes_the_later_timestamp_and_the_earlier_deadline() -> None:
    a, b = Deadline(10, 100), Deadline(20, 200)
    assert a.combined(b) == Deadline(20, 100)
    assert a.combined(None) == a


def test_the_deadline_header_round_trips_and_bad_values_are_ignored() -> None:
    d = Deadline(1_700_000_000_000_000_000, 1_700_000_001_000_000_000)
    assert d.to_header() == "1700000000000000000 1700000001000000000"
    assert Deadline.from_header(d.to_header()) == d
    assert Deadline.from_header("1 5, 2 4") == Deadline(2, 4)
    for bad in ("", "1", "a b", "1 2 3", "-1 5"):
        assert Deadline.from_header(bad) is None, bad


def test_remaining_time_follows_the_clock() -> None:
    clock = ManualClock()
    d = Deadline.of_timeout(2.0, clock)
    assert abs(d.remaining(clock) - 2.0) < 1e-6 and not d.expired(clock)
    clock.advance(2.5)
    assert d.expired(clock)


async def test_scopes_nest_strictest_wins_and_unwind() -> None:
    assert current_deadline() is None
    with deadline_scope(Deadline(0, 100)):
        with deadline_scope(Deadline(0, 500)):
            assert current_deadline() == Deadline(0, 100)
        with deadline_scope(Deadline(0, 500), replace=True):
            assert current_deadline() == Deadline(0, 500)
        assert current_deadline() == Deadline(0, 100)
    assert current_deadline() is None


async def test_tasks_inherit_the_context_of_the_request_that_made_them() -> None:
    async def read() -> tuple[str, int]:
        await asyncio.sleep(0)
        return local_dtab(), retry_attempt()

    with dtab_scope("/svc=>/#/io.l5d.fs"), attempt_scope(2):
        task = asyncio.create_task(read())
    assert local_dtab() == "" and retry_attempt() == 0
    assert await task == ("/svc=>/#/io.l5d.fs", 2)
