"""The mesh's telemetry section end to end on loopback: a real Zipkin-like collector receiving
the router's v2 spans (sampling by sampleRate, l5d-sample and the caller's decision; nothing
without the telemeter; a dead collector neither failing nor slowing requests), and
io.l5d.prometheus pages with their path and prefix."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path as FilePath
from typing import Any

import pytest

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.mesh.prometheus import linkerd_prometheus
from roost.rpc.context import TraceId
from roost.rpc.http import Headers, Request, Response, Server, request, serve
from roost.rpc.service import FnService
from roost.rpc.stats import MetricsRegistry, flat_json
from roost.rpc.tracing import extract, to_ctx_header

pytestmark = pytest.mark.slow

FLUSH = 0.05  # the exporter's flush interval in these tests (seconds)


class Collector:
    """A Zipkin collector: keeps every span POSTed to /api/v2/spans."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.posts = 0
        self.server: Server | None = None

    async def handle(self, req: Request) -> Response:
        if req.method != "POST" or req.path != "/api/v2/spans":
            return Response(404)
        assert isinstance(req.body, bytes)
        self.posts += 1
        self.spans.extend(json.loads(req.body))
        return Response(202)

    async def wait_for(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.spans) < n and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert len(self.spans) >= n, f"expected {n} spans, got {self.spans}"
        return self.spans


class World:
    def __init__(self, tmp: FilePath) -> None:
        self.tmp = tmp
        self.seen: list[Request] = []
        self.collector = Collector()
        self.servers: list[Server] = []
        self.mesh: Mesh | None = None
        self.backend = ""
        self.collector_port = 0

    async def start(self) -> None:
        async def backend(req: Request) -> Response:
            self.seen.append(req)
            return Response(200, Headers(), b"web")

        for handler in (backend, self.collector.handle):
            self.servers.append(await serve("127.0.0.1:0", FnService(handler)))
        self.backend = self.servers[0].address
        self.collector_port = int(self.servers[1].address.rsplit(":", 1)[1])

    async def start_mesh(self, telemetry: str) -> Mesh:
        host, port = self.backend.rsplit(":", 1)
        section = f"telemetry:\n{telemetry}" if telemetry else "telemetry: []\n"
        config = load_config(
            "admin: {port: 0}\nrouters:\n- protocol: http\n  label: edge\n"
            f"  dtab: /svc/web => /$/inet/{host}/{port}\n  servers: [{{port: 0}}]\n" + section
        )
        self.mesh = Mesh(
            config, base_dir=self.tmp, registry=MetricsRegistry(), flush_interval=FLUSH
        )
        await self.mesh.start()
        return self.mesh

    def zipkin(self, rate: float, port: int | None = None) -> str:
        port = self.collector_port if port is None else port
        return f"- {{kind: io.l5d.zipkin, host: 127.0.0.1, port: {port}, sampleRate: {rate}}}\n"

    async def send(self, **headers: str) -> Response:
        assert self.mesh is not None
        req = Request("GET", "/hello", Headers([("Host", "web"), *headers.items()]))
        return await request(self.mesh.servers[0].address, req)

    async def close(self) -> None:
        if self.mesh is not None:
            await self.mesh.stop()
        for server in self.servers:
            await server.close(grace=0.5)


@pytest.fixture
async def world(tmp_path: FilePath) -> AsyncIterator[World]:
    w = World(tmp_path)
    await w.start()
    try:
        yield w
    finally:
        await w.close()


