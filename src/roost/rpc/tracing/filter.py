"""Tracing filters for HTTP (Finagle ``ServerTracingFilter`` / ``ClientTracingFilter``).

* :class:`ServerTracingFilter` adopts the caller's trace from the request headers
  (``l5d-ctx-trace``, ``b3``, ``X-B3-*``; else a trace already in the context, e.g. set by
  the transport), or starts a new one; applies ``l5d-sample``; runs the service inside
  :func:`~roost.rpc.context.trace_scope`; records a SERVER span. Like Linkerd it removes
  ``l5d-ctx-trace`` and ``l5d-sample`` from the request, so they are not forwarded as-is.
  The server span shares the client's span id (Zipkin ``shared``), as Finagle does.
* :class:`ClientTracingFilter` makes a child span of the current trace (a new sampled-or-not
  root outside any request) for *every call through it* — placed below retries, each attempt
  gets a fresh span id — writes it on the request (:func:`~roost.rpc.tracing.codec.inject`)
  and records a CLIENT span with the remote endpoint.

Tags (Zipkin's names): ``http.method``, ``http.path``, ``http.status_code``; ``error`` with
the exception (``"Rejected: …"``) or the status of a 5xx response; and the request headers
named in the tracer's ``tag_headers``. Span name: the lowercase method.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from roost.rpc.context import TraceId, current_trace, trace_scope
from roost.rpc.http.message import Request, Response
from roost.rpc.service import Filter, Service
from roost.rpc.tracing import codec, ids
from roost.rpc.tracing.tracer import CLIENT, SERVER, Endpoint, Span, Tracer

_CONSUMED = frozenset((codec.CTX_TRACE, codec.SAMPLE))
"""Headers a server takes off the request (lower-case, as ``Headers.replace_all`` wants)."""


class _TracingFilter(Filter[Request, Response, Request, Response]):
    kind = ""

    def __init__(self, tracer: Tracer, *, remote_endpoint: Endpoint | None = None) -> None:
        self.tracer = tracer
        self.remote_endpoint = remote_endpoint

    def _recorded(self, trace: TraceId) -> bool:
        return self.tracer.sink is not None and ids.is_sampled(trace)

    async def _traced(
        self, trace: TraceId, req: Request, service: Service[Request, Response], shared: bool
    ) -> Response:
        """Call ``service`` and record the span (when :meth:`_recorded`)."""
        tracer = self.tracer
        start_us = tracer.now_us()
        start = tracer.clock.monotonic()
        tags = {"http.method": req.method, "http.path": req.path}
        try:
            with trace_scope(trace):
                rep = await service(req)
        except BaseException as exc:
            tags["error"] = f"{type(exc).__name__}: {exc}"
            self._finish(trace, req, tags, start_us, start, shared)
            raise
        tags["http.status_code"] = str(rep.status)
        if rep.status >= 500:
            tags["error"] = str(rep.status)
        self._finish(trace, req, tags, start_us, start, shared)
        return rep

    def _finish(
        self,
        trace: TraceId,
        req: Request,
        tags: dict[str, str],
        start_us: int,
        start: float,
        shared: bool,
    ) -> None:
        duration_us = max(1, int((self.tracer.clock.monotonic() - start) * 1_000_000))
        for name in self.tracer.tag_headers:
            value = req.headers.get(name)
            if value is not None:
                tags[name] = value
        self.tracer.record(
            Span(
                trace=trace,
                name=req.method.lower(),
                kind=self.kind,
                timestamp_us=start_us,
                duration_us=duration_us,
                remote_endpoint=self.remote_endpoint,
                tags=tags,
                shared=shared,
            )
        )


class ServerTracingFilter(_TracingFilter):
    kind = SERVER

    async def __call__(self, req: Request, service: Service[Request, Response]) -> Response:
        incoming = codec.extract(req.headers)
        rate = codec.sample_rate(req.headers)
        req.headers.replace_all(_CONSUMED, ())  # both in one pass
        if incoming is None:
            incoming = current_trace()
        shared = incoming is not None
        trace = incoming if incoming is not None else self.tracer.new_trace()
        trace = self.tracer.sample(trace, rate)
        if not self._recorded(trace):
            with trace_scope(trace):  # nothing will record this span: only propagate the ids
                return await service(req)
        return await self._traced(trace, req, service, shared)


class ClientTracingFilter(_TracingFilter):
    kind = CLIENT

    def __init__(
        self,
        tracer: Tracer,
        *,
        remote_endpoint: Endpoint | None = None,
        b3: bool = True,
        b3_single: bool = False,
    ) -> None:
        super().__init__(tracer, remote_endpoint=remote_endpoint)
        self.b3 = b3
        self.b3_single = b3_single

    async def __call__(self, req: Request, service: Service[Request, Response]) -> Response:
        parent = current_trace()
        if parent is None:
            trace = self.tracer.new_trace(sampled=True)
        else:
            trace = self.tracer.sample(self.tracer.child(parent))
        codec.inject(req.headers, trace, b3=self.b3, b3_single=self.b3_single)
        if not self._recorded(trace):
            with trace_scope(trace):  # nothing will record this span: only propagate the ids
                return await service(req)
        return await self._traced(trace, req, service, False)


class TraceInitializerFilter(Filter[Request, Response, Request, Response]):
    """The top of a client stack (Finagle ``TraceInitializerFilter``): a call made outside any
    trace gets its root trace here, so the attempts below — each a child span made by a
    :class:`ClientTracingFilter` under the retry filters — share one trace id. Inside a
    trace it adds nothing."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def __call__(
        self, req: Request, service: Service[Request, Response]
    ) -> Coroutine[Any, Any, Response]:
        if current_trace() is not None:
            return service(req)  # inside a trace: no frame of ours on the request's path
        return self._rooted(req, service)

    async def _rooted(self, req: Request, service: Service[Request, Response]) -> Response:
        with trace_scope(self.tracer.new_trace(sampled=True)):
            return await service(req)
