"""The built-in command executor, run inside the agent process.

Behaves like Mesos' ``mesos-executor`` (``src/launcher/executor.cpp``) for tasks with a
``TaskInfo.command``: the executor id is the task id (``Slave::getExecutorInfo``), the agent
sends TASK_STARTING, launches the command in its own container and sandbox, sends
TASK_RUNNING, and on exit TASK_FINISHED (status 0), TASK_FAILED ("Command exited with status
N", ``REASON_COMMAND_EXECUTOR_FAILED``; ``REASON_CONTAINER_LIMITATION_MEMORY`` on OOM) or
TASK_KILLED after a kill (SIGTERM, SIGKILL after the KillPolicy grace period, 3 s by default;
TASK_KILLING first for frameworks with the ``TASK_KILLING_STATE`` capability). A sandbox, fetch
or exec failure is TASK_FAILED with ``REASON_CONTAINER_LAUNCH_FAILED``.

A ``TaskInfo.health_check`` is run by a :class:`~roost.cluster.agent.health.HealthChecker` while
the task runs (``taskHealthUpdated`` in ``src/launcher/executor.cpp``): each health change is a
TASK_RUNNING update with ``healthy`` and ``REASON_TASK_HEALTH_CHECK_STATUS_UPDATED``; when the
checker asks for it the task is killed like a KILL_TASK without a kill policy, and its terminal
TASK_KILLED carries ``healthy: false`` (and, as upstream, no specific reason). COMMAND checks
run in the sandbox with the task's environment and user.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from roost.cluster.agent.containerizer import Container, LaunchSpec, Termination
from roost.cluster.agent.errors import LaunchError
from roost.cluster.agent.health import (
    HealthCheck,
    HealthChecker,
    HealthUpdate,
    InvalidHealthCheck,
    command_environment,
)
from roost.cluster.agent.health_probes import make_probe
from roost.cluster.agent.sandbox import create_sandbox
from roost.cluster.agent.tasks import (
    DEFAULT_KILL_GRACE,
    Executor,
    ExecutorState,
    Framework,
    Task,
    executor_environment,
    grace_period,
)
from roost.core.ids import new_uuid
from roost.core.logs import kv

if TYPE_CHECKING:
    from roost.cluster.agent.agent import Agent

log = logging.getLogger(__name__)


def executor_info(fid: str, task: dict[str, Any]) -> dict[str, Any]:
    """The ExecutorInfo Mesos synthesises for a command task (name and source included)."""
    tid = task["task_id"]["value"]
    command: dict[str, Any] = task["command"] if isinstance(task.get("command"), dict) else {}
    value = str(command.get("value", ""))
    if command.get("shell", True):
        shown = value if len(value) <= 15 else value[:12] + "..."
        what = f"sh -c '{shown}'"
    else:
        args = ", ".join([value, *map(str, command.get("arguments") or [])])
        what = "[" + (args if len(args) <= 15 else args[:12] + "...") + "]"
    return {
        "executor_id": {"value": tid},
        "framework_id": {"value": fid},
        "name": f"Command Executor (Task: {tid}) (Command: {what})",
        "source": tid,
        "command": command,
    }


def launch(agent: Agent, fw: Framework, info: dict[str, Any]) -> None:
    """RUN_TASK of a command task: create its executor and start running it."""
    fid = fw.framework_id
    task = Task(info=info, framework_id=fid, executor_id=info["task_id"]["value"])
    ex = Executor(
        framework_id=fid,
        executor_id=task.task_id,
        info=executor_info(fid, info),
        container_id=new_uuid(),
        command_task=True,
    )
    ex.tasks[task.task_id] = task
    fw.executors[ex.executor_id] = ex
    ex.runner = agent.spawn(_run(agent, fw, ex, task), name=f"command-task-{task.task_id}")


def kill(agent: Agent, ex: Executor, task: Task, kill_policy: Any) -> None:
    """KILL_TASK: the kill policy of the kill wins over the task's, else 3 s."""
    repeated = task.kill_requested
    task.kill_requested = True
    grace = grace_period(kill_policy)
    if grace is None:
        grace = grace_period(task.info.get("kill_policy"))
    task.kill_grace = DEFAULT_KILL_GRACE if grace is None else grace
    fw = agent.frameworks.get(ex.framework_id)
    killing_state = fw is not None and fw.has_capability("TASK_KILLING_STATE")
    if killing_state and not repeated and task.state != "TASK_STAGING":
        agent.task_update(ex, task, "TASK_KILLING")
    ex.state = ExecutorState.TERMINATING
    if ex.container is not None:
        agent.spawn(ex.container.kill(task.kill_grace), name=f"kill-{task.task_id}")


async def _run(agent: Agent, fw: Framework, ex: Executor, task: Task) -> None:
    try:
        if await _launch(agent, ex, task):
            await _wait(agent, ex, task)
    finally:
        ex.state = ExecutorState.TERMINATED
        agent.maybe_retire(ex)


