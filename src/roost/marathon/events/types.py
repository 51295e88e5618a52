"""Marathon event payloads: one constructor per event type roost emits, in upstream shapes.

Shapes follow Marathon's ``core/event/Events.scala`` and ``docs/docs/event-bus.md``; field names
are camelCase, every payload carries ``eventType`` and ``timestamp`` (already formatted by the
caller as ``YYYY-MM-DDTHH:MM:SS.mmmZ``). The compatibility target is the ``marathon`` PyPI
client 0.13.0 (``marathon/models/events.py``): its ``EventFactory`` raises on any ``eventType``
it does not know, and it parses ``plan`` with ``MarathonDeploymentPlan``, whose constructor
needs ``original`` and ``target`` dicts holding only the group keys listed in
:data:`GROUP_KEYS`. :func:`normalize_plan` guarantees both, so every deployment event parses.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any

Event = dict[str, Any]

#: Every type the client's ``EventFactory.event_to_class`` knows. Marathon's
#: ``scheduler_*_event`` types are left out on purpose: the client raises on them.
KNOWN_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "api_post_event",
        "status_update_event",
        "framework_message_event",
        "subscribe_event",
        "unsubscribe_event",
        "add_health_check_event",
        "remove_health_check_event",
        "failed_health_check_event",
        "health_status_changed_event",
        "unhealthy_task_kill_event",
        "group_change_success",
        "group_change_failed",
        "deployment_success",
        "deployment_failed",
        "deployment_info",
        "deployment_step_success",
        "deployment_step_failure",
        "event_stream_attached",
        "event_stream_detached",
        "app_terminated_event",
        "instance_changed_event",
        "unknown_instance_terminated_event",
        "unhealthy_instance_kill_event",
        "instance_health_changed_event",
        "pod_created_event",
        "pod_updated_event",
        "pod_deleted_event",
    }
)

#: The deployment events whose ``plan`` the client parses (and so needs ``original``/``target``).
PLAN_PARSED_TYPES: frozenset[str] = frozenset(
    {"deployment_info", "deployment_step_success", "deployment_step_failure"}
)
#: The deployment events ``?plan-format=light`` slims (see ``roost.marathon.events.sse``).
LIGHT_PLAN_TYPES: frozenset[str] = frozenset({"deployment_success", "deployment_failed"})

#: Keys of a group inside ``plan.original``/``plan.target`` the client's state models accept.
GROUP_KEYS: tuple[str, ...] = ("id", "apps", "groups", "pods", "dependencies", "version")
#: Keys of a deployment action the client's ``MarathonDeploymentAction`` accepts.
ACTION_KEYS: tuple[str, ...] = ("action", "app", "apps", "type", "readinessCheckResults", "pod")

# The two formats the client's ``to_datetime`` accepts; Marathon writes milliseconds.
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


def _event(event_type: str, timestamp: str, **fields: Any) -> Event:
    if not _TIMESTAMP.match(timestamp):
        raise ValueError(f"timestamp {timestamp!r} is not in the form YYYY-MM-DDTHH:MM:SS.mmmZ")
    return {"eventType": event_type, "timestamp": timestamp, **fields}


def empty_root_group(version: str) -> dict[str, Any]:
    """The root group with nothing in it: the stand-in for a missing ``original``/``target``."""
    return {"id": "/", "apps": [], "groups": [], "pods": [], "dependencies": [], "version": version}


def _group(raw: Any, version: str) -> dict[str, Any]:
    group = empty_root_group(version)
    if isinstance(raw, Mapping):
        # Keys such as ``enforceRole`` would crash the client's state constructor.
        group.update({k: raw[k] for k in GROUP_KEYS if raw.get(k) is not None})
    return group


def _step(raw: Any) -> dict[str, Any]:
    actions = raw.get("actions", []) if isinstance(raw, Mapping) else []
    return {"actions": [{k: a[k] for k in ACTION_KEYS if k in a} for a in actions]}


def normalize_plan(plan: Mapping[str, Any], timestamp: str) -> dict[str, Any]:
    """A deployment plan the client can parse: ``id``, ``version``, ``steps``, ``original``, ``target``.

    Missing ``original``/``target`` become :func:`empty_root_group` at ``timestamp``; groups
    and actions keep only the keys the client's models accept; ``steps`` is always a list.
    """
    version = plan.get("version") or timestamp
    return {
        "id": plan.get("id"),
        "version": version,
        "steps": [_step(s) for s in plan.get("steps") or []],
        "original": _group(plan.get("original"), timestamp),
        "target": _group(plan.get("target"), timestamp),
    }


def api_post_event(
    *, timestamp: str, client_ip: str, uri: str, app_definition: Mapping[str, Any]
) -> Event:
    """An API request changed an app (``ApiPostEvent``); ``app_definition`` is the app JSON."""
    return _event(
        "api_post_event",
        timestamp,
        clientIp=client_ip,
        uri=uri,
        appDefinition=dict(app_definition),
    )


def status_update_event(
    *,
    timestamp: str,
    slave_id: str,
    task_id: str,
    task_status: str,
    app_id: str,
    host: str,
    ports: Sequence[int],
    version: str,
    message: str = "",
    ip_addresses: Sequence[Mapping[str, str]] = (),
) -> Event:
    """A task changed state (``MesosStatusUpdateEvent``); ``task_status`` is ``TASK_*``.

    ``ip_addresses`` entries are ``{"ipAddress", "protocol"}`` (the only keys the client's
    ``MarathonIpAddress`` accepts; ``protocol`` defaults to ``IPv4``).
    """
    return _event(
        "status_update_event",
        timestamp,
        slaveId=slave_id,
        taskId=task_id,
        taskStatus=task_status,
        message=message,
        appId=app_id,
        host=host,
        ipAddresses=[
            {"ipAddress": ip["ipAddress"], "protocol": ip.get("protocol", "IPv4")}
            for ip in ip_addresses
        ],
        ports=list(ports),
        version=version,
    )


def instance_changed_event(
    *,
    timestamp: str,
    instance_id: str,
    condition: str,
    run_spec_id: str,
    agent_id: str,
    host: str,
    run_spec_version: str,
) -> Event:
    """An instance changed condition (``InstanceChanged``): ``Running``, ``Failed``, ..."""
    return _event(
        "instance_changed_event",
        timestamp,
        instanceId=instance_id,
        condition=condition,
        runSpecId=run_spec_id,
        agentId=agent_id,
        host=host,
        runSpecVersion=run_spec_version,
    )


def instance_health_changed_event(
    *,
    timestamp: str,
    instance_id: str,
    run_spec_id: str,
    run_spec_version: str,
    healthy: bool | None,
) -> Event:
    """An instance's aggregate health changed (``InstanceHealthChanged``); ``None`` = unknown."""
    return _event(
        "instance_health_changed_event",
        timestamp,
        instanceId=instance_id,
        runSpecId=run_spec_id,
        runSpecVersion=run_spec_version,
        healthy=healthy,
    )


