"""wait_event: set / timeout answers, and a cancellation that arrives in the same loop
iteration as the event is never swallowed (asyncio.wait_for on Python 3.11 swallows it,
which once left an agent's shutdown waiting forever for its update-retry loop)."""

from __future__ import annotations

import asyncio

import pytest

from roost.core.aio import cancel_quietly, every, wait_event


async def test_true_when_set_false_after_the_timeout() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 0.01) is True
    assert await wait_event(event, None) is True


async def test_wakes_when_set_while_waiting() -> None:
    event = asyncio.Event()
    waiter = asyncio.create_task(wait_event(event, None))
    await asyncio.sleep(0)
    assert not waiter.done()
    event.set()
    assert await waiter is True


@pytest.mark.parametrize("timeout", [None, 30.0])
async def test_cancel_in_the_same_iteration_as_set_ends_a_wait_loop(
    timeout: float | None,
) -> None:
    event = asyncio.Event()
    rounds = 0

    async def background_loop() -> None:
        nonlocal rounds
        while True:
            await wait_event(event, timeout)
            event.clear()
            rounds += 1

    task = asyncio.create_task(background_loop())
    await asyncio.sleep(0)  # the loop is waiting
    event.set()
    task.cancel()
    async with asyncio.timeout(2):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert task.cancelled() and rounds == 0


@pytest.mark.parametrize("is_async", [False, True])
async def test_every_runs_its_step_again_after_one_that_raised(
    is_async: bool, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []
    enough = asyncio.Event()

    def plain() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise ValueError("a surprise")
        if len(calls) == 3:
            enough.set()

    async def asynchronous() -> None:
        plain()

    task = asyncio.create_task(every(0.001, asynchronous if is_async else plain, "the step"))
    await asyncio.wait_for(enough.wait(), 2)
    await cancel_quietly(task)
    assert calls[:3] == [0, 1, 2]
    assert "the step failed" in caplog.text and "a surprise" in caplog.text