async def _launch(agent: Agent, ex: Executor, task: Task) -> bool:
    """Sandbox, fetch and start the task; ``False`` when it never ran (already reported)."""
    info = task.info
    if task.kill_requested:
        agent.task_update(ex, task, "TASK_KILLED", message="Task killed before it was launched")
        return False
    try:
        ex.directory = create_sandbox(
            agent.config.work_dir, agent.agent_id or "", ex.framework_id, ex.executor_id,
            ex.container_id,
        )  # fmt: skip
    except (ValueError, OSError) as e:
        _launch_failed(agent, ex, task, f"Failed to create sandbox: {e}")
        return False
    agent.task_update(ex, task, "TASK_STARTING")
    resources = task.resources
    spec = LaunchSpec(
        container_id=ex.container_id,
        sandbox=ex.directory,
        command=info["command"] if isinstance(info.get("command"), dict) else {},
        env=_environment(agent, ex, task),
        cpus=resources.scalar("cpus") or None,
        mem_mb=resources.scalar("mem") or None,
    )
    try:
        ex.container = await agent.containerizer.launch(spec)
    except LaunchError as e:
        _launch_failed(agent, ex, task, e.message)
        return False
    if ex.state is ExecutorState.TERMINATING:  # killed while launching
        agent.spawn(ex.container.kill(task.kill_grace or 0.0), name=f"kill-{task.task_id}")
    else:
        ex.state = ExecutorState.RUNNING
        agent.task_update(ex, task, "TASK_RUNNING")
    log.info("task running", extra=kv(task=task.task_id, pid=ex.container.pid))
    return True


async def _wait(agent: Agent, ex: Executor, task: Task) -> None:
    """Health check the running task until it ends, then report how it ended."""
    container = ex.container
    assert container is not None
    checker = _health_checker(agent, ex, task, container)
    checking = agent.spawn(checker.run(), name=f"health-{task.task_id}") if checker else None
    try:
        term = await container.wait()
    finally:
        if checking is not None:
            checking.cancel()
    state, reason, message = _outcome(task, term)
    healthy = False if checker is not None and checker.killed_task else None
    _update(agent, ex, task, state, reason=reason, message=message, healthy=healthy)


def _health_checker(
    agent: Agent, ex: Executor, task: Task, container: Container
) -> HealthChecker | None:
    """The task's checker, made right after the launch as Mesos does (its grace starts now)."""
    spec = task.info.get("health_check")
    if spec is None or task.kill_requested or ex.directory is None:
        return None
    command = task.info.get("command") or {}
    try:
        check = HealthCheck.from_json(spec)
        env = {**os.environ, **_environment(agent, ex, task), **command_environment(command)}
    except (InvalidHealthCheck, ValueError) as e:  # the master validates; Mesos logs and goes on
        log.error("task is not health checked", extra=kv(task=task.task_id, error=str(e)))
        return None
    user = command.get("user") if agent.containerizer.switch_user else None
    output = ex.directory / "stderr"  # Mesos' checks write to the executor's stderr
    probe = make_probe(check, env=env, cwd=ex.directory, user=user and str(user), output=output)
    return HealthChecker(
        check,
        probe,
        lambda update: _health_changed(agent, ex, task, update),
        clock=agent.clock,
        active=lambda: container.running and not task.kill_requested and not task.terminal,
        task_id=task.task_id,
    )


def _health_changed(agent: Agent, ex: Executor, task: Task, update: HealthUpdate) -> None:
    reason = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"
    _update(agent, ex, task, "TASK_RUNNING", reason=reason, healthy=update.healthy)
    if update.kill_task:
        log.warning(
            "killing task after failed health checks",
            extra=kv(task=task.task_id, failures=update.consecutive_failures),
        )
        kill(agent, ex, task, None)


def _update(
    agent: Agent,
    ex: Executor,
    task: Task,
    state: str,
    *,
    reason: str | None = None,
    message: str | None = None,
    healthy: bool | None = None,
) -> None:
    """``Agent.task_update`` with ``TaskStatus.healthy`` when given."""
    agent.task_update(ex, task, state, reason=reason, message=message, healthy=healthy)


def _launch_failed(agent: Agent, ex: Executor, task: Task, message: str) -> None:
    log.warning("task launch failed", extra=kv(task=task.task_id, error=message))
    agent.task_update(
        ex,
        task,
        "TASK_FAILED",
        source="SOURCE_AGENT",
        reason="REASON_CONTAINER_LAUNCH_FAILED",
        message=message,
    )


def _outcome(task: Task, term: Termination) -> tuple[str, str | None, str]:
    if task.kill_requested:
        return "TASK_KILLED", None, term.message
    if term.oom:
        return "TASK_FAILED", "REASON_CONTAINER_LIMITATION_MEMORY", term.message
    if term.exit_code == 0:
        return "TASK_FINISHED", None, term.message
    return "TASK_FAILED", "REASON_COMMAND_EXECUTOR_FAILED", term.message


def _environment(agent: Agent, ex: Executor, task: Task) -> dict[str, str]:
    env = executor_environment(
        ex.framework_id,
        ex.executor_id,
        ex.container_id,
        str(ex.directory),
        agent.agent_id or "",
        agent.endpoint,
    )
    env["MESOS_TASK_ID"] = task.task_id
    return env
