"""Metrics: Marathon's Dropwizard-style JSON at ``/metrics`` and Prometheus text at
``/metrics/prometheus`` (both from one flat snapshot)."""

from __future__ import annotations

from typing import Any

from roost.marathon.api.base import MarathonContext


def metrics_snapshot(c: MarathonContext) -> dict[str, float]:
    orc = c.orc
    insts = list(orc.state.all_instances())
    snap: dict[str, float] = {
        "marathon/apps": len(orc.state.apps),
        "marathon/groups": len(orc.state.group_ids()),
        "marathon/deployments": len(orc.deployments),
        "marathon/instances": len(insts),
        "marathon/instances_running": sum(1 for i in insts if i.running),
        "marathon/instances_staging": sum(1 for i in insts if i.state == "TASK_STAGING"),
        "marathon/instances_healthy": sum(1 for i in insts if i.healthy is True),
        "marathon/instances_unhealthy": sum(1 for i in insts if i.healthy is False),
        "marathon/launch_queue_size": sum(e.count for e in orc.queue.entries.values()),
        "marathon/event_stream_subscribers": c.bus.subscriber_count,
        "marathon/registered": 1.0 if orc.framework_id else 0.0,
    }
    for key, n in c.requests.items():
        snap[f"marathon/http_requests/{key.replace(' ', '_')}"] = n
    return snap


def metrics_json(c: MarathonContext) -> dict[str, Any]:
    snap = metrics_snapshot(c)
    gauges = {
        k.replace("/", "."): {"value": v} for k, v in snap.items() if "http_requests" not in k
    }
    counters = {k.replace("/", "."): {"count": v} for k, v in snap.items() if "http_requests" in k}
    return {
        "version": "4.0.0",
        "gauges": gauges,
        "counters": counters,
        "histograms": {},
        "meters": {},
        "timers": {},
    }
