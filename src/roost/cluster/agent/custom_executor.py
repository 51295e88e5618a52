"""Custom executors: processes that speak the v1 executor API back to this agent.

Mirrors Mesos' agent (``Slave::launchExecutor``, ``Slave::subscribe``, ``executorTerminated``,
``registerExecutorTimeout``, ``shutdownExecutor`` in ``src/slave/slave.cpp``):

* the first task for an executor id launches ``ExecutorInfo.command`` in its own container and
  sandbox with the ``MESOS_*`` environment pymesos needs (``docs/executor-http-api.md``);
  tasks wait in ``queued_tasks`` until the executor SUBSCRIBEs, then go out as LAUNCH or
  LAUNCH_GROUP;
* an executor that does not subscribe within ``--executor-registration-timeout`` is destroyed
  and its tasks fail with ``REASON_EXECUTOR_REGISTRATION_TIMEOUT``;
* SHUTDOWN is sent on SHUTDOWN_EXECUTOR/SHUTDOWN_FRAMEWORK and the container destroyed after
  the shutdown grace period; tasks still live then go TASK_LOST;
* when the executor process ends, live tasks fail with ``REASON_EXECUTOR_TERMINATED`` and the
  master gets ``EXECUTOR_EXITED`` with the wait status (Mesos ``ExitedExecutorMessage``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from roost.cluster.agent.containerizer import LaunchSpec, Termination
from roost.cluster.agent.errors import LaunchError
from roost.cluster.agent.sandbox import create_sandbox
from roost.cluster.agent.tasks import (
    Executor,
    ExecutorState,
    Framework,
    Task,
    executor_environment,
    grace_period,
    value_of,
)
from roost.core.ids import new_uuid
from roost.core.logs import kv

if TYPE_CHECKING:
    from roost.cluster.agent.agent import Agent

log = logging.getLogger(__name__)

LIVE = (ExecutorState.REGISTERING, ExecutorState.RUNNING)


def run_tasks(
    agent: Agent, fw: Framework, info: dict[str, Any], infos: list[dict[str, Any]], *, group: bool
) -> None:
    """RUN_TASK / RUN_TASK_GROUP for an executor: launch it if needed, then deliver the tasks."""
    fid = fw.framework_id
    eid = value_of(info.get("executor_id"))
    tasks = [Task(info=t, framework_id=fid, executor_id=eid or "") for t in infos]
    ex = fw.executors.get(eid or "")
    if ex is None:
        ex = Executor(
            framework_id=fid,
            executor_id=eid or "",
            info={**info, "framework_id": {"value": fid}},
            container_id=new_uuid(),
            command_task=False,
        )
        if eid is None:
            ex.executor_id = "invalid"
            ex.state = ExecutorState.TERMINATED
        else:
            fw.executors[ex.executor_id] = ex
            ex.runner = agent.spawn(_run(agent, ex), name=f"executor-{eid}")
    if ex.state not in LIVE or ex.command_task:
        why = "ExecutorInfo has no executor_id" if eid is None else "Executor is terminating"
        for t in tasks:
            ex.tasks[t.task_id] = t  # kept until the TASK_LOST is acknowledged
            reason = "REASON_EXECUTOR_TERMINATED"
            agent.task_update(ex, t, "TASK_LOST", source="SOURCE_AGENT", reason=reason, message=why)
        return
    for t in tasks:
        ex.queued[t.task_id] = t
    ex.pending.append((group, [t.task_id for t in tasks]))
    if ex.stream is not None:
        deliver_queued(ex)


def deliver_queued(ex: Executor) -> None:
    """Send queued tasks to a subscribed executor, as LAUNCH or LAUNCH_GROUP."""
    stream = ex.stream
    if stream is None:
        return
    pending, ex.pending = ex.pending, []
    for group, ids in pending:
        tasks = [ex.queued.pop(i) for i in ids if i in ex.queued]
        for t in tasks:
            ex.tasks[t.task_id] = t
        if not tasks:
            continue
        if group:
            launch = {"task_group": {"tasks": [t.info for t in tasks]}}
            stream.send({"type": "LAUNCH_GROUP", "launch_group": launch})
        else:
            for t in tasks:
                stream.send({"type": "LAUNCH", "launch": {"task": t.info}})


def kill_task(agent: Agent, ex: Executor, task: Task, kill_policy: Any) -> None:
    """A queued task is killed by the agent; a launched one gets KILL at its executor."""
    task.kill_requested = True
    if task.task_id in ex.queued:
        ex.tasks[task.task_id] = ex.queued.pop(task.task_id)
        message = "Task killed before delivery to the executor"
        agent.task_update(ex, task, "TASK_KILLED", source="SOURCE_AGENT", message=message)
        if not any(not t.terminal for t in ex.all_tasks()):
            shutdown(agent, ex)  # Mesos: an executor left without tasks is shut down
        return
    kill: dict[str, Any] = {"task_id": task.info["task_id"]}
    policy = kill_policy if isinstance(kill_policy, dict) else task.info.get("kill_policy")
    if isinstance(policy, dict):
        kill["kill_policy"] = policy
    if ex.stream is not None:
        ex.stream.send({"type": "KILL", "kill": kill})


def shutdown(agent: Agent, ex: Executor) -> None:
    """SHUTDOWN the executor; destroy its container after the shutdown grace period."""
    if ex.state not in LIVE:
        return
    ex.state = ExecutorState.TERMINATING
    if ex.failure is None:
        ex.failure = ("TASK_LOST", "REASON_EXECUTOR_TERMINATED", "Executor was shut down")
    if ex.stream is not None:
        ex.stream.send({"type": "SHUTDOWN"})
    agent.spawn(_destroy_later(agent, ex), name=f"shutdown-{ex.executor_id}")


def shutdown_grace(agent: Agent, ex: Executor) -> float:
    grace = grace_period({"grace_period": ex.info.get("shutdown_grace_period")})
    return agent.config.executor_shutdown_grace_period if grace is None else grace


async def _destroy_later(agent: Agent, ex: Executor) -> None:
    if ex.stream is not None:  # a subscribed executor gets its grace period to exit
        await asyncio.sleep(shutdown_grace(agent, ex))
    if ex.container is not None:
        await ex.container.kill(0.0)


def environment(agent: Agent, ex: Executor) -> dict[str, str]:
    """The executor environment of ``docs/executor-http-api.md``: only what we mean.

    No ``MESOS_CHECKPOINT``: pymesos treats any non-empty value as true, and roost does not
    recover executors across agent restarts.
    """
    grace = shutdown_grace(agent, ex)
    env = executor_environment(
        ex.framework_id,
        ex.executor_id,
        ex.container_id,
        str(ex.directory),
        agent.agent_id or "",
        agent.endpoint,
    )
    env["MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"] = f"{grace:g}secs"
    return env


async def _run(agent: Agent, ex: Executor) -> None:
    term: Termination | None = None
    try:
        ex.directory = create_sandbox(
            agent.config.work_dir, agent.agent_id or "", ex.framework_id, ex.executor_id,
            ex.container_id,
        )  # fmt: skip
        command = ex.info.get("command")
        if not isinstance(command, dict) or not command.get("value"):
            raise LaunchError("ExecutorInfo.command is required (roost has no default executor)")
        resources = ex.resources
        spec = LaunchSpec(
            container_id=ex.container_id,
            sandbox=ex.directory,
            command=command,
            env=environment(agent, ex),
            cpus=resources.scalar("cpus") or None,
            mem_mb=resources.scalar("mem") or None,
        )
        ex.container = await agent.containerizer.launch(spec)
    except (LaunchError, ValueError, OSError) as e:
        message = e.message if isinstance(e, LaunchError) else f"Failed to create sandbox: {e}"
        log.warning("executor launch failed", extra=kv(executor=ex.executor_id, error=message))
        ex.failure = ("TASK_FAILED", "REASON_CONTAINER_LAUNCH_FAILED", message)
    else:
        log.info("executor launched", extra=kv(executor=ex.executor_id, pid=ex.container.pid))
        if ex.state is ExecutorState.TERMINATING:
            agent.spawn(_destroy_later(agent, ex), name=f"shutdown-{ex.executor_id}")
        timer = agent.spawn(_registration_timeout(agent, ex), name=f"register-{ex.executor_id}")
        try:
            term = await ex.container.wait()
        finally:
            timer.cancel()
    finally:
        terminated(agent, ex, term)


async def _registration_timeout(agent: Agent, ex: Executor) -> None:
    await asyncio.sleep(agent.config.executor_registration_timeout)
    if ex.state is ExecutorState.REGISTERING and ex.container is not None:
        log.warning("executor did not subscribe in time", extra=kv(executor=ex.executor_id))
        ex.state = ExecutorState.TERMINATING
        timeout = agent.config.executor_registration_timeout
        message = f"Executor did not register within {timeout:g}secs"
        ex.failure = ("TASK_FAILED", "REASON_EXECUTOR_REGISTRATION_TIMEOUT", message)
        await ex.container.kill(0.0)


def terminated(agent: Agent, ex: Executor, term: Termination | None) -> None:
    """The executor's container is gone: fail its live tasks, tell the master."""
    ex.state = ExecutorState.TERMINATED
    if ex.stream is not None:
        ex.stream.close()
        ex.stream = None
    if agent.closing:
        return
    state, reason, message = ex.failure or (
        "TASK_FAILED",
        "REASON_EXECUTOR_TERMINATED",
        f"Executor terminated: {term.message}" if term else "Executor terminated",
    )
    for task in ex.all_tasks():
        if not task.terminal:
            s = "TASK_KILLED" if task.kill_requested else state
            agent.task_update(ex, task, s, source="SOURCE_AGENT", reason=reason, message=message)
    if agent.link is not None:
        agent.link.send(
            "EXECUTOR_EXITED",
            {
                "framework_id": {"value": ex.framework_id},
                "executor_id": {"value": ex.executor_id},
                "status": wait_status(term),
            },
        )
    agent.maybe_retire(ex)


def wait_status(term: Termination | None) -> int:
    """A ``waitpid`` status as Mesos reports it: ``code << 8`` for exits, the signal number
    for signals; a container that never started counts as exit code 1."""
    if term is None:
        return 1 << 8
    if term.signal is not None:
        return term.signal
    return (term.exit_code or 0) << 8
