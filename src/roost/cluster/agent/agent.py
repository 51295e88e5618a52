"""The agent's core: master events in, status updates out, bookkeeping in between.

The counterpart of Mesos' ``Slave`` actor (``src/slave/slave.cpp``) minus the libprocess
plumbing: :class:`Agent` handles the events of ``docs/agent-protocol.md`` (RUN_TASK,
RUN_TASK_GROUP, KILL_TASK, ACKNOWLEDGE, SHUTDOWN_*, MESSAGE), keeps frameworks, executors and
tasks, and owns the :class:`StatusUpdateManager` through which every status update flows.
Task execution lives in :mod:`.command_executor` (the built-in command executor) and
:mod:`.custom_executor` (executors speaking the v1 executor API).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from roost import MESOS_COMPAT_VERSION
from roost.cluster.agent import command_executor, custom_executor, events
from roost.cluster.agent.config import AgentConfig
from roost.cluster.agent.master_link import load_agent_id, save_agent_id
from roost.cluster.agent.status_updates import (
    TERMINAL_STATES,
    Recorded,
    StatusUpdate,
    StatusUpdateManager,
)
from roost.cluster.agent.tasks import (
    Executor,
    ExecutorState,
    Framework,
    Task,
    make_status,
)
from roost.core.aio import wait_event
from roost.core.clock import Clock
from roost.core.logs import kv

if TYPE_CHECKING:
    from roost.cluster.agent.containerizer import Containerizer
    from roost.cluster.agent.master_link import MasterLink
    from roost.core.resources import Resources

log = logging.getLogger(__name__)

MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK = 150  # Mesos slave/constants.hpp
MAX_COMPLETED_FRAMEWORKS = 50
MAX_STATUSES_PER_TASK = 20


class Agent:
    """Frameworks, executors and tasks of one agent, driven by master and executor events."""

    def __init__(
        self,
        config: AgentConfig,
        containerizer: Containerizer,
        clock: Clock,
        *,
        resources: Resources,
        attributes: list[dict[str, Any]],
        hostname: str,
    ) -> None:
        self.config = config
        self.containerizer = containerizer
        self.clock = clock
        self.resources = resources
        self.attributes = attributes
        self.hostname = hostname
        self.port = config.port
        self.agent_id: str | None = load_agent_id(config.work_dir)
        self.updates = StatusUpdateManager(
            clock, config.status_update_retry_min, config.status_update_retry_max
        )
        self.frameworks: dict[str, Framework] = {}
        self.completed_frameworks: deque[Framework] = deque(maxlen=MAX_COMPLETED_FRAMEWORKS)
        self.counters = {s: 0 for s in TERMINAL_STATES}
        self.registered = asyncio.Event()
        self.link: MasterLink | None = None
        self.start_time = clock.time()
        self.closing = False
        self._wakeup = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()

    # -- helpers shared by the executors ------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._reap)
        return task

    def _reap(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "agent task failed", exc_info=task.exception(), extra=kv(task=task.get_name())
            )

    @property
    def endpoint(self) -> str:
        """``ip:port`` of this agent as executors on this machine reach it."""
        # pymesos splits the endpoint on ':', so wildcard binds are reached over IPv4 loopback.
        ip = self.config.ip
        host = "127.0.0.1" if ip in ("0.0.0.0", "::") else ip
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    def task_update(
        self,
        ex: Executor,
        task: Task,
        state: str,
        *,
        source: str = "SOURCE_EXECUTOR",
        message: str | None = None,
        reason: str | None = None,
        healthy: bool | None = None,
    ) -> None:
        """Create a TaskStatus for ``task`` (Mesos ``protobuf::createTaskStatus``) and send it;
        ``healthy`` is the health-check verdict, when there is one."""
        status = make_status(
            task_id=task.task_id,
            state=state,
            agent_id=self.agent_id or "",
            executor_id=ex.executor_id,
            container_id=ex.container_id,
            timestamp=self.clock.time(),
            source=source,
            message=message,
            reason=reason,
        )
        if healthy is not None:
            status["healthy"] = healthy
        self.record_update(ex.framework_id, status, ex)

    def record_update(
        self, framework_id: str, status: dict[str, Any], ex: Executor | None = None
    ) -> Recorded:
        """Record a status in the update manager, apply it to the task, forward it if due."""
        update = StatusUpdate(framework_id, status)
        recorded = self.updates.record(update)
        if recorded in (Recorded.DUPLICATE, Recorded.TERMINATED):
            log.info("ignoring status update", extra=kv(task=update.task_id, why=recorded.value))
            return recorded
        task = ex.find(update.task_id) if ex is not None else None
        if task is not None and not task.terminal:
            task.state = update.state
            task.latest = status
            task.statuses.append(status)
            del task.statuses[:-MAX_STATUSES_PER_TASK]
            if update.terminal:
                self.counters[update.state] += 1
        if recorded is Recorded.FORWARD:
            self._forward(update)
            self._wakeup.set()
        return recorded

    def acknowledge(self, framework_id: str, task_id: str, uuid: str) -> None:
        """The framework acknowledged an update: send the task's next one, or complete it."""
        ack = self.updates.acknowledge(framework_id, task_id, uuid)
        if not ack.matched:
            log.info("ignoring unexpected acknowledgement", extra=kv(task=task_id, uuid=uuid))
            return
        if ack.next is not None:
            self._forward(ack.next)
            self._wakeup.set()
        if ack.terminal:
            found = self.find_task(framework_id, task_id)
            if found is not None:
                self.complete_task(*found)

    def _forward(self, update: StatusUpdate) -> None:
        if self.link is not None and self.link.subscribed:
            payload = {"framework_id": {"value": update.framework_id}, "status": update.status}
            self.link.send("UPDATE", payload)

    async def retry_updates(self) -> None:
        """Re-send in-flight updates when their retry time comes (runs until cancelled)."""
        while True:
            deadline = self.updates.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self.clock.monotonic())
            await wait_event(self._wakeup, timeout)
            self._wakeup.clear()
            for update in self.updates.due():
                log.debug("retrying status update", extra=kv(task=update.task_id))
                self._forward(update)

    # -- the master link's handler ------------------------------------------------------------
    def subscribe_call(self) -> dict[str, Any]:
        """SUBSCRIBE with our id, tasks and unacknowledged updates (re-registration)."""
        agent_info: dict[str, Any] = {
            "hostname": self.hostname,
            "port": self.port,
            "resources": self.resources.to_json(),
            "attributes": self.attributes,
        }
        if self.agent_id:
            agent_info["id"] = {"value": self.agent_id}
        tasks, executors = [], []
        for fw in self.frameworks.values():
            fid = {"value": fw.framework_id}
            for ex in fw.executors.values():
                if not ex.command_task:
                    executors.append({"framework_id": fid, "executor_info": ex.info})
                for t in ex.all_tasks():
                    # Report what the master has been (or is being) told, not a queued state:
                    # the update in flight if there is one. A terminal task whose update is
                    # not acknowledged yet is still reported, so the master does not call it
                    # lost (Mesos keeps such tasks until the acknowledgement).
                    flight = self.updates.in_flight(fw.framework_id, t.task_id)
                    if t.terminal and flight is None:
                        continue
                    status = flight.status if flight is not None else t.latest
                    entry = {"framework_id": fid, "task": t.info}
                    tasks.append({**entry, "status": status or self._staging(ex, t)})
        return {
            "type": "SUBSCRIBE",
            "subscribe": {
                "agent_info": agent_info,
                "version": MESOS_COMPAT_VERSION,
                "frameworks": [fw.info for fw in self.frameworks.values()],
                "tasks": tasks,
                "executors": executors,
            },
        }

    def _staging(self, ex: Executor, task: Task) -> dict[str, Any]:
        return make_status(
            task_id=task.task_id,
            state=task.state,
            agent_id=self.agent_id or "",
            executor_id=ex.executor_id,
            container_id=ex.container_id,
            timestamp=self.clock.time(),
            source="SOURCE_AGENT",
        )

    def on_subscribed(self, agent_id: str) -> None:
        if agent_id != self.agent_id:
            if self.agent_id:
                log.warning("master assigned a new agent id", extra=kv(old=self.agent_id))
            self.agent_id = agent_id
            save_agent_id(self.config.work_dir, agent_id)
        self.registered.set()
        for update in self.updates.resend_all():
            self._forward(update)
        self._wakeup.set()

    def on_disconnected(self) -> None:
        self.registered.clear()

    def on_event(self, event: dict[str, Any]) -> None:
        events.dispatch(self, event)

    # -- bookkeeping ----------------------------------------------------------------------------
    def find_task(self, fid: str | None, tid: str | None) -> tuple[Executor, Task] | None:
        fw = self.frameworks.get(fid or "")
        for ex in fw.executors.values() if fw else ():
            task = ex.find(tid or "")
            if task is not None:
                return ex, task
        return None

    def complete_task(self, ex: Executor, task: Task) -> None:
        """The terminal update was acknowledged: the task moves to ``completed_tasks``."""
        ex.tasks.pop(task.task_id, None)
        ex.queued.pop(task.task_id, None)
        ex.completed.append(task)
        while len(ex.completed) > self.config.max_completed_tasks:
            ex.completed.popleft()
        self.maybe_retire(ex)

    def maybe_retire(self, ex: Executor) -> None:
        """Move a terminated executor whose tasks are all completed to completed_executors."""
        fw = self.frameworks.get(ex.framework_id)
        if fw is None or ex.state is not ExecutorState.TERMINATED:
            return
        if fw.shutting_down:
            for task in ex.all_tasks():
                ex.completed.append(task)
            ex.tasks.clear()
            ex.queued.clear()
        if ex.all_tasks() or fw.executors.get(ex.executor_id) is not ex:
            return
        del fw.executors[ex.executor_id]
        fw.completed_executors.append(ex)
        while len(fw.completed_executors) > MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK:
            fw.completed_executors.popleft()
        if not fw.executors:
            del self.frameworks[fw.framework_id]
            self.completed_frameworks.append(fw)
            if fw.shutting_down:
                self.updates.cleanup(fw.framework_id)

    def shutdown_executor(self, ex: Executor) -> None:
        if ex.command_task:
            for task in ex.all_tasks():
                if not task.terminal and not task.kill_requested:
                    command_executor.kill(self, ex, task, None)
        else:
            custom_executor.shutdown(self, ex)

    async def close(self) -> None:
        """Stop every background task and container (agent shutdown)."""
        self.closing = True
        for fw in self.frameworks.values():
            for ex in fw.executors.values():
                if ex.stream is not None:
                    ex.stream.close()
        tasks = list(self._background)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.containerizer.destroy_all(
            grace_period=self.config.executor_shutdown_grace_period
        )
