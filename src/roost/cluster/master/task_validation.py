"""Semantic validation of TaskInfo in an ACCEPT (``src/master/validation.cpp`` in spirit).

Problems found here are not HTTP errors: the master answers 202 and sends TASK_ERROR with
REASON_TASK_INVALID and the message returned here.
"""

from __future__ import annotations

from typing import Any

from roost.cluster.agent.health import HealthCheck, InvalidHealthCheck
from roost.cluster.protocol import id_value
from roost.core.ids import is_safe_id
from roost.core.resources import ResourceError, Resources


class TaskInvalid(Exception):
    pass


def task_resources(task: dict[str, Any]) -> Resources:
    try:
        res = Resources.from_json(task.get("resources", []))
    except ResourceError as e:
        raise TaskInvalid(f"Task uses invalid resources: {e}") from None
    return res


def validate_task(task: Any, agent_id: str, known_task_ids: set[str]) -> tuple[str, Resources]:
    """Returns ``(task_id, resources)``; raises :class:`TaskInvalid` with Mesos-like text."""
    if not isinstance(task, dict):
        raise TaskInvalid("TaskInfo must be an object")
    task_id = id_value(task.get("task_id"))
    if task_id is None:
        raise TaskInvalid("TaskInfo.task_id is required")
    if not is_safe_id(task_id):
        raise TaskInvalid(f"Task ID '{task_id[:64]}' contains invalid characters or is too long")
    if task_id in known_task_ids:
        raise TaskInvalid(f"Task has duplicate ID: {task_id}")
    if not isinstance(task.get("name"), str):
        raise TaskInvalid("TaskInfo.name must be a string")
    tid_agent = id_value(task.get("agent_id") or task.get("slave_id"))
    if tid_agent is not None and tid_agent != agent_id:
        raise TaskInvalid(f"Task uses agent {tid_agent} but the offer is for agent {agent_id}")
    has_cmd = "command" in task and task["command"] is not None
    has_exec = "executor" in task and task["executor"] is not None
    if has_cmd == has_exec:
        raise TaskInvalid(
            "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
        )
    if has_cmd:
        validate_command(task["command"], "Task")
    if has_exec:
        validate_executor(task["executor"])
    validate_health_check(task.get("health_check"))
    resources = task_resources(task)
    if resources.is_empty():
        raise TaskInvalid("Task uses no resources")
    return task_id, resources


def validate_health_check(check: Any) -> None:
    """``validateHealthCheck``: the agent's health checker parses what is accepted here."""
    if check is None:
        return
    try:
        HealthCheck.from_json(check)
    except InvalidHealthCheck as e:
        raise TaskInvalid(f"Task uses invalid health check: {e.message}") from None


def validate_command(cmd: Any, what: str) -> None:
    if not isinstance(cmd, dict):
        raise TaskInvalid(f"{what} CommandInfo must be an object")
    shell = cmd.get("shell", True)
    if not isinstance(shell, bool):
        raise TaskInvalid(f"{what} CommandInfo.shell must be a boolean")
    value = cmd.get("value")
    if shell and not isinstance(value, str):
        raise TaskInvalid(f"{what} CommandInfo.value is required when shell is true")
    if value is not None and not isinstance(value, str):
        raise TaskInvalid(f"{what} CommandInfo.value must be a string")
    args = cmd.get("arguments", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise TaskInvalid(f"{what} CommandInfo.arguments must be a list of strings")
    env = cmd.get("environment")
    if env is not None:
        variables = env.get("variables", []) if isinstance(env, dict) else None
        if not isinstance(variables, list) or not all(
            isinstance(v, dict) and isinstance(v.get("name"), str) for v in variables
        ):
            raise TaskInvalid(
                f"{what} CommandInfo.environment.variables must be a list of {{name, value}}"
            )
    uris = cmd.get("uris", [])
    if not isinstance(uris, list) or not all(
        isinstance(u, dict) and isinstance(u.get("value"), str) for u in uris
    ):
        raise TaskInvalid(f"{what} CommandInfo.uris must be a list of {{value: ...}}")


def validate_executor(ex: Any) -> str:
    if not isinstance(ex, dict):
        raise TaskInvalid("ExecutorInfo must be an object")
    eid = id_value(ex.get("executor_id"))
    if eid is None:
        raise TaskInvalid("ExecutorInfo.executor_id is required")
    if not is_safe_id(eid):
        raise TaskInvalid(f"Executor ID '{eid[:64]}' contains invalid characters")
    if ex.get("type", "CUSTOM") not in ("CUSTOM", "DEFAULT"):
        raise TaskInvalid("ExecutorInfo.type must be CUSTOM or DEFAULT")
    if ex.get("type", "CUSTOM") == "CUSTOM" or "command" in ex:
        validate_command(ex.get("command"), "Executor")
    try:
        Resources.from_json(ex.get("resources", []))
    except ResourceError as e:
        raise TaskInvalid(f"Executor uses invalid resources: {e}") from None
    return eid
