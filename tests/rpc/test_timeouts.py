"""TimeoutFilter and TotalTimeoutFilter: cancellation, errors and deadline propagation."""

from __future__ import annotations

import asyncio

import pytest

from roost.core.clock import ManualClock
from roost.rpc.budget import RetryBudget
from roost.rpc.context import NS, Deadline, current_deadline, deadline_scope
from roost.rpc.errors import (
    ConnectionFailed,
    DeadlineExceeded,
    Flags,
    RequestTimeout,
    TotalTimeout,
)
from roost.rpc.retries import RetryFilter
from roost.rpc.service import FnService, ServiceBase
from roost.rpc.timeouts import TimeoutFilter, TotalTimeoutFilter


class Hangs(ServiceBase[object, str]):
    """Never answers; records whether it was cancelled and the deadline it saw."""

    def __init__(self) -> None:
        self.calls = 0
        self.cancelled = 0
        self.deadlines: list[Deadline | None] = []

    async def __call__(self, req: object) -> str:
        self.calls += 1
        self.deadlines.append(current_deadline())
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return "never"


def now_ns(clock: ManualClock) -> int:
    return int(clock.time() * NS)


async def test_timeout_cancels_the_call_in_flight_and_raises_request_timeout() -> None:
    inner = Hangs()
    f: TimeoutFilter[object, str] = TimeoutFilter(0.01, ManualClock())
    with pytest.raises(RequestTimeout) as info:
        await f.and_then(inner)("req")
    assert inner.cancelled == 1
    assert type(info.value) is RequestTimeout
    assert info.value.flags == Flags.NONE and not info.value.retryable
    assert "request timed out after 0.01 s" in str(info.value)


async def test_a_fast_call_is_answered_and_the_deadline_scope_ends_with_it() -> None:
    async def answer(req: object) -> str:
        return "ok"

    f: TimeoutFilter[object, str] = TimeoutFilter(1.0, ManualClock())
    assert await f.and_then(FnService(answer))("req") == "ok"
    assert current_deadline() is None


async def test_the_timeout_deadline_is_propagated_to_what_runs_below() -> None:
    clock = ManualClock()
    inner = Hangs()
    f: TimeoutFilter[object, str] = TimeoutFilter(0.01, clock)
    with pytest.raises(RequestTimeout):
        await f.and_then(inner)("req")
    start = now_ns(clock)
    assert inner.deadlines == [Deadline(start, start + 10_000_000)]


async def test_the_strictest_deadline_wins_when_one_is_inherited() -> None:
    clock = ManualClock()
    start = now_ns(clock)
    inner = Hangs()
    f: TimeoutFilter[object, str] = TimeoutFilter(0.01, clock)
    looser = Deadline(start - 5 * NS, start + 60 * NS)
    with deadline_scope(looser), pytest.raises(RequestTimeout):
        await f.and_then(inner)("req")
    assert inner.deadlines == [Deadline(start, start + 10_000_000)]

    stricter = Deadline(start - 5 * NS, start + 5_000_000)
    inner = Hangs()
    with deadline_scope(stricter), pytest.raises(RequestTimeout):
        await TimeoutFilter[object, str](10.0, clock).and_then(inner)("req")
    assert inner.deadlines == [Deadline(start, start + 5_000_000)]


async def test_without_propagation_the_inherited_deadline_is_left_alone() -> None:
    clock = ManualClock()
    inner = Hangs()
    with pytest.raises(RequestTimeout):
        await TimeoutFilter[object, str](0.01, clock, propagate=False).and_then(inner)("req")
    assert inner.deadlines == [None]


async def test_an_inherited_deadline_shorter_than_the_timeout_bounds_the_call() -> None:
    clock = ManualClock()
    start = now_ns(clock)
    inner = Hangs()
    loop = asyncio.get_running_loop()
    began = loop.time()
    with deadline_scope(Deadline(start, start + 20_000_000)), pytest.raises(RequestTimeout) as info:
        await TimeoutFilter[object, str](30.0, clock).and_then(inner)("req")
    assert loop.time() - began < 5.0  # the 30 s timeout did not apply
    assert inner.cancelled == 1
    assert "reached its deadline after 0.020 s" in str(info.value)


async def test_a_deadline_already_past_fails_without_calling_the_service() -> None:
    clock = ManualClock()
    start = now_ns(clock)
    inner = Hangs()
    with (
        deadline_scope(Deadline(start - 2 * NS, start - NS)),
        pytest.raises(DeadlineExceeded) as info,
    ):
        await TimeoutFilter[object, str](1.0, clock).and_then(inner)("req")
    assert inner.calls == 0
    assert not info.value.retryable
    assert "deadline passed 1.000 s before the request" in str(info.value)


async def test_a_timeout_error_raised_by_the_service_is_not_taken_for_ours() -> None:
    async def own_timeout(req: object) -> str:
        raise TimeoutError("inner")

    with pytest.raises(TimeoutError, match="inner"):
        await TimeoutFilter[object, str](5.0, ManualClock()).and_then(FnService(own_timeout))("req")


async def test_total_timeout_spans_retries_and_cancels_the_attempt_in_flight() -> None:
    calls = 0
    inner = Hangs()

    async def fail_then_hang(req: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionFailed()
        return await inner(req)

    stack = TotalTimeoutFilter[object, str](0.02, ManualClock()).and_then(
        RetryFilter[object, str](budget=RetryBudget(clock=ManualClock()))
    )
    with pytest.raises(TotalTimeout) as info:
        await stack.and_then(FnService(fail_then_hang))("req")
    assert calls == 2
    assert inner.cancelled == 1
    assert isinstance(info.value, RequestTimeout)
    assert "call timed out after 0.02 s" in str(info.value)


async def test_a_per_attempt_timeout_is_not_retried_by_the_default_classifier() -> None:
    inner = Hangs()
    stack = RetryFilter[object, str](budget=RetryBudget(clock=ManualClock())).and_then(
        TimeoutFilter[object, str](0.01, ManualClock())
    )
    with pytest.raises(RequestTimeout):
        await stack.and_then(inner)("req")
    assert inner.calls == 1


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("inf"), float("nan")])
def test_timeouts_must_be_positive_and_finite(seconds: float) -> None:
    with pytest.raises(
        ValueError, match="TimeoutFilter: seconds must be a finite number greater than 0"
    ):
        TimeoutFilter(seconds)
    with pytest.raises(ValueError, match="TotalTimeoutFilter: seconds must be"):
        TotalTimeoutFilter(seconds)


@pytest.mark.parametrize("inherited_in", [-1.0, 0.5, 100.0])
async def test_an_advisory_deadline_is_passed_on_but_never_acted_on(inherited_in: float) -> None:
    clock = ManualClock()
    now_ns = int(clock.time() * NS)
    inherited = Deadline(now_ns, now_ns + int(inherited_in * NS))
    seen: list[Deadline | None] = []

    async def slowish(req: str) -> str:
        seen.append(current_deadline())
        return "ok"

    timeout: TimeoutFilter[str, str] = TotalTimeoutFilter(10.0, clock, honour_deadline=False)
    with deadline_scope(inherited):
        assert await timeout("x", FnService(slowish)) == "ok"  # even one long past
    ours = now_ns + 10 * NS
    assert seen[0] is not None
    assert seen[0].deadline_ns == min(inherited.deadline_ns, ours)  # the stricter goes on
