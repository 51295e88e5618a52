"""The per-endpoint connection pool: reuse, watermarks, waiters, idle TTL, unhealthy
connections, streamed responses, closing."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from roost.core.clock import ManualClock
from roost.rpc.errors import ConnectionFailed, RequestTimeout, ServiceClosed, TooManyWaiters
from roost.rpc.http import (
    BodyStream,
    Headers,
    HttpEndpointFactory,
    PoolConfig,
    Request,
    Response,
    Server,
    read_body,
    request,
)
from roost.rpc.http.pool_stats import PoolStats
from roost.rpc.service import FactoryToService, Service, Status
from roost.rpc.stats import MetricsRegistry, StatsReceiver, flat_json

from .conftest import start


def _as_service(pool: HttpEndpointFactory, how: str) -> Service[Request, Response]:
    """The pool wrapped in a session per request, or called as a service itself."""
    return FactoryToService(pool) if how == "sessions" else pool


BOTH = pytest.mark.parametrize("how", ["sessions", "pool"])


@BOTH
async def test_sequential_requests_reuse_one_keep_alive_connection(
    server: Server, how: str
) -> None:
    pool = HttpEndpointFactory(server.address)
    client = _as_service(pool, how)
    for i in range(20):
        rep = await client(Request(target=f"/{i}"))
        assert rep.headers["x-target"] == f"/{i}"
    assert server.accepted == 1
    assert (pool.connects, pool.pool_size, pool.pool_cached) == (1, 1, 1)
    await pool.close()


async def test_beyond_the_high_watermark_callers_wait_for_a_released_connection(
    server: Server,
) -> None:
    pool = HttpEndpointFactory(server.address, PoolConfig(high=2))
    a, b = await pool.acquire(), await pool.acquire()
    waiting = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    assert (pool.pool_size, pool.pool_waiters, pool.num_waited) == (2, 1, 1)
    assert not waiting.done()
    await a.close()
    c = await asyncio.wait_for(waiting, 1)
    await c(Request())
    assert server.accepted == 2 and pool.connects == 2  # the waiter got a's connection
    for session in (b, c):
        await session.close()
    assert pool.pool_cached == 2
    await pool.close()


async def test_more_waiters_than_max_waiters_are_refused(server: Server) -> None:
    pool = HttpEndpointFactory(server.address, PoolConfig(high=1, max_waiters=1))
    held = await pool.acquire()
    waiting = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    with pytest.raises(TooManyWaiters) as info:
        await pool.acquire()
    assert info.value.retryable and info.value.rejected
    assert pool.num_too_many_waiters == 1
    await held.close()
    await (await waiting).close()
    await pool.close()


async def test_a_cancelled_waiter_gives_its_turn_back(server: Server) -> None:
    pool = HttpEndpointFactory(server.address, PoolConfig(high=1))
    held = await pool.acquire()
    waiting = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    waiting.cancel()
    await held.close()  # hands the connection to the cancelled waiter, which gives it back
    with pytest.raises(asyncio.CancelledError):
        await waiting
    again = await asyncio.wait_for(pool.acquire(), 1)
    assert pool.pool_size == 1 and pool.connects == 1
    await again.close()
    await pool.close()


async def test_idle_connections_expire_after_the_ttl_except_the_low_watermark(
    server: Server,
) -> None:
    pool = HttpEndpointFactory(server.address, PoolConfig(idle_ttl=0.1))
    client = FactoryToService(pool)
    await client(Request())
    assert pool.pool_cached == 1
    await asyncio.sleep(0.3)
    assert (pool.pool_cached, pool.pool_size) == (0, 0)
    await asyncio.sleep(0.02)
    assert not server.connections  # closed on our side, so the server saw it go

    kept = HttpEndpointFactory(server.address, PoolConfig(idle_ttl=0.1, low=1))
    await FactoryToService(kept)(Request())
    await asyncio.sleep(0.3)
    assert (kept.pool_cached, kept.pool_size) == (1, 1)
    await kept.close()


async def test_an_expired_connection_is_not_handed_out_on_a_virtual_clock(
    server: Server,
) -> None:
    clock = ManualClock()
    pool = HttpEndpointFactory(server.address, PoolConfig(idle_ttl=10.0), clock=clock)
    client = FactoryToService(pool)
    await client(Request())
    clock.advance(9.0)
    await client(Request())
    assert pool.connects == 1
    clock.advance(10.0)
    await client(Request())
    assert pool.connects == 2 and pool.pool_size == 1
    await pool.close()


async def test_a_connection_the_server_closes_goes_back_to_no_one() -> None:
    async def closing(req: Request) -> Response:
        return Response(200, Headers([("Connection", "close")]))

    server = await start(closing)
    pool = HttpEndpointFactory(server.address)
    client = FactoryToService(pool)
    for _ in range(3):
        await client(Request())
    assert pool.connects == 3 and pool.pool_size == 0 and pool.pool_cached == 0
    await pool.close()
    await server.close(0.5)


async def test_a_failed_connect_frees_its_slot_and_counts() -> None:
    server = await start(lambda req: None)
    address = server.address
    await server.close(0.1)
    pool = HttpEndpointFactory(address, PoolConfig(high=1))
    for _ in range(2):
        with pytest.raises(ConnectionFailed):
            await pool.acquire()
    assert (pool.connect_failures, pool.pool_size) == (2, 0)
    await pool.close()


async def test_a_streamed_response_returns_its_connection_once_read() -> None:
    async def large(req: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):  # 4 MB: more than a paused client takes in
                yield b"z" * 100_000

        return Response(200, body=chunks())

    server = await start(large)
    pool = HttpEndpointFactory(server.address)
    client = FactoryToService(pool)
    rep = await client(Request())  # the session is released before the body is read
    assert isinstance(rep.body, BodyStream)
    assert pool.pool_cached == 0 and pool.pool_size == 1
    assert len(await read_body(rep.body)) == 4_000_000
    assert pool.pool_cached == 1
    rep = await client(Request())
    assert isinstance(rep.body, BodyStream)
    await rep.body.aclose()  # abandoned: the connection cannot be reused
    await asyncio.sleep(0.01)
    assert pool.pool_cached == 0 and pool.pool_size == 0 and pool.connects == 1
    await pool.close()
    await server.close(0.5)


async def test_a_closed_pool_refuses_sessions_and_fails_its_waiters(server: Server) -> None:
    pool = HttpEndpointFactory(server.address, PoolConfig(high=1))
    held = await pool.acquire()
    waiting = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.01)
    await pool.close()
    assert pool.status == Status.CLOSED
    with pytest.raises(ServiceClosed):
        await waiting
    with pytest.raises(ServiceClosed):
        await pool.acquire()
    await held.close()  # closed on release
    assert pool.pool_size == 0


@BOTH
async def test_a_call_cut_by_the_callers_timeout_discards_its_connection(how: str) -> None:
    async def hang(req: Request) -> Response:
        if req.target == "/hang":
            await asyncio.sleep(5)
        return Response(200)

    server = await start(hang)
    pool = HttpEndpointFactory(server.address)
    client = _as_service(pool, how)
    await client(Request())  # a cached connection first: the pool's fast path takes it
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await client(Request(target="/hang"))
    assert (pool.pool_size, pool.pool_cached) == (0, 0)
    await asyncio.sleep(0.05)
    assert not server.connections  # the server saw it go, and cancelled the service call
    await pool.close()
    await server.close(0.5)


async def test_the_request_helper_turns_a_timeout_into_request_timeout() -> None:
    async def hang(req: Request) -> Response:
        await asyncio.sleep(5)
        return Response(200)

    server = await start(hang)
    with pytest.raises(RequestTimeout):
        await request(server.address, Request(), timeout=0.1)
    await server.close(0.5)


async def test_pools_of_one_client_share_their_metrics(server: Server) -> None:
    reg = MetricsRegistry()
    stats = PoolStats(StatsReceiver(reg, "clnt/web"))
    a = HttpEndpointFactory(server.address, PoolConfig(high=1, max_waiters=0), stats=stats)
    b = HttpEndpointFactory(server.address, stats=stats)
    held = await a.acquire()
    with pytest.raises(TooManyWaiters):
        await a.acquire()
    await FactoryToService(b)(Request())
    values = flat_json(reg)
    assert values["clnt/web/connects"] == 2
    assert values["clnt/web/pool_size"] == 2 and values["clnt/web/connections"] == 2
    assert values["clnt/web/pool_cached"] == 1  # b's connection came back
    assert values["clnt/web/pool_num_too_many_waiters"] == 1
    assert values["clnt/web/connect_latency_ms.count"] == 2
    await held.close()
    await a.close()  # a leaves: its gauges go, the shared counters stay
    values = flat_json(reg)
    assert values["clnt/web/pool_size"] == 1 and values["clnt/web/connects"] == 2
    await b.close()
    assert flat_json(reg)["clnt/web/connections"] == 0


async def test_a_failed_connect_is_timed_in_its_own_histogram() -> None:
    reg = MetricsRegistry()
    stats = PoolStats(StatsReceiver(reg, "clnt/x"))
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        pool = HttpEndpointFactory(s.getsockname(), stats=stats)
        with pytest.raises(ConnectionFailed):
            await pool.acquire()
    values = flat_json(reg)
    assert values["clnt/x/failed_connect_latency_ms.count"] == 1
    assert values["clnt/x/connects"] == 0 and values["clnt/x/pool_size"] == 0
    await pool.close()


async def test_the_pool_as_a_service_shares_its_connections_among_concurrent_callers() -> None:
    gate = asyncio.Event()

    async def slow(req: Request) -> Response:
        await gate.wait()
        return Response(200, body=req.target.encode())

    server = await start(slow)
    pool = HttpEndpointFactory(server.address, PoolConfig(high=2))
    calls = [asyncio.create_task(pool(Request(target=f"/{i}"))) for i in range(5)]
    await asyncio.sleep(0.05)
    assert (pool.pool_size, pool.pool_waiters) == (2, 3)  # two on the wire, three waiting
    gate.set()
    replies = await asyncio.gather(*calls)
    assert [r.body for r in replies] == [f"/{i}".encode() for i in range(5)]
    assert (server.accepted, pool.connects, pool.pool_cached) == (2, 2, 2)
    await pool.close()
    await server.close(0.5)
