"""What the agent does with each master event of ``docs/agent-protocol.md``.

The handlers mirror ``Slave::run``, ``Slave::runTaskGroup``, ``Slave::killTask``,
``Slave::statusUpdateAcknowledgement``, ``Slave::shutdownFramework``,
``Slave::shutdownExecutor`` and ``Slave::schedulerMessage`` (``src/slave/slave.cpp``).
Malformed events are logged and dropped: a master bug must not take an agent down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from roost.cluster.agent import command_executor, custom_executor
from roost.cluster.agent.tasks import Framework, make_status, value_of
from roost.core.logs import kv

if TYPE_CHECKING:
    from roost.cluster.agent.agent import Agent

log = logging.getLogger(__name__)


def dispatch(agent: Agent, event: dict[str, Any]) -> None:
    etype = str(event.get("type"))
    body = event.get(etype.lower())
    handler = HANDLERS.get(etype)
    if handler is None:
        log.warning("ignoring unknown master event", extra=kv(type=etype))
    elif not isinstance(body, dict):
        log.warning("ignoring master event without its body", extra=kv(type=etype))
    else:
        handler(agent, body)


def _framework(agent: Agent, info: Any) -> Framework | None:
    fid = value_of(info.get("id")) if isinstance(info, dict) else None
    if fid is None:
        return None
    fw = agent.frameworks.get(fid)
    if fw is None:
        fw = agent.frameworks[fid] = Framework(info=info)
    else:
        fw.info = info
    return fw


def run_task(agent: Agent, body: dict[str, Any]) -> None:
    """``task.command`` goes to the built-in command executor, ``task.executor`` to its own."""
    fw, task = _framework(agent, body.get("framework_info")), body.get("task")
    if fw is None or not isinstance(task, dict) or value_of(task.get("task_id")) is None:
        log.warning("ignoring RUN_TASK without framework id or task id")
        return
    if _known(fw, task):
        return
    if isinstance(task.get("executor"), dict) and "command" not in task:
        custom_executor.run_tasks(agent, fw, task["executor"], [task], group=False)
    else:
        command_executor.launch(agent, fw, task)


def run_task_group(agent: Agent, body: dict[str, Any]) -> None:
    fw, executor = _framework(agent, body.get("framework_info")), body.get("executor")
    group = body.get("task_group")
    tasks = group.get("tasks") if isinstance(group, dict) else None
    if fw is None or not isinstance(executor, dict) or not isinstance(tasks, list):
        log.warning("ignoring malformed RUN_TASK_GROUP")
        return
    tasks = [t for t in tasks if isinstance(t, dict) and value_of(t.get("task_id"))]
    if tasks and not any(_known(fw, t) for t in tasks):
        custom_executor.run_tasks(agent, fw, executor, tasks, group=True)


def _known(fw: Framework, task: dict[str, Any]) -> bool:
    tid = value_of(task.get("task_id")) or ""
    if any(ex.find(tid) is not None for ex in fw.executors.values()):
        log.warning("ignoring duplicate task", extra=kv(task=tid))
        return True
    return False


def kill_task(agent: Agent, body: dict[str, Any]) -> None:
    """Kill a task; a task the agent never heard of is reported TASK_LOST."""
    fid, tid = value_of(body.get("framework_id")), value_of(body.get("task_id"))
    found = agent.find_task(fid, tid)
    if found is None:
        if fid and tid and not _completed(agent, fid, tid):
            _lost_unknown(agent, fid, tid)
        return
    ex, task = found
    if task.terminal:
        return  # a repeated KILL is forwarded again, as Mesos does: the first may be lost
    if ex.command_task:
        command_executor.kill(agent, ex, task, body.get("kill_policy"))
    else:
        custom_executor.kill_task(agent, ex, task, body.get("kill_policy"))


def _completed(agent: Agent, fid: str, tid: str) -> bool:
    fw = agent.frameworks.get(fid)
    return fw is not None and any(
        t.task_id == tid
        for ex in [*fw.executors.values(), *fw.completed_executors]
        for t in ex.completed
    )


def _lost_unknown(agent: Agent, fid: str, tid: str) -> None:
    status = make_status(
        task_id=tid,
        state="TASK_LOST",
        agent_id=agent.agent_id or "",
        executor_id="",
        container_id=None,
        timestamp=agent.clock.time(),
        source="SOURCE_AGENT",
        message="Task unknown to the agent",
        reason="REASON_TASK_UNKNOWN",
    )
    del status["executor_id"]
    agent.record_update(fid, status)


def acknowledge(agent: Agent, body: dict[str, Any]) -> None:
    fid, tid = value_of(body.get("framework_id")), value_of(body.get("task_id"))
    uuid = body.get("uuid")
    if fid is None or tid is None or not isinstance(uuid, str):
        log.warning("ignoring malformed ACKNOWLEDGE")
        return
    agent.acknowledge(fid, tid, uuid)


def shutdown_framework(agent: Agent, body: dict[str, Any]) -> None:
    fw = agent.frameworks.get(value_of(body.get("framework_id")) or "")
    if fw is None:
        return
    fw.shutting_down = True
    for ex in list(fw.executors.values()):
        agent.shutdown_executor(ex)
        agent.maybe_retire(ex)


def shutdown_executor(agent: Agent, body: dict[str, Any]) -> None:
    fw = agent.frameworks.get(value_of(body.get("framework_id")) or "")
    ex = fw.executors.get(value_of(body.get("executor_id")) or "") if fw else None
    if ex is not None:
        agent.shutdown_executor(ex)


def message(agent: Agent, body: dict[str, Any]) -> None:
    """A framework message goes down the executor's stream (best effort, as in Mesos)."""
    fw = agent.frameworks.get(value_of(body.get("framework_id")) or "")
    ex = fw.executors.get(value_of(body.get("executor_id")) or "") if fw else None
    if ex is None or ex.stream is None or not isinstance(body.get("data"), str):
        log.info("dropping framework message for an unknown or unsubscribed executor")
        return
    ex.stream.send({"type": "MESSAGE", "message": {"data": body["data"]}})


HANDLERS: dict[str, Callable[[Agent, dict[str, Any]], None]] = {
    "RUN_TASK": run_task,
    "RUN_TASK_GROUP": run_task_group,
    "KILL_TASK": kill_task,
    "ACKNOWLEDGE": acknowledge,
    "SHUTDOWN_FRAMEWORK": shutdown_framework,
    "SHUTDOWN_EXECUTOR": shutdown_executor,
    "MESSAGE": message,
}
