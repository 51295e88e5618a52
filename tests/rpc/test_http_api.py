"""``roost.rpc.http.client`` and ``serve`` end to end over loopback: the full stacks."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from roost.rpc.context import current_deadline, current_trace
from roost.rpc.errors import TotalTimeout
from roost.rpc.http import Headers, Request, Response, Server, client, serve
from roost.rpc.service import FnService
from roost.rpc.stats import MetricsRegistry, StatsReceiver, flat_json, prometheus_text

Handler = Callable[[Request], Awaitable[Response]]


def named(name: str, delay: float = 0.0) -> Handler:
    async def handle(req: Request) -> Response:
        if delay:
            await asyncio.sleep(delay)
        return Response(200, Headers([("x-server", name)]), name.encode())

    return handle


@pytest.fixture
async def servers() -> AsyncIterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        await s.close(grace=0.2)


async def start(
    servers: list[Server], handler: Handler, registry: MetricsRegistry | None = None, **kw: object
) -> Server:
    stats = StatsReceiver(registry) if registry is not None else None
    s = await serve("127.0.0.1:0", FnService(handler), stats=stats, **kw)  # type: ignore[arg-type]
    servers.append(s)
    return s


def dead_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"  # closed again: connections are refused


async def test_a_client_spreads_requests_reuses_connections_and_counts(
    servers: list[Server],
) -> None:
    reg = MetricsRegistry()
    a = await start(servers, named("a"), reg, label="a")
    b = await start(servers, named("b"), reg, label="b")
    web = client(f"{a.address},{b.address}", label="web", stats=StatsReceiver(reg))
    answers = [(await web(Request("GET", "/"))).headers["x-server"] for _ in range(40)]
    assert set(answers) == {"a", "b"}
    assert a.accepted == 1 and b.accepted == 1  # keep-alive: one connection each
    stats = flat_json(reg)
    assert stats["clnt/web/requests"] == 40 and stats["clnt/web/success"] == 40
    assert stats["srv/a/requests"] + stats["srv/b/requests"] == 40
    assert stats["clnt/web/loadbalancer/size"] == 2
    await web.close()


async def test_a_dead_endpoint_costs_no_failed_request(servers: list[Server]) -> None:
    reg = MetricsRegistry()
    live = await start(servers, named("live"))
    web = client(f"{dead_address()},{live.address}", label="web", stats=StatsReceiver(reg))
    for _ in range(30):
        assert (await web(Request("GET", "/"))).status == 200
    stats = flat_json(reg)
    assert stats["clnt/web/failures"] == 0
    assert stats["clnt/web/retries/requeues"] >= 1  # refused connects went elsewhere
    await web.close()


async def test_failure_accrual_and_pool_metrics_are_exported_per_client(
    servers: list[Server],
) -> None:
    reg = MetricsRegistry()
    live = await start(servers, named("live"))
    web = client(f"{dead_address()},{live.address}", label="web", stats=StatsReceiver(reg))
    for _ in range(60):
        assert (await web(Request("GET", "/"))).status == 200
    stats = flat_json(reg)
    assert stats["clnt/web/failure_accrual/removals"] == 1  # 5 refused connects in a row
    assert stats["clnt/web/failure_accrual/removed_for_ms"] >= 5000  # equalJittered(5 s, ...)
    assert stats["clnt/web/failure_accrual/revivals"] == 0
    assert stats["clnt/web/connects"] >= 1 and stats["clnt/web/connections"] >= 1
    assert stats["clnt/web/pool_size"] == stats["clnt/web/connections"]
    assert stats["clnt/web/failed_connect_latency_ms.count"] == 5
    text = prometheus_text(reg)
    assert 'clnt_failure_accrual_removals_total{client="web"} 1' in text
    assert 'clnt_pool_size{client="web"}' in text
    await web.close()


async def test_every_attempt_carries_its_own_span_id_in_one_trace(servers: list[Server]) -> None:
    seen: list[tuple[str, str]] = []

    async def nack_twice(req: Request) -> Response:
        seen.append((req.headers["x-b3-traceid"], req.headers["x-b3-spanid"]))
        if len(seen) <= 2:  # a NACK: the client requeues it
            return Response(503, Headers([("finagle-http-nack", "1")]), b"")
        return Response(200, Headers(), b"ok")

    server = await start(servers, nack_twice)
    web = client(server.address, label="web", nack_admission=False)
    assert (await web(Request("GET", "/"))).status == 200
    assert len(seen) == 3
    assert len({trace for trace, _ in seen}) == 1  # one trace
    assert len({span for _, span in seen}) == 3  # a span per attempt
    await web.close()


async def test_nacks_from_a_full_server_are_requeued_to_another(servers: list[Server]) -> None:
    reg = MetricsRegistry()
    release, entered = asyncio.Event(), asyncio.Event()

    async def busy(req: Request) -> Response:
        entered.set()
        await release.wait()
        return Response(200, Headers([("x-server", "busy")]), b"")

    full = await start(servers, busy, max_concurrent=1)
    spare = await start(servers, named("spare"))
    web = client(
        f"{full.address},{spare.address}",
        label="web",
        balancer="round_robin",
        stats=StatsReceiver(reg),
        rng=random.Random(1),
    )
    blocker = asyncio.create_task(web(Request("GET", "/")))
    occupied = asyncio.create_task(entered.wait())
    # whichever server got it: make sure "full" is occupied
    await asyncio.wait({blocker, occupied}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
    blocker2 = None
    if not entered.is_set():  # (the first went to "spare"; round robin sends this one on)
        blocker2 = asyncio.create_task(web(Request("GET", "/")))
    await asyncio.wait_for(occupied, 5)
    async with asyncio.timeout(10):
        answers = [(await web(Request("GET", "/"))).headers["x-server"] for _ in range(10)]
    assert answers == ["spare"] * 10
    assert flat_json(reg)["clnt/web/failures"] == 0
    release.set()
    await blocker
    if blocker2 is not None:
        await blocker2
    await web.close()


async def test_a_deadline_propagates_across_two_hops_and_expiry_cancels_the_far_end(
    servers: list[Server],
) -> None:
    seen: list[int | None] = []
    cancelled = asyncio.Event()

    async def far(req: Request) -> Response:
        d = current_deadline()
        seen.append(d.deadline_ns if d else None)
        if req.path == "/slow":
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                cancelled.set()
                raise
        return Response(200, Headers(), b"far")

    far_server = await start(servers, far)
    to_far = client(far_server.address, label="to-far", total_timeout=5.0)

    async def middle(req: Request) -> Response:
        return await to_far(Request("GET", req.target))

    middle_server = await start(servers, middle)
    edge = client(middle_server.address, label="edge", total_timeout=0.5)
    assert (await edge(Request("GET", "/fast"))).body == b"far"
    first = seen[0]
    assert first is not None
    # the far end got the edge's 0.5 s deadline, not the middle's own 5 s

    assert first - time.time_ns() < 0.6e9
    with pytest.raises(TotalTimeout):
        await edge(Request("GET", "/slow"))
    await asyncio.wait_for(cancelled.wait(), 2.0)  # the far end's work was cancelled
    await to_far.close()
    await edge.close()


async def test_the_trace_continues_across_a_hop(servers: list[Server]) -> None:
    traces: list[int] = []

    async def far(req: Request) -> Response:
        t = current_trace()
        traces.append(t.trace_id if t else 0)
        return Response(200, Headers(), b"")

    far_server = await start(servers, far)
    to_far = client(far_server.address)

    async def middle(req: Request) -> Response:
        t = current_trace()
        traces.append(t.trace_id if t else 0)
        return await to_far(Request("GET", "/"))

    middle_server = await start(servers, middle)
    edge = client(middle_server.address)
    await edge(Request("GET", "/"))
    assert len(traces) == 2 and traces[0] == traces[1] != 0
    await to_far.close()
    await edge.close()


async def test_peak_ewma_sends_less_to_a_slow_backend(servers: list[Server]) -> None:
    fast = await start(servers, named("fast"))
    slow = await start(servers, named("slow", delay=0.03))
    web = client(f"{fast.address},{slow.address}", rng=random.Random(3))

    async def worker() -> list[str]:
        return [(await web(Request("GET", "/"))).headers["x-server"] for _ in range(50)]

    got = [s for part in await asyncio.gather(*(worker() for _ in range(4))) for s in part]
    assert got.count("slow") < len(got) * 0.2
    await web.close()


def test_bad_server_options_are_specific_errors() -> None:
    with pytest.raises(ValueError, match="deadline_admission must be"):
        asyncio.run(serve("127.0.0.1:0", FnService(named("x")), deadline_admission="maybe"))
    with pytest.raises(ValueError, match="max_concurrent must be at least 1"):
        asyncio.run(serve("127.0.0.1:0", FnService(named("x")), max_concurrent=0))
    with pytest.raises(ValueError, match="unknown load balancer"):
        client("127.0.0.1:1", balancer="fastest")
    with pytest.raises(ValueError, match=r"127\.0\.0\.1:0"):
        client("127.0.0.1:0")
