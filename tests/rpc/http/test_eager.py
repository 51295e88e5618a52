"""Requests served eagerly, in the callback that parsed them, as the connection's task: the
service must not be able to tell (current task, timeouts, cancellation, context, errors)."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from roost.rpc.http import HttpEndpointFactory, Request, Response, eager

from .conftest import start

_seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="")


async def _calls(pool: HttpEndpointFactory, targets: list[str]) -> list[Response]:
    return [await pool(Request(target=t)) for t in targets]


async def test_keep_alive_requests_run_as_the_connections_one_task() -> None:
    tasks: list[asyncio.Task[object] | None] = []

    async def who(req: Request) -> Response:
        tasks.append(asyncio.current_task())
        if req.target == "/wait":
            await asyncio.sleep(0.01)
            tasks.append(asyncio.current_task())
        return Response(200, body=req.target.encode())

    server = await start(who)
    pool = HttpEndpointFactory(server.address)
    replies = await _calls(pool, ["/1", "/2", "/wait", "/3"])
    assert [r.body for r in replies] == [b"/1", b"/2", b"/wait", b"/3"]
    assert None not in tasks and len(set(map(id, tasks))) == 1  # before and after the await
    await pool.close()
    await server.close(0.5)


async def test_a_timeout_started_eagerly_fires_in_the_task_that_goes_on() -> None:
    async def bounded(req: Request) -> Response:
        try:
            async with asyncio.timeout(0.05):
                await asyncio.sleep(5)
        except TimeoutError:
            return Response(504, body=b"timed out")
        return Response(200)

    server = await start(bounded)
    pool = HttpEndpointFactory(server.address)
    # the first request starts the task; the next ones are served eagerly
    replies = await _calls(pool, ["/a", "/b", "/c"])
    assert [(r.status, r.body) for r in replies] == [(504, b"timed out")] * 3
    await pool.close()
    await server.close(0.5)


async def test_each_request_runs_in_its_own_context() -> None:
    async def remember(req: Request) -> Response:
        before = _seen.get()
        _seen.set(req.target)  # never reset: must not reach the next request
        if req.target == "/wait":
            await asyncio.sleep(0)
            assert _seen.get() == "/wait"
        return Response(200, body=before.encode())

    server = await start(remember)
    pool = HttpEndpointFactory(server.address)
    replies = await _calls(pool, ["/1", "/wait", "/2", "/3"])
    assert [r.body for r in replies] == [b""] * 4
    await pool.close()
    await server.close(0.5)


async def test_a_failing_service_answers_500_and_the_connection_goes_on() -> None:
    async def flaky(req: Request) -> Response:
        if req.target == "/boom":
            raise ValueError("boom")
        if req.target == "/boom-later":
            await asyncio.sleep(0)
            raise ValueError("boom")
        return Response(200)

    server = await start(flaky)
    pool = HttpEndpointFactory(server.address)
    replies = await _calls(pool, ["/ok", "/boom", "/ok", "/boom-later", "/ok"])
    assert [r.status for r in replies] == [200, 500, 200, 500, 200]
    assert server.accepted == 1
    await pool.close()
    await server.close(0.5)


async def test_a_client_leaving_cancels_a_request_that_suspended_after_an_eager_start() -> None:
    cancelled = asyncio.Event()
    waiting = asyncio.Event()

    async def hang(req: Request) -> Response:
        if req.target == "/hang":
            waiting.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return Response(200)

    server = await start(hang)
    pool = HttpEndpointFactory(server.address)
    await pool(Request(target="/first"))  # the connection's task exists: /hang starts eagerly
    call = asyncio.create_task(pool(Request(target="/hang")))
    await asyncio.wait_for(waiting.wait(), 2)
    call.cancel()  # the pool drops the connection: its state is unknown
    await asyncio.wait_for(cancelled.wait(), 2)
    await pool.close()
    await server.close(0.5)


# -- the two functions on their own ------------------------------------------------------


async def test_start_refuses_inside_a_running_task() -> None:
    async def never() -> None:
        raise AssertionError("must not run")

    holder = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(_wait(holder))
    await asyncio.sleep(0)
    coro = never()
    with pytest.raises(eager.Busy):  # this test's own task is running
        eager.start(asyncio.get_running_loop(), task, coro, contextvars.Context())
    coro.close()
    holder.set_result(None)
    await task


async def _wait(fut: asyncio.Future[None]) -> None:
    await fut


def _outside_any_task(fn: object) -> asyncio.Future[object]:
    """Run ``fn()`` from a plain loop callback (as a protocol callback runs)."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[object] = loop.create_future()

    def call() -> None:
        try:
            result.set_result(fn())  # type: ignore[operator]
        except BaseException as exc:
            result.set_exception(exc)

    loop.call_soon(call)
    return result


async def test_drive_forwards_a_cancellation_of_its_task_to_the_started_coroutine() -> None:
    loop = asyncio.get_running_loop()
    outcome: list[str] = []
    inner_task: list[asyncio.Task[object] | None] = []

    async def service() -> str:
        inner_task.append(asyncio.current_task())
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            outcome.append("cancelled inside")
            raise
        return "finished"

    handoff: asyncio.Future[eager.Suspended | None] = loop.create_future()
    coro = service()

    async def owner() -> str:
        suspended = await handoff
        assert suspended is not None
        return await eager.drive(coro, suspended.context, suspended)

    task = asyncio.create_task(owner())
    await asyncio.sleep(0)  # owner waits on handoff
    suspended = await _outside_any_task(
        lambda: eager.start(loop, task, coro, contextvars.Context())
    )
    assert isinstance(suspended, eager.Suspended)
    assert inner_task == [task]
    handoff.set_result(suspended)
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert outcome == ["cancelled inside"]


async def test_start_returns_none_for_a_coroutine_that_finishes_at_once() -> None:
    loop = asyncio.get_running_loop()
    seen: list[object] = []

    async def quick() -> None:
        seen.append(asyncio.current_task())

    holder: asyncio.Future[None] = loop.create_future()
    task = asyncio.create_task(_wait(holder))
    await asyncio.sleep(0)
    result = await _outside_any_task(
        lambda: eager.start(loop, task, quick(), contextvars.Context())
    )
    assert result is None and seen == [task]
    assert asyncio.current_task() is not task  # the task was left again
    holder.set_result(None)
    await task


async def test_cancel_throws_cancelled_error_into_a_coroutine_no_task_took_over() -> None:
    loop = asyncio.get_running_loop()
    seen: list[str] = []

    async def service() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        finally:
            seen.append("finally")

    holder: asyncio.Future[None] = loop.create_future()
    task = asyncio.create_task(_wait(holder))
    await asyncio.sleep(0)
    coro = service()
    suspended = await _outside_any_task(
        lambda: eager.start(loop, task, coro, contextvars.Context())
    )
    assert isinstance(suspended, eager.Suspended)
    eager.cancel(suspended)
    assert seen == ["cancelled", "finally"]
    holder.set_result(None)
    await task
