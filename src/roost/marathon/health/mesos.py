"""Mesos-level checks: the ``TaskInfo.health_check`` Marathon sends with a task.

Mirrors ``MesosCommandHealthCheck``, ``MesosHttpHealthCheck`` and ``MesosTcpHealthCheck``
``.toMesos`` (``core/health/HealthCheck.scala``): the agent runs the check and reports
``TaskStatus.healthy``; Marathon only translates the definition. The output is the Mesos v1
JSON ``HealthCheck`` (``include/mesos/v1/mesos.proto``), with seconds as doubles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from roost.marathon.health.checks import effective_port, is_mesos_level, protocol_of

if TYPE_CHECKING:
    from roost.marathon.appdef import AppDefinition, HealthCheckDef


def mesos_health_check(app: AppDefinition, host_ports: Sequence[int]) -> dict[str, Any] | None:
    """``TaskInfo.health_check`` for the app's COMMAND/MESOS_* check; ``None`` when there is none.

    Marathon allows at most one Mesos-level check per app (validation); the first one wins
    here. ``port`` wins over ``portIndex``, which picks one of the task's ``host_ports``.
    An HTTP/TCP check whose port cannot be resolved yields ``None``, as upstream's
    ``toMesos`` does. ``maxConsecutiveFailures`` passes through unchanged, 0 included (Mesos
    then kills on the first counted failure, unlike Marathon-level checks).
    """
    check = next((c for c in app.health_checks if is_mesos_level(c)), None)
    if check is None:
        return None
    protocol = protocol_of(check)
    health: dict[str, Any]
    if protocol == "COMMAND":
        health = {"type": "COMMAND", "command": {"value": _command_value(check), "shell": True}}
    else:
        port = effective_port(check, host_ports)
        if port is None:
            return None
        endpoint: dict[str, Any] = {"port": port}
        if check.ip_protocol == "IPv6":  # the agent then checks ::1 instead of 127.0.0.1
            endpoint["protocol"] = "IPv6"
        if protocol == "MESOS_TCP":
            health = {"type": "TCP", "tcp": endpoint}
        else:
            endpoint["scheme"] = "https" if protocol == "MESOS_HTTPS" else "http"
            if check.path:
                # Mesos rejects a path without the leading "/" (TASK_ERROR); Marathon's own
                # HTTP probe adds it, so do the same rather than launch a doomed task.
                path = check.path
                endpoint["path"] = path if path.startswith("/") else "/" + path
            health = {"type": "HTTP", "http": endpoint}
    health.update(
        delay_seconds=float(check.delay_seconds),
        interval_seconds=float(check.interval_seconds),
        timeout_seconds=float(check.timeout_seconds),
        consecutive_failures=check.max_consecutive_failures,
        grace_period_seconds=float(check.grace_period_seconds),
    )
    return health


def _command_value(check: HealthCheckDef) -> str:
    value = (check.command or {}).get("value")
    if not isinstance(value, str) or not value:
        # App validation rejects this; reaching here is a bug in the caller.
        raise ValueError("a COMMAND health check needs command.value")
    return value
