"""Tracing: l5d-ctx-trace and B3 codecs, tracing filters, Zipkin JSON and the exporter
against a real collector on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from roost.core.clock import ManualClock
from roost.rpc.context import TraceId, current_trace, trace_scope
from roost.rpc.errors import ChannelClosed
from roost.rpc.http.message import Headers, Request, Response
from roost.rpc.service import FnService, Service
from roost.rpc.tracing import (
    CLIENT,
    SERVER,
    ClientTracingFilter,
    Endpoint,
    MemorySink,
    ServerTracingFilter,
    Span,
    Tracer,
    ZipkinExporter,
    extract,
    from_b3,
    from_b3_single,
    from_ctx_header,
    inject,
    sample_rate,
    span_json,
    to_b3_single,
    to_ctx_header,
)
from roost.rpc.tracing.codec import deserialize, serialize, trace_block, trace_headers
from roost.rpc.tracing.ids import DEBUG

SPAN = 0x1122334455667788
PARENT = 0x99AABBCCDDEEFF00
TRACE = 0x0123456789ABCDEF
HIGH = 0xFEDCBA9876543210


# --- l5d-ctx-trace --------------------------------------------------------------------


def test_a_64_bit_trace_is_32_bytes_span_parent_trace_flags_big_endian() -> None:
    trace = TraceId(TRACE, SPAN, PARENT, sampled=True, flags=1)
    data = serialize(trace)
    assert data == bytes.fromhex("112233445566778899aabbccddeeff000123456789abcdef0000000000000007")
    header = to_ctx_header(trace)
    assert base64.b64decode(header) == data
    assert from_ctx_header(header) == trace


def test_a_128_bit_trace_appends_the_high_half_as_a_fifth_word() -> None:
    trace = TraceId(TRACE, SPAN, PARENT, sampled=False, trace_id_high=HIGH)
    data = serialize(trace)
    assert len(data) == 40
    assert data[24:32] == bytes.fromhex("0000000000000002")  # sampling known, not sampled
    assert data[32:] == bytes.fromhex("fedcba9876543210")
    assert from_ctx_header(to_ctx_header(trace)) == trace


def test_an_undecided_trace_carries_no_sampling_bits() -> None:
    trace = TraceId(TRACE, SPAN, PARENT, sampled=None)
    assert serialize(trace)[24:32] == bytes(8)
    assert deserialize(serialize(trace)).sampled is None


def test_a_header_written_by_finagle_decodes_to_its_fields() -> None:
    # a root span (span == parent == trace), sampled, with an extension flag (bit 43)
    raw = bytes.fromhex("00000000000000ab" * 3 + "0000080000000006")
    trace = from_ctx_header(base64.b64encode(raw).decode())
    assert trace == TraceId(0xAB, 0xAB, 0xAB, sampled=True, flags=1 << 43)
    assert to_ctx_header(trace) == base64.b64encode(raw).decode()


@pytest.mark.parametrize("value", ["", "not base64!", base64.b64encode(bytes(31)).decode()])
def test_malformed_ctx_headers_are_ignored(value: str) -> None:
    assert from_ctx_header(value) is None


# --- B3 ----------------------------------------------------------------------------------


def test_b3_headers_round_trip_a_child_span() -> None:
    trace = TraceId(TRACE, SPAN, PARENT, sampled=True)
    headers = Headers()
    inject(headers, trace)
    assert headers["X-B3-TraceId"] == "0123456789abcdef"
    assert headers["X-B3-SpanId"] == "1122334455667788"
    assert headers["X-B3-ParentSpanId"] == "99aabbccddeeff00"
    assert headers["X-B3-Sampled"] == "1"
    assert "X-B3-Flags" not in headers
    assert from_b3(headers) == trace


def test_b3_carries_128_bit_ids_roots_and_debug() -> None:
    trace = TraceId(TRACE, SPAN, SPAN, sampled=None, flags=1, trace_id_high=HIGH)
    headers = Headers([("X-B3-ParentSpanId", "stale"), ("X-B3-Sampled", "0")])
    inject(headers, trace)
    assert headers["X-B3-TraceId"] == "fedcba98765432100123456789abcdef"
    assert "X-B3-ParentSpanId" not in headers  # a root has no parent
    assert headers["X-B3-Flags"] == "1" and "X-B3-Sampled" not in headers
    decoded = from_b3(headers)
    assert decoded == TraceId(TRACE, SPAN, SPAN, sampled=True, flags=1, trace_id_high=HIGH)


def test_b3_accepts_true_false_and_rejects_bad_ids() -> None:
    ok = Headers([("x-b3-traceid", "0000000000000001"), ("x-b3-spanid", "0000000000000002")])
    ok.add("x-b3-sampled", "true")
    assert from_b3(ok) == TraceId(1, 2, 2, sampled=True)
    for bad_trace, bad_span in [
        ("xyz", "0000000000000002"),
        ("0000000000000001", "12"),
        ("0" * 16, "0000000000000002"),
    ]:
        h = Headers([("X-B3-TraceId", bad_trace), ("X-B3-SpanId", bad_span)])
        assert from_b3(h) is None


def test_the_single_b3_header_round_trips() -> None:
    value = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"
    trace = from_b3_single(value)
    assert trace == TraceId(
        0x64FE8B2A57D3EFF7, 0xE457B5A2E4D86BD1, 0x05E3AC9A4F6E3B90, True, 0, 0x80F198EE56343BA8
    )
    assert to_b3_single(trace) == value
    debug = from_b3_single("000000000000000a-000000000000000b-d")
    assert debug == TraceId(10, 11, 11, True, 1)
    assert to_b3_single(debug) == "000000000000000a-000000000000000b-d"
    assert from_b3_single("000000000000000a-000000000000000b") == TraceId(10, 11, 11, None)
    for bad in [
        "0",
        "1",
        "a-b",
        "000000000000000a-000000000000000b-x",
        "000000000000000a-000000000000000b-1-zz",
    ]:
        assert from_b3_single(bad) is None


def test_extract_prefers_l5d_ctx_trace_then_b3_then_x_b3() -> None:
    l5d = TraceId(1, 2, 3, sampled=True)
    single = TraceId(4, 5, 5, sampled=False)
    multi = TraceId(7, 8, 8, sampled=True)
    headers = Headers()
    inject(headers, multi)
    headers.remove("l5d-ctx-trace")
    assert extract(headers) == multi
    headers.set("b3", to_b3_single(single))
    assert extract(headers) == single
    headers.set("l5d-ctx-trace", to_ctx_header(l5d))
    assert extract(headers) == l5d
    headers.set("l5d-ctx-trace", "garbage")
    assert extract(headers) == single
    assert extract(Headers()) is None


def test_inject_writes_the_request_id_and_drops_a_stale_single_b3_header() -> None:
    headers = Headers([("b3", "0")])
    inject(headers, TraceId(TRACE, SPAN, PARENT, True), b3=False)
    assert headers["l5d-reqid"] == "0123456789abcdef"
    assert "b3" not in headers and "X-B3-TraceId" not in headers
    inject(headers, TraceId(TRACE, SPAN, PARENT, True), b3_single=True)
    assert headers["b3"] == "0123456789abcdef-1122334455667788-1-99aabbccddeeff00"


@pytest.mark.parametrize(
    ("value", "rate"), [("0.25", 0.25), ("7", 1.0), ("-1", 0.0), ("x", None), ("nan", None)]
)
def test_l5d_sample_is_a_clamped_rate(value: str, rate: float | None) -> None:
    assert sample_rate(Headers([("l5d-sample", value)])) == rate


# --- filters -------------------------------------------------------------------------------


def tracer(sink: Any, rate: float = 1.0) -> Tracer:
    return Tracer(
        sink, service_name="web", sample_rate=rate, rng=random.Random(42), clock=ManualClock()
    )


async def ok(req: Request) -> Response:
    return Response(200)


async def test_the_server_adopts_the_callers_trace_and_shares_its_span() -> None:
    sink = MemorySink()
    seen: list[TraceId | None] = []

    async def handler(req: Request) -> Response:
        seen.append(current_trace())
        assert "l5d-ctx-trace" not in req.headers and "l5d-sample" not in req.headers
        return Response(503)

    incoming = TraceId(TRACE, SPAN, PARENT, sampled=True)
    req = Request("POST", "/users?id=1", Headers([("l5d-ctx-trace", to_ctx_header(incoming))]))
    server = ServerTracingFilter(tracer(sink, rate=0.0)).and_then(FnService(handler))
    await server(req)
    assert seen == [incoming]
    [span] = sink.spans
    assert (span.trace, span.kind, span.name, span.shared) == (incoming, SERVER, "post", True)
    assert span.tags == {
        "http.method": "POST",
        "http.path": "/users",
        "http.status_code": "503",
        "error": "503",
    }
    assert span.local_endpoint == Endpoint("web")


async def test_the_server_starts_a_sampled_or_unsampled_root_by_its_rate() -> None:
    sink = MemorySink()
    seen: list[TraceId | None] = []

    async def handler(req: Request) -> Response:
        seen.append(current_trace())
        return Response(200)

    await ServerTracingFilter(tracer(sink, rate=1.0)).and_then(FnService(handler))(Request())
    await ServerTracingFilter(tracer(sink, rate=0.0)).and_then(FnService(handler))(Request())
    sampled, unsampled = seen
    assert sampled is not None and unsampled is not None
    assert sampled.span_id == sampled.parent_id == sampled.trace_id and sampled.sampled is True
    assert unsampled.sampled is False
    [span] = sink.spans
    assert span.trace == sampled and span.shared is False


async def test_l5d_sample_overrides_the_callers_decision() -> None:
    sink = MemorySink()
    server = ServerTracingFilter(tracer(sink, rate=0.0)).and_then(FnService(ok))
    unsampled = TraceId(TRACE, SPAN, PARENT, sampled=False)
    await server(
        Request(headers=Headers([("l5d-ctx-trace", to_ctx_header(unsampled)), ("l5d-sample", "1")]))
    )
    sampled = TraceId(TRACE + 1, SPAN, PARENT, sampled=True)
    await server(
        Request(headers=Headers([("l5d-ctx-trace", to_ctx_header(sampled)), ("l5d-sample", "0.0")]))
    )
    assert [s.trace.trace_id for s in sink.spans] == [TRACE]


async def test_each_client_attempt_is_a_fresh_child_span_written_on_the_request() -> None:
    sink = MemorySink()
    on_the_wire: list[TraceId | None] = []

    async def backend(req: Request) -> Response:
        on_the_wire.append(extract(req.headers))
        if len(on_the_wire) == 1:
            raise ChannelClosed("reset")
        return Response(200)

    client = ClientTracingFilter(
        tracer(sink), remote_endpoint=Endpoint("users", "10.0.0.7", port=8080)
    ).and_then(FnService(backend))

    async def retry_once(req: Request) -> Response:
        try:
            return await client(req)
        except ChannelClosed:
            return await client(req)

    parent = TraceId(TRACE, PARENT, 5, sampled=True)
    with trace_scope(parent):
        rep = await retry_once(Request("GET", "/u"))
    assert rep.status == 200
    first, second = sink.spans
    assert [s.kind for s in sink.spans] == [CLIENT, CLIENT]
    assert first.trace.span_id != second.trace.span_id
    for span, wire in zip(sink.spans, on_the_wire, strict=True):
        assert span.trace == wire
        assert span.trace.trace_id == TRACE and span.trace.parent_id == PARENT
        assert span.remote_endpoint == Endpoint("users", "10.0.0.7", port=8080)
    assert first.tags["error"] == "ChannelClosed: reset"
    assert "http.status_code" not in first.tags
    assert second.tags["http.status_code"] == "200"


async def test_a_client_call_outside_a_request_starts_a_trace() -> None:
    sink = MemorySink()
    client = ClientTracingFilter(tracer(sink)).and_then(FnService(ok))
    req = Request()
    await client(req)
    [span] = sink.spans
    assert span.trace.parent_id == span.trace.span_id == span.trace.trace_id
    assert extract(req.headers) == span.trace


async def test_a_server_calling_a_client_links_the_spans() -> None:
    sink = MemorySink()
    t = tracer(sink)
    downstream: Service[Request, Response] = ClientTracingFilter(t).and_then(FnService(ok))

    async def app(req: Request) -> Response:
        return await downstream(Request("GET", "/next"))

    await ServerTracingFilter(t).and_then(FnService(app))(Request("GET", "/"))
    client_span, server_span = sink.spans
    assert client_span.trace.parent_id == server_span.trace.span_id
    assert client_span.trace.trace_id == server_span.trace.trace_id


# --- Zipkin ----------------------------------------------------------------------------------


def make_span(span_id: int, parent: int | None = None, **kw: Any) -> Span:
    trace = TraceId(TRACE, span_id, parent or span_id, sampled=True)
    return Span(trace, "get", CLIENT, timestamp_us=1_700_000_000_000_000, duration_us=1500, **kw)


def test_span_json_follows_the_zipkin_v2_model() -> None:
    span = make_span(
        SPAN,
        PARENT,
        local_endpoint=Endpoint("web"),
        remote_endpoint=Endpoint("users", "10.0.0.7", port=8080),
        tags={"http.method": "GET"},
    )
    assert span_json(span) == {
        "traceId": "0123456789abcdef",
        "id": "1122334455667788",
        "parentId": "99aabbccddeeff00",
        "name": "get",
        "kind": "CLIENT",
        "timestamp": 1_700_000_000_000_000,
        "duration": 1500,
        "localEndpoint": {"serviceName": "web"},
        "remoteEndpoint": {"serviceName": "users", "ipv4": "10.0.0.7", "port": 8080},
        "tags": {"http.method": "GET"},
    }
    root = Span(TraceId(1, 1, 1, True, 1, HIGH), "get", SERVER, 5, 0, shared=True)
    assert span_json(root) == {
        "traceId": "fedcba98765432100000000000000001",
        "id": "0000000000000001",
        "name": "get",
        "kind": "SERVER",
        "timestamp": 5,
        "duration": 1,
        "debug": True,
        "shared": True,
    }


class Collector:
    """A tiny Zipkin collector on loopback: records every posted JSON body, answers 202."""

    def __init__(self) -> None:
        self.posts: list[list[dict[str, Any]]] = []
        self.requests: list[tuple[str, str, str]] = []
        self._event = asyncio.Event()
        self.url = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/api/v2/spans"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                first, *lines = head.split("\r\n")
                method, path, _ = first.split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines if x)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append((method, path, headers.get("content-type", "")))
                self.posts.append(json.loads(body))
                self._event.set()
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def wait_for_posts(self, n: int, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.posts) < n:
                self._event.clear()
                await self._event.wait()

    @property
    def span_ids(self) -> list[str]:
        return [s["id"] for post in self.posts for s in post]


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    c = Collector()
    await c.start()
    yield c
    await c.stop()


async def test_the_exporter_posts_full_batches_at_once_and_the_rest_on_close(
    collector: Collector,
) -> None:
    exporter = ZipkinExporter(collector.url, batch_size=3, flush_interval=60.0)
    for i in range(1, 8):
        exporter.record(make_span(i))
    await collector.wait_for_posts(2)
    assert [len(p) for p in collector.posts] == [3, 3]
    await exporter.close()
    assert [len(p) for p in collector.posts] == [3, 3, 1]
    assert collector.span_ids == [f"{i:016x}" for i in range(1, 8)]
    assert collector.requests[0] == ("POST", "/api/v2/spans", "application/json")
    assert exporter.sent.value == 7 and exporter.dropped.value == 0


async def test_the_exporter_flushes_a_partial_batch_after_its_interval(
    collector: Collector,
) -> None:
    exporter = ZipkinExporter(collector.url, batch_size=100, flush_interval=0.05)
    exporter.record(make_span(1))
    exporter.record(make_span(2))
    await collector.wait_for_posts(1)
    assert [len(p) for p in collector.posts] == [2]
    await exporter.close()
    assert len(collector.posts) == 1


async def test_a_full_queue_drops_and_counts_new_spans(collector: Collector) -> None:
    exporter = ZipkinExporter(collector.url, batch_size=100, flush_interval=60.0, max_queue=4)
    for i in range(1, 7):
        exporter.record(make_span(i))  # no await in between: the sender cannot run
    assert exporter.dropped.value == 2
    await exporter.close()
    assert collector.span_ids == [f"{i:016x}" for i in range(1, 5)]
    exporter.record(make_span(9))  # after close: dropped, never raises
    assert exporter.dropped.value == 3


async def test_an_unreachable_collector_never_fails_the_caller() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    exporter = ZipkinExporter(f"http://127.0.0.1:{port}/api/v2/spans", batch_size=2)
    exporter.record(make_span(1))
    exporter.record(make_span(2))
    exporter.record(make_span(3))
    await exporter.close()
    assert exporter.sent.value == 0
    assert exporter.send_failures.value == 2
    assert exporter.failed.value == 3


async def test_traced_requests_reach_the_collector_as_zipkin_json(collector: Collector) -> None:
    exporter = ZipkinExporter(collector.url, batch_size=10, flush_interval=60.0)
    t = Tracer(exporter, service_name="web", sample_rate=1.0, rng=random.Random(7))
    downstream = ClientTracingFilter(t, remote_endpoint=Endpoint("users")).and_then(FnService(ok))

    async def app(req: Request) -> Response:
        return await downstream(Request("GET", "/next"))

    await ServerTracingFilter(t).and_then(FnService(app))(Request("PUT", "/x"))
    await exporter.close()
    [post] = collector.posts
    client, server = post
    assert (client["kind"], server["kind"]) == ("CLIENT", "SERVER")
    assert client["parentId"] == server["id"] and client["traceId"] == server["traceId"]
    assert client["remoteEndpoint"] == {"serviceName": "users"}
    assert server["localEndpoint"] == {"serviceName": "web"}
    assert server["tags"]["http.method"] == "PUT"


@pytest.mark.parametrize(
    "trace",
    [
        TraceId(0x1111, 0x2222, 0x1111, True),
        TraceId(0x1111, 0x2222, 0x1111, False),
        TraceId(0xFFFFFFFFFFFFFFFF, 0x2, 0x3, True, 0, 0xABCDEF),  # 128-bit
        TraceId(0x1111, 0x1111, 0x1111, True),  # a root: no parent header
        TraceId(0x1111, 0x2222, 0x1111, None),  # undecided
        TraceId(0x1111, 0x2222, 0x1111, True, DEBUG),
    ],
)
@pytest.mark.parametrize(("b3", "b3_single"), [(True, False), (False, False), (True, True)])
def test_trace_block_writes_what_trace_headers_does(
    trace: TraceId, b3: bool, b3_single: bool
) -> None:
    expected = "".join(f"{k}: {v}\r\n" for k, v in trace_headers(trace, b3=b3, b3_single=b3_single))
    assert trace_block(trace, b3=b3, b3_single=b3_single) == expected.encode("latin-1")
