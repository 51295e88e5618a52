"""Applying a Mesos ``TaskStatus`` to the orchestrator's instances (Marathon's
``TaskStatusUpdateProcessor``): state, start time and health; terminal instances are expunged,
failures recorded as ``lastTaskFailure`` and counted for the launch delay; updates for tasks
Marathon does not know are answered with a kill, as upstream does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from roost.core.logs import kv
from roost.marathon.instances import Instance

if TYPE_CHECKING:
    from roost.marathon.orchestrator import Orchestrator

log = logging.getLogger(__name__)


def _value(obj: Any) -> str | None:
    if isinstance(obj, dict):
        v = obj.get("value")
        return v if isinstance(v, str) else None
    return None


async def apply_status(orc: Orchestrator, status: dict[str, Any]) -> None:
    from roost.marathon.orchestrator import BACKOFF_FAILURE_STATES, FAILURE_STATES

    task_id = _value(status.get("task_id"))
    state = status.get("state")
    if task_id is None or not isinstance(state, str):
        return
    async with orc.lock:
        inst = orc.state.instances.get(task_id)
        if inst is None:
            await _unknown_task(orc, task_id, state, status)
            return
        changed = inst.state != state
        inst.state = state
        inst.message = str(status.get("message") or "")
        app = orc.state.apps.get(inst.app_id)
        if state == "TASK_RUNNING" and inst.started_at is None:
            inst.started_at = orc.clock.time()
            await orc.track_checks(inst)
        if "healthy" in status and app is not None:
            own = await orc.definitions.of(inst, app) or app
            orc.health.mesos_update(task_id, own, bool(status["healthy"]))
            await _refresh_health(orc, inst)
        if changed or inst.terminal:
            orc.emit.status_update(inst, status)
            orc.emit.instance_changed(inst)
        if inst.terminal:
            await _expunge(orc, inst, state, status, BACKOFF_FAILURE_STATES, FAILURE_STATES)
        elif changed:
            await orc.repo.put_instance(inst)
    orc.poke()


async def _refresh_health(orc: Orchestrator, inst: Instance) -> None:
    healthy = orc.health.healthy(inst.task_id)
    if healthy is not None:
        await orc.health_changed(inst.task_id, healthy)


async def _expunge(
    orc: Orchestrator,
    inst: Instance,
    state: str,
    status: dict[str, Any],
    backoff_states: frozenset[str],
    failure_states: frozenset[str],
) -> None:
    orc.state.remove_instance(inst.task_id)
    orc.health.untrack(inst.task_id)
    orc.readiness.untrack(inst.task_id)
    orc.kills.forget(inst.task_id)
    await orc.repo.delete_instance(inst.task_id)
    app = orc.state.apps.get(inst.app_id)
    if state in failure_states:
        orc.state.last_failure[inst.app_id] = {
            "appId": inst.app_id,
            "host": inst.host,
            "message": inst.message,
            "state": state,
            "taskId": inst.task_id,
            "timestamp": orc.ts(),
            "version": inst.version,
            "slaveId": inst.agent_id,
        }
    if app is not None and not inst.killing and state in backoff_states:
        delay = orc.queue.delay_for(
            app.id, app.backoff_seconds, app.backoff_factor, app.max_launch_delay_seconds
        )
        seconds = delay.on_failure(orc.now())
        log.info("launch delayed", extra=kv(app=app.id, task=inst.task_id, delay=seconds))
        orc.schedule_delay_wakeup(seconds)


async def _unknown_task(
    orc: Orchestrator, task_id: str, state: str, status: dict[str, Any]
) -> None:
    from roost.cluster.protocol import TERMINAL_STATES

    if state in TERMINAL_STATES or orc.cluster is None:
        return
    agent_id = _value(status.get("agent_id"))
    if agent_id is None:
        return
    log.warning("killing a task marathon does not know", extra=kv(task_id=task_id))
    orc.kills.request(task_id, agent_id)  # in the background: never a master call under the lock
