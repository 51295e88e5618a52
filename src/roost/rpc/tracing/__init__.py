"""Distributed tracing for roost.rpc: Finagle/Zipkin ids, the ``l5d-ctx-trace`` and B3
header codecs, client and server tracing filters, and a batching Zipkin v2 exporter."""

from roost.rpc.tracing.codec import (
    extract,
    from_b3,
    from_b3_single,
    from_ctx_header,
    inject,
    sample_rate,
    to_b3_single,
    to_ctx_header,
)
from roost.rpc.tracing.filter import (
    ClientTracingFilter,
    ServerTracingFilter,
    TraceInitializerFilter,
)
from roost.rpc.tracing.tracer import CLIENT, SERVER, Endpoint, MemorySink, Span, SpanSink, Tracer
from roost.rpc.tracing.zipkin import ZipkinExporter, span_json

__all__ = [
    "CLIENT",
    "SERVER",
    "ClientTracingFilter",
    "Endpoint",
    "MemorySink",
    "ServerTracingFilter",
    "Span",
    "SpanSink",
    "TraceInitializerFilter",
    "Tracer",
    "ZipkinExporter",
    "extract",
    "from_b3",
    "from_b3_single",
    "from_ctx_header",
    "inject",
    "sample_rate",
    "span_json",
    "to_b3_single",
    "to_ctx_header",
]
