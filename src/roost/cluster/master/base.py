"""State and helpers shared by the master's handlers (frameworks, agents, calls, offers)."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import uuid
from collections import Counter, deque
from typing import Any

from roost import MESOS_COMPAT_VERSION
from roost.cluster.master.allocator import Allocator
from roost.cluster.master.config import MasterConfig
from roost.cluster.master.model import Agent, Framework, Offer, Task
from roost.cluster.master.registry import Registry
from roost.cluster.protocol import is_terminal, ref
from roost.coord.store import Store
from roost.core.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger("roost.master")


class MasterBase:
    def __init__(self, config: MasterConfig, store: Store, clock: Clock = SYSTEM_CLOCK) -> None:
        config.validate()
        self.config = config
        self.clock = clock
        self.master_id = str(uuid.uuid4())
        # Advertised name: --hostname, else the listen address unless it is a wildcard, else
        # this machine's name (as Mesos falls back to the hostname).
        wildcard = config.ip in ("0.0.0.0", "::")
        self.hostname = config.hostname or (socket.gethostname() if wildcard else config.ip)
        self.port = config.port
        self.registry = Registry(store)
        self.allocator = Allocator(
            clock,
            allocation_interval=config.allocation_interval,
            min_allocatable=config.min_allocatable(),
        )
        for role, weight in config.weights.items():
            self.allocator.set_weight(role, weight)
        self.agents: dict[str, Agent] = {}
        self.frameworks: dict[str, Framework] = {}
        self.completed_frameworks: deque[Framework] = deque(maxlen=config.max_completed_frameworks)
        self.removed_framework_ids: set[str] = set()
        self.offers: dict[str, Offer] = {}
        self.start_time = clock.time()
        self.elected_time = self.start_time
        self.generation = 0
        self.counters: Counter[str] = Counter()
        self.allocation_run_ms = 0.0
        self._next_framework = 0
        self._next_agent = 0
        self._next_offer = 0
        self._alloc_wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.stopping = False

    # -- ids ------------------------------------------------------------------------------
    def new_framework_id(self) -> str:
        fid = f"{self.master_id}-{self._next_framework:04d}"
        self._next_framework += 1
        return fid

    def new_agent_id(self) -> str:
        aid = f"{self.master_id}-S{self._next_agent}"
        self._next_agent += 1
        return aid

    def new_offer_id(self) -> str:
        oid = f"{self.master_id}-O{self._next_offer}"
        self._next_offer += 1
        return oid

    # -- helpers --------------------------------------------------------------------------
    def changed(self) -> None:
        self.generation += 1

    def request_allocation(self) -> None:
        self._alloc_wakeup.set()

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def master_info(self) -> dict[str, Any]:
        try:
            packed = socket.inet_aton(self.config.ip)
            ip_int = struct.unpack("<I", packed)[0]
        except OSError:
            ip_int = 0
        return {
            "id": self.master_id,
            "ip": ip_int,
            "port": self.port,
            "pid": f"master@{self.config.ip}:{self.port}",
            "hostname": self.hostname,
            "version": MESOS_COMPAT_VERSION,
            "address": {"ip": self.config.ip, "hostname": self.hostname, "port": self.port},
        }

    def send_to_framework(self, fw: Framework, event: dict[str, Any]) -> None:
        if fw.stream is not None and not fw.stream.closed:
            fw.stream.send(event)

    def send_to_agent(self, agent: Agent, event: dict[str, Any]) -> bool:
        if agent.stream is not None and not agent.stream.closed:
            agent.stream.send(event)
            return True
        return False

    def master_status(
        self,
        task_id: str,
        state: str,
        reason: str,
        message: str,
        agent_id: str | None = None,
        executor_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """A master-generated TaskStatus: no ``uuid``, so no acknowledgement is expected."""
        status: dict[str, Any] = {
            "task_id": ref(task_id),
            "state": state,
            "source": "SOURCE_MASTER",
            "reason": reason,
            "message": message,
            "timestamp": self.clock.time(),
        }
        if agent_id:
            status["agent_id"] = ref(agent_id)
        if executor_id:
            status["executor_id"] = ref(executor_id)
        status.update(extra)
        return status

    def send_update(self, fw: Framework, status: dict[str, Any]) -> None:
        self.send_to_framework(fw, {"type": "UPDATE", "update": {"status": status}})

    def lost_state(self, fw: Framework, aware_state: str) -> str:
        """Partition-aware frameworks get the precise state; others get TASK_LOST."""
        return aware_state if fw.partition_aware else "TASK_LOST"

    def record_status(self, task: Task, status: dict[str, Any]) -> None:
        """Apply a status to the master's view of a task and count the transition."""
        state = status["state"]
        if state != task.state:
            self.counters[f"tasks_{state[5:].lower()}_total"] += 1
        task.state = state
        task.latest_status = status
        entry: dict[str, Any] = {"state": state, "timestamp": status.get("timestamp", 0.0)}
        if "healthy" in status:
            entry["healthy"] = status["healthy"]
        if "container_status" in status:
            entry["container_status"] = status["container_status"]
        task.statuses.append(entry)
        if len(task.statuses) > 32:
            del task.statuses[:-32]
        self.changed()

    def recover_task_resources(self, task: Task) -> None:
        if not task.recovered:
            task.recovered = True
            agent = self.agents.get(task.agent_id)
            if agent is not None and agent.unreachable_time is None and not agent.recovered:
                self.allocator.recover(task.framework_id, task.agent_id, task.resources, None)

    def complete_task(self, task: Task) -> None:
        """Forget a task whose terminal update was acknowledged (or was never acked)."""
        fw = self.frameworks.get(task.framework_id)
        agent = self.agents.get(task.agent_id)
        self.recover_task_resources(task)
        if fw is not None:
            fw.tasks.pop(task.task_id, None)
            fw.unreachable_tasks.pop(task.task_id, None)
            if is_terminal(task.state):
                fw.completed_tasks.append(task)
        if agent is not None and agent.tasks.get(task.key) is task:
            del agent.tasks[task.key]
        self.changed()