def health_status_changed_event(
    *, timestamp: str, app_id: str, instance_id: str, version: str, alive: bool
) -> Event:
    """One instance's health check result flipped (``HealthStatusChanged``)."""
    return _event(
        "health_status_changed_event",
        timestamp,
        appId=app_id,
        instanceId=instance_id,
        version=version,
        alive=alive,
    )


def unhealthy_task_kill_event(
    *,
    timestamp: str,
    app_id: str,
    task_id: str,
    instance_id: str,
    version: str,
    reason: str,
    host: str,
    slave_id: str | None,
) -> Event:
    """A task was killed for failing its health checks (``UnhealthyTaskKillEvent``)."""
    return _event(
        "unhealthy_task_kill_event",
        timestamp,
        appId=app_id,
        taskId=task_id,
        instanceId=instance_id,
        version=version,
        reason=reason,
        host=host,
        slaveId=slave_id,
    )


def failed_health_check_event(
    *,
    timestamp: str,
    app_id: str,
    instance_id: str,
    health_check: Mapping[str, Any],
    task_id: str | None = None,
) -> Event:
    """A health check failed for an instance (``FailedHealthCheck``); ``taskId`` only if given."""
    extra = {} if task_id is None else {"taskId": task_id}
    return _event(
        "failed_health_check_event",
        timestamp,
        appId=app_id,
        instanceId=instance_id,
        healthCheck=dict(health_check),
        **extra,
    )


