"""The agent's bookkeeping: frameworks, executors and tasks, and the TaskStatus builder.

Shapes follow Mesos' agent (``src/slave/slave.hpp``: ``Framework``, ``Executor``): a task is
*queued* until its executor subscribes, *launched* once handed to it, and *completed* when its
terminal update has been acknowledged. The built-in command executor is an ``Executor`` whose
id equals its single task's id (``Slave::getExecutorInfo``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roost.cluster.agent.status_updates import TERMINAL_STATES
from roost.core.ids import new_status_uuid
from roost.core.resources import ResourceError, Resources

if TYPE_CHECKING:
    from roost.cluster.agent.containerizer import Container

#: Kill grace period of the command executor when the KillPolicy gives none (Mesos: 3 s).
DEFAULT_KILL_GRACE = 3.0


def value_of(obj: Any) -> str | None:
    """``{"value": "x"}`` -> ``"x"``; anything else -> ``None``."""
    if isinstance(obj, dict) and isinstance(obj.get("value"), str) and obj["value"]:
        return str(obj["value"])
    return None


def grace_period(kill_policy: Any) -> float | None:
    """Seconds from ``KillPolicy.grace_period.nanoseconds``; ``None`` when absent or bad."""
    if not isinstance(kill_policy, dict):
        return None
    gp = kill_policy.get("grace_period")
    ns = gp.get("nanoseconds") if isinstance(gp, dict) else None
    if isinstance(ns, bool) or not isinstance(ns, int | float | str):
        return None
    try:
        seconds = float(ns) / 1e9
    except ValueError:
        return None
    return seconds if 0 <= seconds < 86400 * 365 else None


def resources_of(items: Any) -> Resources:
    try:
        return Resources.from_json(items if items is not None else [])
    except ResourceError:
        return Resources()


class ExecutorState(Enum):
    REGISTERING = "REGISTERING"  # launched (or launching), not subscribed yet
    RUNNING = "RUNNING"  # subscribed (custom) or process started (command)
    TERMINATING = "TERMINATING"  # shutdown or kill requested
    TERMINATED = "TERMINATED"  # the container is gone


@dataclass
class Task:
    info: dict[str, Any]
    framework_id: str
    executor_id: str
    state: str = "TASK_STAGING"
    statuses: list[dict[str, Any]] = field(default_factory=list)
    latest: dict[str, Any] | None = None
    kill_requested: bool = False
    kill_grace: float | None = None

    @property
    def task_id(self) -> str:
        return str(self.info["task_id"]["value"])

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def resources(self) -> Resources:
        return resources_of(self.info.get("resources"))


@dataclass
class Executor:
    framework_id: str
    executor_id: str
    info: dict[str, Any]
    container_id: str
    command_task: bool
    directory: Path | None = None
    container: Container | None = None
    state: ExecutorState = ExecutorState.REGISTERING
    tasks: dict[str, Task] = field(default_factory=dict)
    queued: dict[str, Task] = field(default_factory=dict)
    completed: deque[Task] = field(default_factory=deque)
    #: launches waiting for the executor to subscribe: ``(is_group, task ids)``
    pending: list[tuple[bool, list[str]]] = field(default_factory=list)
    #: ``(state, reason, message)`` for tasks still live when the executor ends
    failure: tuple[str, str, str] | None = None
    #: the executor's event stream (custom executors, once subscribed)
    stream: ExecutorStream | None = None
    runner: asyncio.Task[None] | None = None

    def all_tasks(self) -> list[Task]:
        return [*self.queued.values(), *self.tasks.values()]

    def find(self, task_id: str) -> Task | None:
        return self.tasks.get(task_id) or self.queued.get(task_id)

    @property
    def resources(self) -> Resources:
        total = resources_of(self.info.get("resources"))
        for t in self.all_tasks():
            if not t.terminal:
                total = total + t.resources
        return total


class ExecutorStream:
    """Events waiting to go down one subscribed executor's connection; ``None`` ends it."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.closed = False

    def send(self, event: dict[str, Any]) -> None:
        if not self.closed:
            self._queue.put_nowait(event)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)

    async def next(self) -> dict[str, Any] | None:
        """The next event; ``None`` once the stream is closed."""
        return await self._queue.get()


@dataclass
class Framework:
    info: dict[str, Any]
    executors: dict[str, Executor] = field(default_factory=dict)
    completed_executors: deque[Executor] = field(default_factory=deque)
    shutting_down: bool = False

    @property
    def framework_id(self) -> str:
        return str(self.info["id"]["value"])

    def has_capability(self, name: str) -> bool:
        caps = self.info.get("capabilities")
        return isinstance(caps, list) and any(
            isinstance(c, dict) and c.get("type") == name for c in caps
        )


def make_status(
    *,
    task_id: str,
    state: str,
    agent_id: str,
    executor_id: str,
    container_id: str | None,
    timestamp: float,
    source: str = "SOURCE_EXECUTOR",
    message: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """A Mesos ``TaskStatus`` as the agent creates it (``protobuf::createTaskStatus``)."""
    status: dict[str, Any] = {
        "task_id": {"value": task_id},
        "state": state,
        "source": source,
        "agent_id": {"value": agent_id},
        "executor_id": {"value": executor_id},
        "timestamp": timestamp,
        "uuid": new_status_uuid(),
    }
    if message:
        status["message"] = message
    if reason:
        status["reason"] = reason
    if container_id:
        status["container_status"] = {"container_id": {"value": container_id}}
    return status


def executor_environment(
    framework_id: str,
    executor_id: str,
    container_id: str,
    directory: str,
    agent_id: str,
    endpoint: str,
) -> dict[str, str]:
    """The ``MESOS_*`` variables every executor gets (``docs/executor-http-api.md``)."""
    return {
        "MESOS_FRAMEWORK_ID": framework_id,
        "MESOS_EXECUTOR_ID": executor_id,
        "MESOS_AGENT_ID": agent_id,
        "MESOS_SLAVE_ID": agent_id,
        "MESOS_CONTAINER_ID": container_id,
        "MESOS_DIRECTORY": directory,
        "MESOS_SANDBOX": directory,
        "MESOS_AGENT_ENDPOINT": endpoint,
    }
