"""Spans to a Zipkin collector: v2 JSON (``POST /api/v2/spans``), batched in the background.

:class:`ZipkinExporter` is a span sink. ``record(span)`` only appends to a bounded queue and
never blocks or fails a request: when ``max_queue`` spans are waiting, new ones are dropped
and counted (``spans_dropped``). A background task (started by the first ``record`` inside a
running loop, or by :meth:`start`) posts a batch as soon as ``batch_size`` spans are queued,
and whatever is queued every ``flush_interval`` seconds. A failed post (connection refused,
timeout, non-2xx) is counted (``send_failures``, ``spans_failed``) and its spans dropped.
:meth:`close` posts what is left. Tracing is off unless such an exporter is configured.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from roost.core.aio import wait_event
from roost.rpc.stats.receiver import MetricsRegistry, StatsReceiver
from roost.rpc.tracing import ids
from roost.rpc.tracing.tracer import Endpoint, Span

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


def _endpoint_json(endpoint: Endpoint) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if endpoint.service_name:
        out["serviceName"] = endpoint.service_name
    if endpoint.ipv4:
        out["ipv4"] = endpoint.ipv4
    if endpoint.ipv6:
        out["ipv6"] = endpoint.ipv6
    if endpoint.port:
        out["port"] = endpoint.port
    return out


def span_json(span: Span) -> dict[str, Any]:
    """A span in Zipkin's v2 JSON model."""
    trace = span.trace
    out: dict[str, Any] = {"traceId": ids.trace_hex(trace), "id": ids.hex64(trace.span_id)}
    if not ids.is_root(trace):
        out["parentId"] = ids.hex64(trace.parent_id)
    out["name"] = span.name
    out["kind"] = span.kind
    out["timestamp"] = span.timestamp_us
    out["duration"] = max(1, span.duration_us)
    if span.local_endpoint is not None:
        out["localEndpoint"] = _endpoint_json(span.local_endpoint)
    if span.remote_endpoint is not None:
        out["remoteEndpoint"] = _endpoint_json(span.remote_endpoint)
    if span.tags:
        out["tags"] = dict(span.tags)
    if ids.is_debug(trace):
        out["debug"] = True
    if span.shared:
        out["shared"] = True
    return out


class ZipkinExporter:
    """Batches spans and posts them to ``url`` (``http://zipkin:9411/api/v2/spans``)."""

    def __init__(
        self,
        url: str,
        *,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_queue: int = 1000,
        timeout: float = 5.0,
        stats_receiver: StatsReceiver | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if batch_size < 1 or max_queue < 1 or flush_interval <= 0:
            raise ValueError("batch_size and max_queue must be >= 1, flush_interval > 0")
        self.url = url
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.timeout = timeout
        stats = stats_receiver or StatsReceiver(MetricsRegistry())
        self.sent = stats.counter("spans_sent")
        self.dropped = stats.counter("spans_dropped")
        self.failed = stats.counter("spans_failed")
        self.send_failures = stats.counter("send_failures")
        self._queue: deque[Span] = deque()
        queue = self._queue
        stats.gauge("queued_spans", fn=lambda: len(queue))
        self._client = client
        self._own_client = client is None
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def record(self, span: Span) -> None:
        if self._closed or len(self._queue) >= self.max_queue:
            self.dropped.incr()
            return
        self._queue.append(span)
        if self._task is None or self._task.done():
            self.start()
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def start(self) -> None:
        """Start the background sender (a no-op outside a running loop or once started)."""
        if (self._task is not None and not self._task.done()) or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._run(), name="zipkin-exporter")

    async def _run(self) -> None:
        while True:
            await wait_event(self._wake, self.flush_interval)
            self._wake.clear()
            if self._closed:
                return
            # woken for size: send full batches; on the timer: everything queued
            await self._send(full_only=len(self._queue) >= self.batch_size)

    async def flush(self) -> None:
        """Post everything queued now."""
        await self._send(full_only=False)

    async def _send(self, *, full_only: bool) -> None:
        async with self._send_lock:
            while self._queue and (not full_only or len(self._queue) >= self.batch_size):
                n = min(self.batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(n)]
                await self._post(batch)

    async def _post(self, batch: list[Span]) -> None:
        if self._client is None:
            import httpx  # loaded with the first batch: most processes never export

            self._client = httpx.AsyncClient(timeout=self.timeout)
        try:
            rep = await self._client.post(self.url, json=[span_json(s) for s in batch])
            ok = 200 <= rep.status_code < 300
        except Exception as exc:  # never let tracing fail anything
            log.debug("zipkin post to %s failed: %s", self.url, exc)
            ok = False
        if ok:
            self.sent.incr(len(batch))
        else:
            self.send_failures.incr()
            self.failed.incr(len(batch))

    async def close(self) -> None:
        """Stop the sender and post what is queued."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._task is not None and not self._task.done():
            await asyncio.wait([self._task])
        await self.flush()
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None
