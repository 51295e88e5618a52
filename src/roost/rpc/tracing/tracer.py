"""Spans and the tracer that starts traces, decides sampling and hands finished spans to a
sink (Finagle ``Tracer``; Zipkin's span model).

Tracing costs nothing beyond id generation and headers until a sink is configured: the
default :class:`Tracer` has no sink, so spans are dropped where they end. A sink is anything
with ``record(span)`` that never blocks — :class:`MemorySink` for tests and debugging,
:class:`~roost.rpc.tracing.zipkin.ZipkinExporter` for a Zipkin collector.

Sampling: a new trace is sampled with probability ``sample_rate`` (default 0.001, as
Finagle's and Linkerd's Zipkin tracers), decided from the trace id so every hop with the same
rate agrees. A caller's decision is kept, unless the request carries ``l5d-sample``, which
re-decides with its rate. Debug traces are always sampled. Only sampled spans reach the sink.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.context import TraceId
from roost.rpc.tracing import ids

CLIENT = "CLIENT"
SERVER = "SERVER"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A Zipkin endpoint: who recorded a span, or who was on the other end."""

    service_name: str = ""
    ipv4: str = ""
    ipv6: str = ""
    port: int = 0


@dataclass(slots=True)
class Span:
    """One side of one RPC (``kind`` CLIENT or SERVER), times in epoch/elapsed microseconds."""

    trace: TraceId
    name: str
    kind: str
    timestamp_us: int
    duration_us: int = 0
    local_endpoint: Endpoint | None = None
    remote_endpoint: Endpoint | None = None
    tags: dict[str, str] = field(default_factory=dict)
    shared: bool = False
    """A server span that reuses its client's span id (Zipkin's ``shared``)."""


class SpanSink(Protocol):
    def record(self, span: Span) -> None: ...


class MemorySink:
    """Keeps recorded spans in a list (bounded: the oldest are dropped past ``limit``)."""

    def __init__(self, limit: int = 10_000) -> None:
        self.spans: list[Span] = []
        self.limit = limit

    def record(self, span: Span) -> None:
        self.spans.append(span)
        if len(self.spans) > self.limit:
            del self.spans[0]


class Tracer:
    """Starts traces, decides sampling, stamps spans with the local endpoint."""

    def __init__(
        self,
        sink: SpanSink | None = None,
        *,
        service_name: str = "roost",
        local_endpoint: Endpoint | None = None,
        sample_rate: float = 0.001,
        trace_id_128: bool = False,
        tag_headers: Sequence[str] = (),
        rng: random.Random | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """``tag_headers``: request headers the tracing filters copy into a recorded span's
        tags, read when the span ends (so a header a proxy adds on the way, such as
        Linkerd's ``l5d-dst-service``, is there too)."""
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be within [0, 1], not {sample_rate}")
        self.sink = sink
        self.local_endpoint = local_endpoint or Endpoint(service_name)
        self.sample_rate = sample_rate
        self.trace_id_128 = trace_id_128
        self.tag_headers = tuple(tag_headers)
        self.rng = rng or random.Random()
        self.clock = clock

    @property
    def enabled(self) -> bool:
        return self.sink is not None

    def new_trace(self, *, sampled: bool = False) -> TraceId:
        """A root span id, sampling not decided yet — or, with ``sampled=True``, decided at
        this tracer's rate (``sample(new_trace())`` with one TraceId built instead of two:
        a client does this on every request outside a trace)."""
        if not sampled:
            return ids.root(self.rng, trace_id_128=self.trace_id_128)
        span = ids.new_id(self.rng)
        high = ids.new_id(self.rng) if self.trace_id_128 else 0
        return TraceId(span, span, span, ids.sample_decision(span, self.sample_rate), 0, high)

    def child(self, parent: TraceId) -> TraceId:
        return ids.child(parent, self.rng)

    def sample(self, trace: TraceId, rate: float | None = None) -> TraceId:
        """``trace`` with a sampling decision: debug ⇒ sampled; an override ``rate``
        (``l5d-sample``) re-decides; otherwise a decision already made is kept."""
        if ids.is_debug(trace):
            decision: bool | None = True
        elif rate is not None:
            decision = ids.sample_decision(trace.trace_id, rate)
        elif trace.sampled is None:
            decision = ids.sample_decision(trace.trace_id, self.sample_rate)
        else:
            return trace
        if decision == trace.sampled:
            return trace
        # the constructor, not dataclasses.replace: this runs on every request
        t = trace
        return TraceId(t.trace_id, t.span_id, t.parent_id, decision, t.flags, t.trace_id_high)

    def now_us(self) -> int:
        return int(self.clock.time() * 1_000_000)

    def record(self, span: Span) -> None:
        """Hand a finished span to the sink if its trace is sampled."""
        if self.sink is not None and ids.is_sampled(span.trace):
            if span.local_endpoint is None:
                span.local_endpoint = self.local_endpoint
            self.sink.record(span)
