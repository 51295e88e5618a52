"""Behaviour through the proxy: failure accrual ejects a dead endpoint and probes it back in,
Peak-EWMA sends less to a slow endpoint, the retry budget caps amplification, and a deadline
crosses two mesh hops."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.rpc.context import Deadline
from roost.rpc.http import Headers, Request, Response, Server, client, request, serve
from roost.rpc.service import FnService
from roost.rpc.stats import MetricsRegistry, flat_json

pytestmark = pytest.mark.slow
Handler = Callable[[Request], Awaitable[Response]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class World:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        (tmp / "disco").mkdir()
        self.servers: list[Server] = []
        self.mesh: Mesh | None = None
        self.registry = MetricsRegistry()

    async def backend(self, handler: Handler, port: int = 0) -> str:
        server = await serve(("127.0.0.1", port), FnService(handler), label=f"b{port}")
        self.servers.append(server)
        return server.address

    def disco(self, name: str, *addresses: str) -> None:
        lines = "".join(f"{a.rsplit(':', 1)[0]} {a.rsplit(':', 1)[1]}\n" for a in addresses)
        (self.tmp / "disco" / name).write_text(lines)

    async def start_mesh(self, router_extra: str = "") -> str:
        config = load_config(
            "admin: {port: 0}\nnamers:\n- {kind: io.l5d.fs, rootDir: disco}\n"
            "routers:\n- protocol: http\n  label: r\n  dtab: /svc => /#/io.l5d.fs\n"
            f"  servers: [{{port: 0}}]\n{router_extra}"
        )
        self.mesh = Mesh(config, base_dir=self.tmp, registry=self.registry)
        await self.mesh.start()
        return self.mesh.servers[0].address

    async def close(self) -> None:
        if self.mesh is not None:
            await self.mesh.stop()
        for server in self.servers:
            await server.close(grace=0.2)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    w = World(tmp_path)
    try:
        yield w
    finally:
        await w.close()


def named(name: str, delay: float = 0.0) -> Handler:
    async def handle(req: Request) -> Response:
        if delay:
            await asyncio.sleep(delay)
        return Response(200, Headers([("x-backend", name)]), name.encode())

    return handle


async def get(mesh: str, host: str) -> Response:
    return await request(mesh, Request("GET", "/", Headers([("Host", host)])))


async def test_a_dead_endpoint_is_ejected_and_probed_back_in(world: World) -> None:
    live = await world.backend(named("live"))
    dead_port = free_port()
    world.disco("web", live, f"127.0.0.1:{dead_port}")
    mesh = await world.start_mesh(
        "  client:\n    loadBalancer: {kind: roundRobin}\n"
        "    failureAccrual:\n      kind: io.l5d.consecutiveFailures\n      failures: 2\n"
        "      backoff: {kind: constant, ms: 300}\n"
    )
    for _ in range(20):
        assert (await get(mesh, "web")).status == 200  # refused connects are requeued
    metrics = flat_json(world.registry)
    scope = "rt/r/client/#/io.l5d.fs/web"
    assert metrics[f"{scope}/failure_accrual/removals"] >= 1
    await world.backend(named("revived"), dead_port)  # the endpoint comes back
    seen: Counter[bytes] = Counter()
    deadline = time.monotonic() + 10
    while not seen[b"revived"]:
        assert time.monotonic() < deadline, "never probed back in"
        seen[(await get(mesh, "web")).body] += 1  # type: ignore[index]
        await asyncio.sleep(0.02)
    assert flat_json(world.registry)[f"{scope}/failure_accrual/revivals"] >= 1


async def test_peak_ewma_sends_less_to_a_slow_endpoint(world: World) -> None:
    fast = await world.backend(named("fast"))
    slow = await world.backend(named("slow", delay=0.05))
    world.disco("web", fast, slow)
    mesh = await world.start_mesh("  client:\n    loadBalancer: {kind: ewma}\n")
    counts: Counter[bytes] = Counter()

    async def worker() -> None:
        for _ in range(50):
            counts[(await get(mesh, "web")).body] += 1  # type: ignore[index]

    await asyncio.gather(*(worker() for _ in range(4)))
    assert counts[b"slow"] < 0.2 * sum(counts.values()), counts


async def test_the_retry_budget_caps_amplification(world: World) -> None:
    calls = 0

    async def failing(req: Request) -> Response:
        nonlocal calls
        calls += 1
        return Response(503, Headers(), b"down")

    world.disco("down", await world.backend(failing))
    mesh = await world.start_mesh(
        "  service:\n    responseClassifier: {kind: io.l5d.http.retryableAll5XX}\n"
        "    retries:\n      budget: {percentCanRetry: 0.2, minRetriesPerSec: 0, ttlSecs: 10}\n"
    )
    sent = 200
    for _ in range(sent):
        assert (await get(mesh, "down")).status == 503
    assert sent < calls <= 1.2 * sent + 1  # retried, but never past 20 % of the traffic
    metrics = flat_json(world.registry)
    assert metrics["rt/r/service/svc/down/requests"] == sent


async def test_a_deadline_crosses_two_mesh_hops(world: World) -> None:
    seen: list[str] = []

    async def end(req: Request) -> Response:
        seen.append(req.headers.get("l5d-ctx-deadline", ""))
        return Response(200, Headers(), b"end")

    mesh_address: list[str] = []

    async def middle(req: Request) -> Response:
        onward = client(mesh_address[0], label="middle")
        try:
            return await onward(Request("GET", "/", Headers([("Host", "end")])))
        finally:
            await onward.close()

    world.disco("end", await world.backend(end))
    world.disco("middle", await world.backend(middle))
    mesh_address.append(await world.start_mesh())
    caller = client(mesh_address[0], label="caller", total_timeout=5.0)
    try:
        started_ns = time.time_ns()
        rep = await caller(Request("GET", "/", Headers([("Host", "middle")])))
        assert rep.status == 200 and rep.body == b"end"
    finally:
        await caller.close()
    deadline = Deadline.from_header(seen[0])
    assert deadline is not None
    # the caller's 5 s deadline, through mesh -> middle -> mesh -> end
    assert started_ns + 4_000_000_000 < deadline.deadline_ns <= started_ns + 5_100_000_000


async def test_a_deadline_is_advisory_as_in_linkerd(world: World) -> None:
    seen: list[str] = []

    async def slow(req: Request) -> Response:
        seen.append(req.headers.get("l5d-ctx-deadline", ""))
        await asyncio.sleep(0.5)
        return Response(200, Headers(), b"late but fine")

    world.disco("slow", await world.backend(slow))
    address = await world.start_mesh()
    now = time.time_ns()
    for deadline_ns in (now + 200_000_000, now - 1_000_000_000):  # ends mid-call; long past
        header = f"{now} {deadline_ns}"
        req = Request("GET", "/", Headers([("Host", "slow"), ("l5d-ctx-deadline", header)]))
        rep = await request(address, req)
        assert rep.status == 200 and rep.body == b"late but fine"  # not cut off
        passed_on = Deadline.from_header(seen[-1])
        assert passed_on is not None and passed_on.deadline_ns == deadline_ns  # but passed on
