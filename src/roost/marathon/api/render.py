"""Response bodies: AppInfo (the app plus what ``embed`` asks for), tasks, queue items."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from roost.marathon.appdef import AppDefinition, app_json
from roost.marathon.instances import Instance, task_json
from roost.marathon.orchestrator import Orchestrator
from roost.marathon.timestamps import format_ts

DEFAULT_EMBED = frozenset({"counts", "deployments"})


def counts(orc: Orchestrator, app: AppDefinition) -> dict[str, int]:
    staged = running = healthy = unhealthy = 0
    has_checks = bool(app.health_checks)
    for inst in orc.state.instances_of(app.id):
        if inst.state in ("TASK_STAGING", "TASK_STARTING"):
            staged += 1
        elif inst.state == "TASK_RUNNING":
            running += 1
            if has_checks:
                if inst.healthy is True:
                    healthy += 1
                elif inst.healthy is False:
                    unhealthy += 1
    return {
        "tasksStaged": staged,
        "tasksRunning": running,
        "tasksHealthy": healthy,
        "tasksUnhealthy": unhealthy,
    }


def task_body(orc: Orchestrator, inst: Instance) -> dict[str, Any]:
    return task_json(inst, format_ts, orc.health.results(inst.task_id))


_JSON_CACHE: dict[str, tuple[AppDefinition, dict[str, Any]]] = {}


def cached_app_json(app: AppDefinition) -> dict[str, Any]:
    """``app_json`` of an app, computed once per definition (definitions are immutable)."""
    hit = _JSON_CACHE.get(app.id)
    if hit is None or hit[0] is not app:
        hit = (app, app_json(app))
        _JSON_CACHE[app.id] = hit
        if len(_JSON_CACHE) > 4 * 10_000:  # forget deleted apps now and then
            _JSON_CACHE.clear()
    return dict(hit[1])


def app_info(
    orc: Orchestrator, app: AppDefinition, embed: Collection[str] = DEFAULT_EMBED
) -> dict[str, Any]:
    body = cached_app_json(app)
    if "counts" in embed or "tasks" in embed:
        body.update(counts(orc, app))
    if "deployments" in embed or "tasks" in embed:
        holder = orc.locks.get(app.id)
        body["deployments"] = [{"id": holder}] if holder else []
    if "tasks" in embed:
        body["tasks"] = [task_body(orc, i) for i in orc.state.instances_of(app.id)]
    if "lastTaskFailure" in embed and app.id in orc.state.last_failure:
        body["lastTaskFailure"] = dict(orc.state.last_failure[app.id])
    if "readiness" in embed:
        body["readinessCheckResults"] = [
            r
            for i in orc.state.instances_of(app.id)
            if (r := orc.readiness.last_results.get(i.task_id)) is not None
        ]
    if "taskStats" in embed:
        body["taskStats"] = task_stats(orc, app)
    return body


def task_stats(orc: Orchestrator, app: AppDefinition) -> dict[str, Any]:
    insts = orc.state.instances_of(app.id)
    now = orc.clock.time()
    lives = sorted(now - i.started_at for i in insts if i.started_at is not None)
    c = counts(orc, app)
    stats: dict[str, Any] = {
        "counts": {
            "staged": c["tasksStaged"],
            "running": c["tasksRunning"],
            "healthy": c["tasksHealthy"],
            "unhealthy": c["tasksUnhealthy"],
        }
    }
    if lives:
        stats["lifeTime"] = {
            "averageSeconds": sum(lives) / len(lives),
            "medianSeconds": lives[len(lives) // 2],
        }
    return {"totalSummary": {"stats": stats}} if insts else {}


def queue_item(orc: Orchestrator, app_id: str, embed_offers: bool) -> dict[str, Any] | None:
    entry = orc.queue.entries.get(app_id)
    app = orc.state.apps.get(app_id)
    if entry is None or app is None:
        return None
    left = orc.queue.remaining(app_id, orc.now())
    item: dict[str, Any] = {
        "app": app_json(app),
        "count": entry.count,
        "delay": {"timeLeftSeconds": round(left), "overdue": left <= 0},
        "since": format_ts(entry.since),
        "processedOffersSummary": entry.stats.summary(format_ts),
    }
    if embed_offers:
        item["lastUnusedOffers"] = []
    return item
