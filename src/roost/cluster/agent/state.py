"""The agent's ``/state`` document and ``/metrics/snapshot``, in Mesos' shapes.

``/state`` follows ``src/slave/http.cpp`` (``Http::state`` and its ``FrameworkWriter``,
``ExecutorWriter`` and ``model(Task)``): resources and attributes are *flat* objects, each
framework lists ``executors`` and ``completed_executors``, each executor its ``tasks``,
``queued_tasks`` and ``completed_tasks``. Metric names follow ``docs/monitoring.md``
(``slave/tasks_running``, ``slave/cpus_used`` ...).
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

import psutil

from roost import MESOS_COMPAT_VERSION
from roost.cluster.agent.tasks import Executor, ExecutorState, Framework, Task
from roost.core.ranges import Ranges
from roost.core.resources import Resources

if TYPE_CHECKING:
    from roost.cluster.agent.agent import Agent


def flat_attributes(attributes: list[dict[str, Any]]) -> dict[str, Any]:
    """Mesos Attribute JSON list -> ``{"rack": "r1", "level": 2.0, "ports": "[1-5]"}``."""
    out: dict[str, Any] = {}
    for attr in attributes:
        kind, name = attr.get("type"), attr.get("name")
        if not isinstance(name, str):
            continue
        if kind == "SCALAR":
            out[name] = attr.get("scalar", {}).get("value")
        elif kind == "RANGES":
            spans = attr.get("ranges", {}).get("range", [])
            out[name] = str(Ranges((r["begin"], r["end"]) for r in spans))
        elif kind == "SET":
            out[name] = "{" + ",".join(attr.get("set", {}).get("item", [])) + "}"
        else:
            out[name] = attr.get("text", {}).get("value")
    return out


def task_json(agent: Agent, task: Task) -> dict[str, Any]:
    info = task.info
    out: dict[str, Any] = {
        "id": task.task_id,
        "name": info.get("name", ""),
        "framework_id": task.framework_id,
        "executor_id": "" if "command" in info else task.executor_id,
        "slave_id": agent.agent_id or "",
        "state": task.state,
        "resources": task.resources.to_flat(),
        "statuses": [_status_json(s) for s in task.statuses],
    }
    for key in ("labels", "discovery", "container", "health_check"):
        if key in info:
            out[key] = info[key]
    return out


def _status_json(status: dict[str, Any]) -> dict[str, Any]:
    out = {"state": status.get("state"), "timestamp": status.get("timestamp")}
    for key in ("container_status", "labels", "healthy"):
        if key in status:
            out[key] = status[key]
    return out


def executor_json(agent: Agent, ex: Executor) -> dict[str, Any]:
    info = ex.info
    out: dict[str, Any] = {
        "id": ex.executor_id,
        "name": info.get("name", ""),
        "source": info.get("source", ""),
        "container": ex.container_id,
        "directory": str(ex.directory) if ex.directory else "",
        "resources": ex.resources.to_flat(),
        "type": info.get("type", "CUSTOM"),
        "tasks": [task_json(agent, t) for t in ex.tasks.values()],
        "queued_tasks": [task_json(agent, t) for t in ex.queued.values()],
        "completed_tasks": [task_json(agent, t) for t in ex.completed],
    }
    if "labels" in info:
        out["labels"] = info["labels"]
    return out


def framework_json(agent: Agent, fw: Framework) -> dict[str, Any]:
    info = fw.info
    out: dict[str, Any] = {
        "id": fw.framework_id,
        "name": info.get("name", ""),
        "user": info.get("user", ""),
        "failover_timeout": info.get("failover_timeout", 0),
        "checkpoint": info.get("checkpoint", False),
        "hostname": info.get("hostname", ""),
        "executors": [executor_json(agent, e) for e in fw.executors.values()],
        "completed_executors": [executor_json(agent, e) for e in fw.completed_executors],
    }
    if "roles" in info:
        out["roles"] = info["roles"]
    else:
        out["role"] = info.get("role", "*")
    return out


def flags(agent: Agent) -> dict[str, str]:
    """Every flag as a string, as Mesos' ``/flags`` and ``/state`` report them."""
    out = {}
    for f in dataclasses.fields(agent.config):
        value = getattr(agent.config, f.name)
        if value is not None:
            out[f.name] = str(value)
    return out


def used_resources(agent: Agent) -> Resources:
    total = Resources()
    for fw in agent.frameworks.values():
        for ex in fw.executors.values():
            if ex.state is not ExecutorState.TERMINATED:
                total = total + ex.resources
    return total


def agent_state(agent: Agent) -> dict[str, Any]:
    host, port = agent.hostname, agent.port
    used = used_resources(agent)
    return {
        "version": MESOS_COMPAT_VERSION,
        "start_time": agent.start_time,
        "id": agent.agent_id or "",
        "pid": f"slave(1)@{host}:{port}",
        "hostname": host,
        "port": port,
        "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "TASK_KILLING_STATE"],
        "resources": agent.resources.to_flat(),
        "reserved_resources": {},
        "unreserved_resources": agent.resources.to_flat(),
        "reserved_resources_full": {},
        "unreserved_resources_full": agent.resources.to_json(),
        "reserved_resources_allocated": {},
        "unreserved_resources_allocated": used.to_flat(),
        "attributes": flat_attributes(agent.attributes),
        "master_hostname": agent.link.master_hostname if agent.link else None,
        "flags": flags(agent),
        "frameworks": [framework_json(agent, fw) for fw in agent.frameworks.values()],
        "completed_frameworks": [framework_json(agent, fw) for fw in agent.completed_frameworks],
    }


def metrics_snapshot(agent: Agent) -> dict[str, float]:
    live_states: dict[str, int] = {}
    executors: dict[ExecutorState, int] = {}
    for fw in agent.frameworks.values():
        for ex in fw.executors.values():
            executors[ex.state] = executors.get(ex.state, 0) + 1
            for t in ex.all_tasks():
                live_states[t.state] = live_states.get(t.state, 0) + 1
    total, used = agent.resources, used_resources(agent)
    out: dict[str, float] = {
        f"slave/tasks_{s}": live_states.get(f"TASK_{s.upper()}", 0)
        for s in ("staging", "starting", "running", "killing")
    }
    for s in ("finished", "failed", "killed", "lost", "error", "dropped", "gone"):
        out[f"slave/tasks_{s}"] = agent.counters.get(f"TASK_{s.upper()}", 0)
    for state in ExecutorState:
        out[f"slave/executors_{state.value.lower()}"] = executors.get(state, 0)
    for name in ("cpus", "mem", "disk", "gpus"):
        have, busy = total.scalar(name), used.scalar(name)
        out[f"slave/{name}_total"] = have
        out[f"slave/{name}_used"] = busy
        out[f"slave/{name}_percent"] = busy / have if have else 0.0
    mem = psutil.virtual_memory()
    out.update(
        {
            "slave/registered": 1.0 if agent.registered.is_set() else 0.0,
            "slave/uptime_secs": agent.clock.time() - agent.start_time,
            "slave/frameworks_active": len(agent.frameworks),
            "slave/status_updates_pending": sum(1 for _ in agent.updates.pending()),
            "system/cpus_total": os.cpu_count() or 1,
            "system/mem_total_bytes": mem.total,
            "system/mem_free_bytes": mem.available,
            "system/load_1min": os.getloadavg()[0],
        }
    )
    return out
