"""Instances: one launched task of an app, as Marathon tracks it.

An :class:`Instance` is written to the store *before* its task is launched (Marathon's
"provisioned" instance), so a restarted orchestrator knows every task it may have started and
can reconcile it with the master. Terminal instances are expunged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from roost.cluster.protocol import TERMINAL_STATES

ACTIVE_STATES = frozenset({"TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING"})
"""States in which an instance holds resources on an agent (or is about to)."""

#: What Marathon calls the instance "condition" for each Mesos task state (instance_changed_event).
CONDITIONS = {
    "TASK_STAGING": "Staging",
    "TASK_STARTING": "Starting",
    "TASK_RUNNING": "Running",
    "TASK_KILLING": "Killing",
    "TASK_FINISHED": "Finished",
    "TASK_FAILED": "Failed",
    "TASK_KILLED": "Killed",
    "TASK_LOST": "Lost",
    "TASK_ERROR": "Error",
    "TASK_DROPPED": "Dropped",
    "TASK_GONE": "Gone",
    "TASK_GONE_BY_OPERATOR": "Gone",
    "TASK_UNREACHABLE": "Unreachable",
    "TASK_UNKNOWN": "Unknown",
}


@dataclass
class Instance:
    """One task of an app. ``config_version`` is the app's ``lastConfigChangeAt`` at launch:
    a rolling restart replaces instances whose config version is not the target's."""

    task_id: str
    app_id: str
    version: str
    config_version: str
    agent_id: str
    host: str
    host_ports: list[int]
    service_ports: list[int]
    staged_at: float
    state: str = "TASK_STAGING"
    started_at: float | None = None
    killing: bool = False
    """We asked the master to kill it (scale down, restart, unhealthy, delete)."""
    healthy: bool | None = None
    """Overall health from the health monitor; ``None`` when the app has no checks."""
    message: str = ""
    ready_at_mono: float | None = field(default=None, compare=False)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def running(self) -> bool:
        return self.state == "TASK_RUNNING"

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    def is_healthy(self, has_checks: bool) -> bool:
        """Counts toward a deployment's healthy capacity: running, and healthy when checked."""
        if not self.running or self.killing:
            return False
        return self.healthy is True if has_checks else True

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record.pop("ready_at_mono", None)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Instance:
        known = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        known.pop("ready_at_mono", None)
        return cls(**known)


def task_json(
    inst: Instance, fmt_ts: Callable[[float], str], health_results: list[dict[str, Any]]
) -> dict[str, Any]:
    """Marathon's Task JSON (``types/task.raml``), only keys the ``marathon`` client accepts."""
    body: dict[str, Any] = {
        "id": inst.task_id,
        "appId": inst.app_id,
        "host": inst.host,
        "ports": list(inst.host_ports),
        # never shorter than ports: marathon-python's list_endpoints zips the two
        "servicePorts": _service_ports(inst),
        "slaveId": inst.agent_id,
        "stagedAt": fmt_ts(inst.staged_at),
        "startedAt": fmt_ts(inst.started_at) if inst.started_at is not None else None,
        "version": inst.version,
        "state": inst.state,
        "ipAddresses": [{"ipAddress": inst.host, "protocol": "IPv4"}] if inst.host else [],
        "localVolumes": [],
        "role": "*",
    }
    if health_results:
        body["healthCheckResults"] = health_results
    return body


def _service_ports(inst: Instance) -> list[int]:
    ports = list(inst.service_ports)
    if len(ports) < len(inst.host_ports):
        ports.extend(inst.host_ports[len(ports) :])
    return ports
