"""The master's in-memory records: agents, frameworks, tasks and offers.

These are plain mutable records owned by :class:`roost.cluster.master.master.Master`; every
mutation goes through the master, which also bumps :attr:`Generation.value` so that the
``/master/state`` snapshot knows when to rebuild.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from roost.cluster.master.streams import EventStream
from roost.core.resources import Resources


@dataclass
class Task:
    task_id: str
    framework_id: str
    agent_id: str
    info: dict[str, Any]
    resources: Resources
    state: str = "TASK_STAGING"
    executor_id: str = ""
    statuses: list[dict[str, Any]] = field(default_factory=list)
    latest_status: dict[str, Any] | None = None
    #: resources already handed back to the allocator (terminal update seen)
    recovered: bool = False
    unreachable_time: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.framework_id, self.task_id)

    @property
    def role(self) -> str:
        alloc = self.info.get("resources") or []
        for r in alloc:
            if isinstance(r, dict) and isinstance(r.get("allocation_info"), dict):
                role = r["allocation_info"].get("role")
                if isinstance(role, str):
                    return role
        return "*"


@dataclass
class Offer:
    offer_id: str
    framework_id: str
    agent_id: str
    role: str
    resources: Resources
    created: float
    timer: asyncio.TimerHandle | None = None


@dataclass
class Agent:
    agent_id: str
    info: dict[str, Any]
    hostname: str
    port: int
    total: Resources
    attributes: list[dict[str, Any]]
    version: str
    registered_time: float
    reregistered_time: float | None = None
    stream: EventStream | None = None
    active: bool = True
    #: not yet re-registered after a master restart
    recovered: bool = False
    #: known to the allocator (registered and reachable)
    in_allocator: bool = False
    unreachable_time: float | None = None
    missed_pings: int = 0
    ping_outstanding: bool = False
    ping_timer: asyncio.TimerHandle | None = None
    #: keyed by (framework id, task id): task ids are unique within a framework only
    tasks: dict[tuple[str, str], Task] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
    executors: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    #: KILLs that could not be delivered while the agent was disconnected
    pending_kills: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def connected(self) -> bool:
        return self.stream is not None and not self.stream.closed

    def used(self) -> Resources:
        total = Resources()
        for t in self.tasks.values():
            if not t.recovered:
                total = total + t.resources
        for ex in self.executors.values():
            total = total + ex["_resources"]
        return total

    def offered(self) -> Resources:
        total = Resources()
        for o in self.offers.values():
            total = total + o.resources
        return total


@dataclass
class Framework:
    framework_id: str
    info: dict[str, Any]
    registered_time: float
    stream: EventStream | None = None
    active: bool = True
    #: known from the registry or an agent's report, not yet re-subscribed
    recovered: bool = False
    suppressed: bool = False
    reregistered_time: float | None = None
    unregistered_time: float | None = None
    failover_timer: asyncio.TimerHandle | None = None
    heartbeat_task: asyncio.Task[None] | None = None
    tasks: dict[str, Task] = field(default_factory=dict)
    unreachable_tasks: dict[str, Task] = field(default_factory=dict)
    completed_tasks: deque[Task] = field(default_factory=lambda: deque(maxlen=1000))
    offers: dict[str, Offer] = field(default_factory=dict)

    @property
    def connected(self) -> bool:
        return self.stream is not None and not self.stream.closed

    @property
    def role(self) -> str:
        roles = self.info.get("roles")
        if isinstance(roles, list) and roles and isinstance(roles[0], str):
            return str(roles[0])
        role = self.info.get("role")
        return role if isinstance(role, str) and role else "*"

    @property
    def capabilities(self) -> set[str]:
        caps = self.info.get("capabilities") or []
        return {
            str(c["type"]) for c in caps if isinstance(c, dict) and isinstance(c.get("type"), str)
        }

    @property
    def partition_aware(self) -> bool:
        return "PARTITION_AWARE" in self.capabilities

    @property
    def failover_timeout(self) -> float:
        v = self.info.get("failover_timeout", 0)
        if isinstance(v, bool) or not isinstance(v, int | float) or v != v or v < 0:
            return 0.0
        return float(min(v, 10 * 365 * 86400))
