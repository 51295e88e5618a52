"""What a deployment action does next, decided purely from the app's instances.

Actions are *convergent*: each time something changes (an instance starts, becomes healthy,
dies) the orchestrator asks again, so an action picks up where it left off after a restart of
``roost marathon``. ``restart_decision`` follows Marathon's ``TaskReplaceActor`` and
``computeRestartStrategy`` (``docs/docs/deployments.md``, reference §2.6)::

    minHealthy  = ceil(instances * minimumHealthCapacity)
    maxCapacity = floor(instances * (1 + maximumOverCapacity))

old instances are killed only while the healthy count stays at or above ``minHealthy``; new
ones are launched while old + new stays within ``maxCapacity`` (one extra when the two bounds
meet, so the restart can make progress).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from roost.marathon.appdef import AppDefinition
from roost.marathon.instances import Instance


@dataclass
class Decision:
    launch: int = 0
    """Instances to add to the launch queue."""
    unqueue: int = 0
    """Queued (not yet launched) instances to drop."""
    kill: list[str] = field(default_factory=list)
    """Task ids to kill now."""
    done: bool = False


def config_version(app: AppDefinition) -> str:
    """The version a restart compares instances against (``lastConfigChangeAt``)."""
    if app.version_info is not None:
        return app.version_info.last_config_change_at
    return app.version or ""


def is_ready(inst: Instance, app: AppDefinition) -> bool:
    """Healthy (when checked) and ready (when the app has a readiness check)."""
    if not inst.is_healthy(bool(app.health_checks)):
        return False
    return not app.readiness_checks or inst.ready_at_mono is not None


def kill_order(instances: Sequence[Instance], kill_selection: str) -> list[Instance]:
    """Who dies first on scale-down: not-yet-running before running, then by kill selection."""
    youngest_first = kill_selection != "OLDEST_FIRST"
    return sorted(
        instances,
        key=lambda i: (i.running, -i.staged_at if youngest_first else i.staged_at),
    )


def scale_decision(
    app: AppDefinition,
    instances: Sequence[Instance],
    queued: int,
    target: int | None = None,
    *,
    since: float | None = None,
) -> Decision:
    """Converge the app to ``target`` (default ``app.instances``) active instances.

    ``done`` needs every instance staged at or after ``since`` (wall clock; the deployment's
    start) to be healthy and ready: instances that were there before do not hold a scale
    deployment up (upstream waits only for the instances it started)."""
    n = app.instances if target is None else target
    active = [i for i in instances if i.active and not i.killing]
    d = Decision()
    have = len(active) + queued
    if have < n:
        d.launch = n - have
    elif have > n:
        excess = have - n
        d.unqueue = min(queued, excess)
        excess -= d.unqueue
        d.kill = [i.task_id for i in kill_order(active, app.kill_selection)[:excess]]
    settled = not any(i.killing and i.active for i in instances)
    d.done = (
        d.launch == 0
        and not d.kill
        and queued - d.unqueue == 0
        and len(active) == n
        and settled
        and all(is_ready(i, app) for i in active if since is None or i.staged_at >= since)
    )
    return d


def restart_bounds(app: AppDefinition, running: int) -> tuple[int, int]:
    n = app.instances
    strategy = app.upgrade_strategy
    min_healthy = math.ceil(n * strategy.minimum_health_capacity)
    max_capacity = math.floor(n * (1 + strategy.maximum_over_capacity))
    if min_healthy == max_capacity and max_capacity <= running:
        max_capacity += 1  # otherwise nothing could ever be replaced
    return min_healthy, max_capacity


def restart_decision(app: AppDefinition, instances: Sequence[Instance], queued: int) -> Decision:
    """One round of the rolling restart of ``app`` (the target definition)."""
    target = config_version(app)
    active = [i for i in instances if i.active and not i.killing]
    old = [i for i in active if i.config_version != target]
    new = [i for i in active if i.config_version == target]
    n = app.instances
    min_healthy, max_capacity = restart_bounds(app, len(active))
    d = Decision()
    # more new instances than wanted (e.g. after a forced deployment): drop the surplus
    if len(new) + queued > n:
        surplus = len(new) + queued - n
        d.unqueue = min(queued, surplus)
        d.kill += [i.task_id for i in kill_order(new, app.kill_selection)[: surplus - d.unqueue]]
        queued -= d.unqueue
        new = [i for i in new if i.task_id not in d.kill]
    # a running old instance counts unless it is known to be unhealthy: its health may be
    # unknown (checks just added, or marathon just restarted), and upstream counts it too
    old_healthy = [i for i in old if i.running and i.healthy is not False]
    new_ready = [i for i in new if is_ready(i, app)]
    healthy = len(old_healthy) + len(new_ready)
    # old instances that are not healthy do not hold up the floor: replace them first
    for inst in kill_order(old, app.kill_selection):
        counts = inst in old_healthy
        if counts and healthy - 1 < min_healthy:
            continue
        d.kill.append(inst.task_id)
        if counts:
            healthy -= 1
    old_left = len(old) - len([i for i in old if i.task_id in d.kill])
    room = max_capacity - old_left - len(new) - queued
    d.launch = max(0, min(n - len(new) - queued, room))
    old_dying = any(i.killing and i.active and i.config_version != target for i in instances)
    d.done = (
        not old
        and not old_dying
        and not d.kill
        and d.launch == 0
        and queued == 0
        and len(new_ready) == n
    )
    return d
