"""The mesh's ``telemetry`` section made real (Linkerd's telemeters).

``io.l5d.zipkin`` {host, port 9411, sampleRate 0.001}: :class:`MeshTracing` — one
:class:`~roost.rpc.tracing.ZipkinExporter` posting to ``http://host:port/api/v2/spans`` and
the tracers that feed it: a SERVER span for each request a router's server receives and a
CLIENT span for each attempt to a backend, as ``roost.rpc`` records them. A new trace is
sampled at ``sampleRate``; ``l5d-sample`` on a request re-decides at its rate; a caller's
decision (``l5d-ctx-trace``, B3) is kept. Without the telemeter nothing is recorded or sent
(trace ids are still propagated).

Spans carry the router label as their local service name, ``l5d-dst-service`` (and on
client spans ``l5d-dst-client``) as tags, and on client spans the bound id as the remote
service name — with its address when the id is ``/$/inet/<ip>/<port>``.

``io.l5d.prometheus`` {path, prefix}: :func:`prometheus_pages` and :func:`prometheus_page`.
"""

from __future__ import annotations

import ipaddress
import random

from roost.mesh.config import PrometheusConfig, TelemeterConfig, ZipkinConfig
from roost.mesh.prometheus import linkerd_prometheus
from roost.mesh.router import DST_CLIENT, DST_SERVICE
from roost.naming import Path
from roost.rpc.stats import MetricsRegistry, StatsReceiver
from roost.rpc.tracing import CLIENT, Endpoint, Span, Tracer, ZipkinExporter

DEFAULT_PROMETHEUS_PATHS = ("/admin/metrics/prometheus", "/metrics")
"""Served without a prefix unless a telemeter takes the path."""

EXPORT_TIMEOUT = 1.0
"""Seconds one post to the collector may take (Linkerd gives its Zipkin client 100 ms)."""


def remote_endpoint(bound_id: Path) -> Endpoint:
    """The remote side of a client's spans: the bound id as service name, plus the address
    of a ``/$/inet/<ip>/<port>`` id (a namer's id names no one address: the balancer picks
    one below the span)."""
    name = bound_id.show
    elems = bound_id.elems
    if len(elems) == 4 and elems[0] == b"$" and elems[1] == b"inet" and elems[3].isdigit():
        try:
            ip = ipaddress.ip_address(elems[2].decode("ascii"))
        except ValueError:
            return Endpoint(name)
        port = int(elems[3])
        if ip.version == 4:
            return Endpoint(name, ipv4=str(ip), port=port)
        return Endpoint(name, ipv6=str(ip), port=port)
    return Endpoint(name)


class _ClientTracer(Tracer):
    """A router client's tracer: its CLIENT spans name the bound name on the other side."""

    def __init__(self, remote: Endpoint, tracer: Tracer, tag_headers: tuple[str, ...]) -> None:
        super().__init__(
            tracer.sink,
            local_endpoint=tracer.local_endpoint,
            sample_rate=tracer.sample_rate,
            tag_headers=tag_headers,
            rng=tracer.rng,
        )
        self.remote = remote

    def record(self, span: Span) -> None:
        if span.remote_endpoint is None and span.kind == CLIENT:
            span.remote_endpoint = self.remote
        super().record(span)


class MeshTracing:
    """The ``io.l5d.zipkin`` telemeter: one exporter, a tracer per router server and per
    client, all sharing the exporter, the sample rate and the id generator. Exporter metrics:
    ``telemetry/zipkin/{spans_sent,spans_dropped,spans_failed,send_failures,queued_spans}``."""

    def __init__(
        self,
        config: ZipkinConfig,
        stats: StatsReceiver,
        *,
        flush_interval: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.exporter = ZipkinExporter(
            config.url,
            flush_interval=flush_interval,
            timeout=EXPORT_TIMEOUT,
            stats_receiver=stats.scope("telemetry", "zipkin"),
        )
        self.rng = rng or random.Random()

    def server_tracer(self, router: str) -> Tracer:
        """The tracer of a router's servers (made once per router)."""
        return Tracer(
            self.exporter,
            service_name=router,
            sample_rate=self.config.sampleRate,
            tag_headers=(DST_SERVICE,),
            rng=self.rng,
        )

    def client_tracer(self, server_tracer: Tracer, bound_id: Path) -> Tracer:
        """The tracer of one router client (made once per bound name)."""
        return _ClientTracer(remote_endpoint(bound_id), server_tracer, (DST_SERVICE, DST_CLIENT))

    def start(self) -> None:
        self.exporter.start()

    async def aclose(self) -> None:
        """Stop the exporter after posting what is queued."""
        await self.exporter.close()


def zipkin_of(telemetry: list[TelemeterConfig]) -> ZipkinConfig | None:
    return next((t for t in telemetry if isinstance(t, ZipkinConfig)), None)


def prometheus_pages(telemetry: list[TelemeterConfig]) -> dict[str, str]:
    """Admin path -> metric name prefix: the default pages, then each telemeter's."""
    pages = dict.fromkeys(DEFAULT_PROMETHEUS_PATHS, "")
    for t in telemetry:
        if isinstance(t, PrometheusConfig):
            pages[t.path] = t.prefix
    return pages


def prometheus_page(registry: MetricsRegistry, prefix: str = "") -> str:
    """The registry in Linkerd's Prometheus format, ``prefix`` before every metric name
    (:mod:`roost.mesh.prometheus`)."""
    return linkerd_prometheus(registry, prefix)
