"""Metrics for roost.rpc: counters, gauges and histograms named Finagle-style
(``clnt/<label>/requests``), kept in a process-wide :class:`MetricsRegistry` and exported as
flat JSON, a JSON tree or Prometheus text (see :mod:`roost.rpc.stats.export`)::

    stats = StatsReceiver().scope("clnt", "web")
    stats.counter("requests").incr()
    stats.stat("request_latency_ms").add(12.5)
    stats.gauge("pending", fn=lambda: len(in_flight))
"""

from roost.rpc.stats.export import (
    flat_json,
    metrics_json,
    prometheus_name,
    prometheus_text,
    tree_json,
)
from roost.rpc.stats.histogram import PERCENTILES, Histogram, HistogramSnapshot
from roost.rpc.stats.metrics import Counter, Gauge
from roost.rpc.stats.receiver import (
    DEFAULT_REGISTRY,
    MetricsRegistry,
    NullStatsReceiver,
    StatsReceiver,
)

__all__ = [
    "DEFAULT_REGISTRY",
    "PERCENTILES",
    "Counter",
    "Gauge",
    "Histogram",
    "HistogramSnapshot",
    "MetricsRegistry",
    "NullStatsReceiver",
    "StatsReceiver",
    "flat_json",
    "metrics_json",
    "prometheus_name",
    "prometheus_text",
    "tree_json",
]