def by_kind(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {s["kind"]: s for s in spans}
    assert sorted(kinds) == ["CLIENT", "SERVER"] and len(spans) == 2, spans
    return kinds


def zipkin_metrics(m: Mesh) -> dict[str, Any]:
    prefix = "telemetry/zipkin/"
    metrics = flat_json(m.registry)
    return {k.removeprefix(prefix): v for k, v in metrics.items() if k.startswith(prefix)}


async def test_a_sampled_request_is_a_server_span_and_a_client_span_of_one_trace(
    world: World,
) -> None:
    await world.start_mesh(world.zipkin(1.0))
    assert (await world.send()).status == 200
    spans = by_kind(await world.collector.wait_for(2))
    server, client = spans["SERVER"], spans["CLIENT"]
    assert server["traceId"] == client["traceId"]
    assert "parentId" not in server  # a new trace: the server span is its root
    assert client["parentId"] == server["id"] and client["id"] != server["id"]
    assert server["duration"] > 0 and client["duration"] > 0
    assert server["timestamp"] <= client["timestamp"]
    assert server["localEndpoint"] == {"serviceName": "edge"}
    host, port = world.backend.rsplit(":", 1)
    assert client["remoteEndpoint"] == {
        "serviceName": f"/$/inet/{host}/{port}",
        "ipv4": host,
        "port": int(port),
    }
    for span in (server, client):
        assert span["name"] == "get"
        assert span["tags"]["http.method"] == "GET" and span["tags"]["http.status_code"] == "200"
        assert span["tags"]["l5d-dst-service"] == "/svc/web"
    assert client["tags"]["l5d-dst-client"] == f"/$/inet/{host}/{port}"
    # the backend was called with the client span's ids
    sent = extract(world.seen[-1].headers)
    assert sent is not None and sent.sampled is True
    assert f"{sent.span_id:016x}" == client["id"] and f"{sent.trace_id:016x}" == client["traceId"]
    # (counted when the collector's 202 is read, after it has stored the spans)
    m = world.mesh
    assert m is not None
    deadline = time.monotonic() + 5
    while zipkin_metrics(m).get("spans_sent", 0) < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert zipkin_metrics(m)["spans_sent"] == 2


async def test_an_incoming_unsampled_trace_stays_unsampled(world: World) -> None:
    await world.start_mesh(world.zipkin(1.0))
    trace = TraceId(0xABC, 0xDEF, 0xDEF, sampled=False)
    assert (await world.send(**{"l5d-ctx-trace": to_ctx_header(trace)})).status == 200
    await asyncio.sleep(4 * FLUSH)
    assert world.collector.spans == []


async def test_sample_rate_zero_records_nothing(world: World) -> None:
    m = await world.start_mesh(world.zipkin(0.0))
    for _ in range(20):
        assert (await world.send()).status == 200
    await asyncio.sleep(4 * FLUSH)  # several flushes
    assert world.collector.posts == 0 and world.collector.spans == []
    assert zipkin_metrics(m)["spans_sent"] == 0
    sent = extract(world.seen[-1].headers)
    assert sent is not None and sent.sampled is False  # the decision travels on


async def test_l5d_sample_traces_one_request_at_rate_zero(world: World) -> None:
    await world.start_mesh(world.zipkin(0.0))
    assert (await world.send()).status == 200
    assert (await world.send(**{"l5d-sample": "1"})).status == 200
    spans = by_kind(await world.collector.wait_for(2))
    assert world.seen[-1].headers.get("l5d-sample") is None  # consumed, not forwarded
    sent = extract(world.seen[-1].headers)
    assert sent is not None and f"{sent.span_id:016x}" == spans["CLIENT"]["id"]
    await asyncio.sleep(4 * FLUSH)
    assert len(world.collector.spans) == 2  # only that request's


async def test_an_incoming_sampled_trace_stays_sampled_at_rate_zero(world: World) -> None:
    await world.start_mesh(world.zipkin(0.0))
    trace = TraceId(0xABC, 0xDEF, 0x123, sampled=True)
    assert (await world.send(**{"l5d-ctx-trace": to_ctx_header(trace)})).status == 200
    spans = by_kind(await world.collector.wait_for(2))
    server, client = spans["SERVER"], spans["CLIENT"]
    assert server["traceId"] == client["traceId"] == f"{0xABC:016x}"
    # the caller's span, shared by the server side (Finagle), parents the client span
    assert server["id"] == f"{0xDEF:016x}" and server["parentId"] == f"{0x123:016x}"
    assert server["shared"] is True and client["parentId"] == server["id"]


async def test_without_zipkin_nothing_is_recorded_and_ids_still_travel(world: World) -> None:
    m = await world.start_mesh("- {kind: io.l5d.prometheus}\n")
    assert m.tracing is None and m.routers[0].tracer is None
    assert (await world.send(**{"l5d-sample": "1"})).status == 200
    assert extract(world.seen[-1].headers) is not None
    assert zipkin_metrics(m) == {}


async def hanging_collector() -> tuple[int, Callable[[], Awaitable[None]]]:
    """A collector that accepts connections and never answers."""
    release = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)

    async def close() -> None:
        release.set()
        server.close()
        await server.wait_closed()

    return int(server.sockets[0].getsockname()[1]), close


def refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: connecting is refused


@pytest.mark.parametrize("down", ["refused", "hanging"])
async def test_a_collector_that_is_down_neither_fails_nor_slows_requests(
    world: World, down: str
) -> None:
    close: Callable[[], Awaitable[None]] | None = None
    if down == "refused":
        port = refused_port()
    else:
        port, close = await hanging_collector()
    try:
        m = await world.start_mesh(world.zipkin(1.0, port))
        slowest = 0.0
        for _ in range(20):
            start = time.monotonic()
            assert (await world.send()).status == 200
            slowest = max(slowest, time.monotonic() - start)
            await asyncio.sleep(FLUSH / 5)  # posts are attempted while requests flow
        assert slowest < 0.75, slowest  # a post to the hanging collector takes 1 s
        deadline = time.monotonic() + 5
        while zipkin_metrics(m).get("send_failures", 0) < 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        metrics = zipkin_metrics(m)
        assert metrics["send_failures"] >= 1 and metrics["spans_failed"] >= 1
        assert metrics["spans_sent"] == 0
    finally:
        if close is not None:
            await close()


async def get(m: Mesh, path: str) -> Response:
    assert m.admin is not None
    return await request(m.admin.address, Request("GET", path))


async def test_prometheus_is_served_at_its_path_with_its_prefix(world: World) -> None:
    m = await world.start_mesh("- {kind: io.l5d.prometheus, path: /prom, prefix: linkerd_}\n")
    assert (await world.send()).status == 200
    custom = (await get(m, "/prom")).body.decode()
    default = (await get(m, "/admin/metrics/prometheus")).body.decode()
    assert 'linkerd_rt:service:requests{rt="edge", service="/svc/web"} 1\n' in custom
    pairs = list(zip(custom.splitlines(), default.splitlines(), strict=True))
    assert len(pairs) > 10
    for prefixed, plain in pairs:
        assert prefixed == "linkerd_" + plain
    assert (await get(m, "/metrics")).body.decode() == default  # the defaults stay unprefixed


async def test_prometheus_at_the_default_path_takes_its_prefix(world: World) -> None:
    m = await world.start_mesh("- {kind: io.l5d.prometheus, prefix: l5d_}\n")
    assert (await world.send()).status == 200
    body = (await get(m, "/admin/metrics/prometheus")).body.decode()
    lines = [line for line in body.splitlines() if not line.startswith("#")]
    assert lines and all(line.startswith("l5d_") for line in lines)


@pytest.mark.parametrize("telemetry", ["", "- {kind: io.l5d.prometheus}\n"])
async def test_the_default_prometheus_pages_are_unchanged(world: World, telemetry: str) -> None:
    m = await world.start_mesh(telemetry)
    assert (await world.send()).status == 200
    for path in ("/admin/metrics/prometheus", "/metrics"):
        rep = await get(m, path)
        assert rep.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert rep.body.decode() == linkerd_prometheus(m.registry)
    assert (await get(m, "/prom")).status == 404
