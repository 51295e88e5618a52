"""What kind of health check a definition is, and which port it points at.

Marathon splits its protocols in two (``docs/docs/health-checks.md``): ``HTTP``, ``HTTPS``
and ``TCP`` are probed by the Marathon process itself; ``COMMAND``, ``MESOS_HTTP``,
``MESOS_HTTPS`` and ``MESOS_TCP`` travel to the agent inside ``TaskInfo.health_check`` and
come back as ``TaskStatus.healthy``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roost.marathon.appdef import HealthCheckDef

MARATHON_PROTOCOLS = frozenset({"HTTP", "HTTPS", "TCP"})
"""Checks the Marathon process runs against the task's host and port."""

MESOS_PROTOCOLS = frozenset({"COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"})
"""Checks the agent runs; Marathon only reads the results from status updates."""


def protocol_of(check: HealthCheckDef) -> str:
    """The check's protocol, upper-cased (the app model already normalizes it; be lenient)."""
    return check.protocol.upper()


def is_marathon_level(check: HealthCheckDef) -> bool:
    return protocol_of(check) in MARATHON_PROTOCOLS


def is_mesos_level(check: HealthCheckDef) -> bool:
    return protocol_of(check) in MESOS_PROTOCOLS


def effective_port(check: HealthCheckDef, host_ports: Sequence[int]) -> int | None:
    """``port`` wins over ``portIndex``; ``None`` when the index addresses no port.

    Mirrors ``MarathonHealthCheck.effectivePort`` and ``MesosHealthCheckWithPorts``
    (``core/health/HealthCheck.scala``): with host networking the index picks one of the
    task's assigned host ports.
    """
    if check.port is not None:
        return check.port
    index = check.port_index
    if index is None or not 0 <= index < len(host_ports):
        return None
    return host_ports[index]
