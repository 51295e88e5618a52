"""Requests served eagerly, in the callback that parsed them, as the connection's task: the
service must not be able to tell (current task, timeouts, cancellation, context, errors)."""

from __future__ import annotations

import asyncio
import contextvars
import time

import pytest

from roost.rpc.http import Headers, HttpEndpointFactory, Request, Response, eager

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


# -- regressions found in review ---------------------------------------------------------


async def _raw(server: object) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)  # type: ignore[attr-defined]


async def _answer(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    async with asyncio.timeout(2):
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return head.split(b"\r\n", 1)[0], await reader.readexactly(length)


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            return await reader.read(100) == b""
    except ConnectionResetError:  # closed while we still wrote: a reset says the same
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize("then_wait", [False, True])
async def test_a_timeout_already_expired_when_the_task_takes_over_still_times_out(
    then_wait: bool,
) -> None:
    async def late(req: Request) -> Response:
        if req.target == "/late":
            try:
                async with asyncio.timeout(0):  # fires before the task takes the request over
                    await asyncio.sleep(1)
            except TimeoutError:
                if then_wait:
                    await asyncio.sleep(0)  # a fallback that waits too
                return Response(504, body=b"late")
        return Response(200, body=b"ok")

    server = await start(late, idle_timeout=0.3)
    reader, writer = await _raw(server)
    for target, expected in (("/", b"ok"), ("/late", b"late"), ("/", b"ok")):
        writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert (await _answer(reader))[1] == expected
    assert await _closed_within(reader, 1.5)  # and the idle timeout still runs
    writer.close()
    await server.close(0.2)


async def test_a_timed_out_request_cancels_the_task_it_awaited() -> None:
    events: list[str] = []

    async def child() -> None:
        try:
            await asyncio.sleep(0.3)
            events.append("finished")
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    async def busy(req: Request) -> Response:
        if req.target == "/child":
            task = asyncio.create_task(child())
            try:
                async with asyncio.timeout(0.002):
                    time.sleep(0.005)  # noqa: ASYNC251 - CPU work: the timer is overdue before the first wait
                    await task
            except TimeoutError:
                return Response(504)
        return Response(200)

    server = await start(busy)
    reader, writer = await _raw(server)
    for target in ("/", "/child"):
        writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await _answer(reader)
    await asyncio.sleep(0.4)
    assert events == ["cancelled"]
    writer.close()
    await server.close(0.2)


async def test_bare_line_breaks_do_not_keep_an_idle_connection_open() -> None:
    async def ok(req: Request) -> Response:
        return Response(200, body=b"ok")

    server = await start(ok, idle_timeout=0.4)
    reader, writer = await _raw(server)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await _answer(reader)

    async def line_breaks() -> None:  # reads that start no request, every 0.2 s
        while not writer.is_closing():
            await asyncio.sleep(0.2)
            writer.write(b"\r\n")

    sender = asyncio.create_task(line_breaks())
    assert await _closed_within(reader, 1.2)  # the idle timeout (0.4 s) ran all the same
    sender.cancel()
    writer.close()
    await server.close(0.2)


async def test_nothing_after_a_closing_answer_is_served() -> None:
    calls: list[str] = []

    async def closing(req: Request) -> Response:
        calls.append(f"{req.method} {req.target}")
        if req.target == "/last":
            return Response(200, Headers([("Connection", "close")]), b"bye")
        return Response(200, body=b"ok")

    server = await start(closing)
    reader, writer = await _raw(server)
    writer.write(b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
    await _answer(reader)
    writer.write(
        b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /never HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    )
    async with asyncio.timeout(2):
        rest = await reader.read(-1)
    assert calls == ["GET /first", "GET /last"]  # the pipelined POST did not run
    assert rest.count(b"HTTP/1.1 ") == 1
    writer.close()
    await server.close(0.2)


async def test_a_service_cancelling_its_own_task_drops_its_connection() -> None:
    async def rogue(req: Request) -> Response:
        if req.target == "/rogue":
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(1)
        return Response(200, body=b"ok")

    server = await start(rogue)
    reader, writer = await _raw(server)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await _answer(reader)
    writer.write(b"GET /rogue HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await _closed_within(reader, 2)  # no answer: the connection goes
    writer.close()
    pool = HttpEndpointFactory(server.address)  # and the server serves on
    assert (await pool(Request())).body == b"ok"
    await pool.close()
    await server.close(0.2)


async def test_a_response_nobody_asked_for_does_not_reach_the_previous_one() -> None:
    async def backend(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            b"HTTP/1.1 200 OK\r\nSet-Cookie: session=attacker\r\nContent-Length: 0\r\n\r\n"
        )
        await writer.drain()
        await asyncio.sleep(0.5)
        writer.close()

    listener = await asyncio.start_server(backend, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    pool = HttpEndpointFactory(f"127.0.0.1:{port}")
    rep = await pool(Request())
    await asyncio.sleep(0.05)  # the stray bytes have arrived by now
    assert list(rep.headers) == [("Content-Length", "2")] and rep.body == b"ok"
    assert pool.pool_cached == 0  # a connection that spoke out of turn is not reused
    await pool.close()
    listener.close()
