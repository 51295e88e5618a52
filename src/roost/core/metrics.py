"""Metrics export: Mesos-style flat snapshots rendered as Prometheus text.

Each server keeps its own :class:`prometheus_client.CollectorRegistry` (several servers can
share a process in ``roost up``) and registers a :class:`SnapshotCollector` that turns the
``/metrics/snapshot`` dictionary (``master/tasks_running`` ...) into gauges
(``roost_master_tasks_running``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response

_BAD = re.compile(r"[^a-zA-Z0-9_]")

Snapshot = Callable[[], Mapping[str, float]]


def prometheus_name(name: str, prefix: str = "roost") -> str:
    return f"{prefix}_{_BAD.sub('_', name)}".lower()


class SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot, prefix: str = "roost") -> None:
        self._snapshot = snapshot
        self._prefix = prefix

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for key, value in sorted(self._snapshot().items()):
            yield GaugeMetricFamily(prometheus_name(key, self._prefix), key, value=float(value))


def registry_for(snapshot: Snapshot) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(SnapshotCollector(snapshot))
    return reg


def prometheus_response(registry: CollectorRegistry) -> Response:
    return Response(
        generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