def add_health_check_event(
    *, timestamp: str, app_id: str, version: str, health_check: Mapping[str, Any]
) -> Event:
    """A health check started for an app version (``AddHealthCheck``)."""
    return _event(
        "add_health_check_event",
        timestamp,
        appId=app_id,
        version=version,
        healthCheck=dict(health_check),
    )


def remove_health_check_event(
    *, timestamp: str, app_id: str, health_check: Mapping[str, Any] | None = None
) -> Event:
    """A health check stopped (``RemoveHealthCheck``: upstream sends only ``appId``)."""
    extra = {} if health_check is None else {"healthCheck": dict(health_check)}
    return _event("remove_health_check_event", timestamp, appId=app_id, **extra)


def app_terminated_event(*, timestamp: str, app_id: str) -> Event:
    """An app was deleted and all its tasks are gone (``AppTerminatedEvent``)."""
    return _event("app_terminated_event", timestamp, appId=app_id)


def deployment_info(
    *, timestamp: str, plan: Mapping[str, Any], current_step: Mapping[str, Any]
) -> Event:
    """A deployment started a step (``DeploymentStatus``); ``plan`` is normalized."""
    return _event(
        "deployment_info",
        timestamp,
        plan=normalize_plan(plan, timestamp),
        currentStep=_step(current_step),
    )


def deployment_step_success(
    *, timestamp: str, plan: Mapping[str, Any], current_step: Mapping[str, Any]
) -> Event:
    """A deployment step finished (``DeploymentStepSuccess``)."""
    return _event(
        "deployment_step_success",
        timestamp,
        plan=normalize_plan(plan, timestamp),
        currentStep=_step(current_step),
    )


def deployment_step_failure(
    *, timestamp: str, plan: Mapping[str, Any], current_step: Mapping[str, Any]
) -> Event:
    """A deployment step failed (``DeploymentStepFailure``)."""
    return _event(
        "deployment_step_failure",
        timestamp,
        plan=normalize_plan(plan, timestamp),
        currentStep=_step(current_step),
    )


def deployment_success(*, timestamp: str, plan: Mapping[str, Any]) -> Event:
    """A deployment finished (``DeploymentSuccess``): ``id`` is the plan's id."""
    full = normalize_plan(plan, timestamp)
    return _event("deployment_success", timestamp, id=full["id"], plan=full)


def deployment_failed(
    *, timestamp: str, plan: Mapping[str, Any], reason: str | None = None
) -> Event:
    """A deployment failed or was cancelled (``DeploymentFailed``, ``reason`` since 1.6)."""
    full = normalize_plan(plan, timestamp)
    extra = {} if reason is None else {"reason": reason}
    return _event("deployment_failed", timestamp, id=full["id"], plan=full, **extra)


def group_change_success(*, timestamp: str, group_id: str, version: str) -> Event:
    """A group change was applied (``GroupChangeSuccess``)."""
    return _event("group_change_success", timestamp, groupId=group_id, version=version)


def group_change_failed(*, timestamp: str, group_id: str, version: str, reason: str) -> Event:
    """A group change failed (``GroupChangeFailed``)."""
    return _event(
        "group_change_failed", timestamp, groupId=group_id, version=version, reason=reason
    )


def event_stream_attached(*, timestamp: str, remote_address: str) -> Event:
    """An SSE client connected to ``/v2/events`` (``EventStreamAttached``)."""
    return _event("event_stream_attached", timestamp, remoteAddress=remote_address)


def event_stream_detached(*, timestamp: str, remote_address: str) -> Event:
    """An SSE client went away or was dropped (``EventStreamDetached``)."""
    return _event("event_stream_detached", timestamp, remoteAddress=remote_address)


def framework_message_event(
    *, timestamp: str, slave_id: str, executor_id: str, message: bytes
) -> Event:
    """An executor sent a framework message (``MesosFrameworkMessageEvent``), base64 encoded."""
    return _event(
        "framework_message_event",
        timestamp,
        slaveId=slave_id,
        executorId=executor_id,
        message=base64.b64encode(message).decode("ascii"),
    )
