"""Operator views of the master in Mesos shapes: ``/master/state``, ``/master/slaves``,
``/master/frameworks``, ``/master/tasks`` and ``/metrics/snapshot``.

``/master/state`` is served from a snapshot: the JSON bytes are rebuilt at most once per
master *generation* (any change bumps it) and at most every ``min_age`` seconds, so a storm
of UI polls costs one build, never a stall of the allocator per request.
"""

from __future__ import annotations

import json
import time
from typing import Any

import psutil

from roost import MESOS_COMPAT_VERSION, __version__
from roost.cluster.master.master import Master
from roost.cluster.master.model import Agent, Framework, Offer, Task
from roost.core.resources import Resources


def version_json() -> dict[str, Any]:
    return {
        "version": MESOS_COMPAT_VERSION,
        "build_date": "",
        "build_time": 0,
        "build_user": "roost",
        "git_sha": "",
        "git_branch": "",
        "git_tag": f"roost-{__version__}",
    }


def task_json(t: Task) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": t.task_id,
        "name": t.info.get("name", ""),
        "framework_id": t.framework_id,
        "executor_id": t.executor_id if t.info.get("executor") else "",
        "slave_id": t.agent_id,
        "agent_id": t.agent_id,
        "state": t.state,
        "resources": t.resources.to_flat(),
        "role": t.role,
        "statuses": t.statuses,
    }
    for key in ("labels", "discovery", "container", "health_check", "user"):
        if key in t.info:
            out[key] = t.info[key]
    return out


def offer_json(o: Offer) -> dict[str, Any]:
    return {
        "id": o.offer_id,
        "framework_id": o.framework_id,
        "slave_id": o.agent_id,
        "allocation_info": {"role": o.role},
        "resources": o.resources.to_flat(),
    }


def agent_json(a: Agent) -> dict[str, Any]:
    used = a.used()
    attrs: dict[str, Any] = {}
    for attr in a.attributes:
        attrs.update(_flat_attribute(attr))
    out: dict[str, Any] = {
        "id": a.agent_id,
        "hostname": a.hostname,
        "port": a.port,
        "pid": f"slave(1)@{a.hostname}:{a.port}",
        "attributes": attrs,
        "registered_time": a.registered_time,
        "resources": a.total.to_flat(),
        "used_resources": used.to_flat(),
        "offered_resources": a.offered().to_flat(),
        "reserved_resources": {},
        "unreserved_resources": a.total.to_flat(),
        "active": a.active and a.unreachable_time is None,
        "deactivated": not a.active,
        "version": a.version or MESOS_COMPAT_VERSION,
        "capabilities": ["MULTI_ROLE", "HIERARCHICAL_ROLE", "TASK_LABEL_UNIQUENESS"],
    }
    if a.reregistered_time is not None:
        out["reregistered_time"] = a.reregistered_time
    return out


def _flat_attribute(attr: Any) -> dict[str, Any]:
    """``{"name": "rack", "type": "TEXT", "text": {"value": "r1"}}`` -> ``{"rack": "r1"}``;
    anything unexpected is left out rather than breaking ``/master/state``."""
    try:
        name = attr["name"]
        if "text" in attr:
            return {name: attr["text"]["value"]}
        if "scalar" in attr:
            return {name: attr["scalar"]["value"]}
        value = Resources.from_json([{k: v for k, v in attr.items() if k != "text"}])
        return {name: value.to_flat().get(name)}
    except (KeyError, TypeError, ValueError):
        return {}


def framework_json(f: Framework) -> dict[str, Any]:
    used = Resources()
    for t in f.tasks.values():
        if not t.recovered:
            used = used + t.resources
    offered = Resources()
    for o in f.offers.values():
        offered = offered + o.resources
    out: dict[str, Any] = {
        "id": f.framework_id,
        "name": f.info.get("name", ""),
        "user": f.info.get("user", ""),
        "hostname": f.info.get("hostname", ""),
        "webui_url": f.info.get("webui_url", ""),
        "principal": f.info.get("principal"),
        "failover_timeout": f.info.get("failover_timeout", 0),
        "checkpoint": bool(f.info.get("checkpoint", False)),
        "capabilities": sorted(f.capabilities),
        "role": f.role,
        "roles": [f.role],
        "active": f.active and f.connected,
        "connected": f.connected,
        "recovered": f.recovered,
        "suppressed_roles": [f.role] if f.suppressed else [],
        "registered_time": f.registered_time,
        "unregistered_time": f.unregistered_time or 0,
        "used_resources": used.to_flat(),
        "offered_resources": offered.to_flat(),
        "resources": (used + offered).to_flat(),
        "tasks": [task_json(t) for t in f.tasks.values()],
        "unreachable_tasks": [task_json(t) for t in f.unreachable_tasks.values()],
        "completed_tasks": [task_json(t) for t in f.completed_tasks],
        "offers": [offer_json(o) for o in f.offers.values()],
        "executors": [],
        "offer_constraints": {},
    }
    if f.reregistered_time is not None:
        out["reregistered_time"] = f.reregistered_time
    if "labels" in f.info:
        out["labels"] = f.info["labels"]
    return out


class StateView:
    def __init__(self, master: Master, min_age: float = 0.05) -> None:
        self.m = master
        self.min_age = min_age
        self._cached: bytes = b""
        self._generation = -1
        self._built_at = 0.0
        self.builds = 0

    def state_bytes(self) -> bytes:
        now = time.monotonic()
        if self._generation != self.m.generation and now - self._built_at >= self.min_age:
            self._cached = json.dumps(self.state(), separators=(",", ":")).encode()
            self._generation = self.m.generation
            self._built_at = now
            self.builds += 1
        elif not self._cached:
            self._cached = json.dumps(self.state(), separators=(",", ":")).encode()
            self._generation = self.m.generation
            self._built_at = now
        return self._cached

    def state(self) -> dict[str, Any]:
        m = self.m
        agents = list(m.agents.values())
        active = [a for a in agents if not a.recovered and a.unreachable_time is None]
        info = m.master_info()
        out = dict(version_json())
        out.update(
            {
                "start_time": m.start_time,
                "elected_time": m.elected_time,
                "id": m.master_id,
                "pid": info["pid"],
                "hostname": m.hostname,
                "capabilities": ["AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"],
                "activated_slaves": sum(1 for a in active if a.active),
                "deactivated_slaves": sum(1 for a in active if not a.active),
                "unreachable_slaves": sum(1 for a in agents if a.unreachable_time is not None),
                "leader": info["pid"],
                "leader_info": info,
                "cluster": m.config.cluster,
                "log_dir": "",
                "flags": self.flags(),
                "slaves": [agent_json(a) for a in active],
                "recovered_slaves": [{**a.info, "id": a.agent_id} for a in agents if a.recovered],
                "frameworks": [framework_json(f) for f in m.frameworks.values()],
                "completed_frameworks": [framework_json(f) for f in m.completed_frameworks],
                "orphan_tasks": [],
                "unregistered_frameworks": [],
            }
        )
        return out

    def flags(self) -> dict[str, str]:
        c = self.m.config
        return {
            "allocation_interval": f"{c.allocation_interval}secs",
            "agent_ping_timeout": f"{c.agent_ping_timeout}secs",
            "max_agent_ping_timeouts": str(c.max_agent_ping_timeouts),
            "agent_reregister_timeout": f"{c.agent_reregister_timeout}secs",
            "offer_timeout": f"{c.offer_timeout}secs" if c.offer_timeout else "",
            "min_allocatable_resources": c.min_allocatable_resources,
            "port": str(c.port),
            "ip": c.ip,
            "work_dir": str(c.work_dir),
            "registry": c.store_url(),
            "cluster": c.cluster,
        }

    def tasks(
        self, framework_id: str | None, task_id: str | None, limit: int, offset: int, order: str
    ) -> list[dict[str, Any]]:
        found: list[Task] = []
        frameworks = list(self.m.frameworks.values()) + list(self.m.completed_frameworks)
        for f in frameworks:
            if framework_id and f.framework_id != framework_id:
                continue
            for t in [*f.tasks.values(), *f.unreachable_tasks.values(), *f.completed_tasks]:
                if task_id and t.task_id != task_id:
                    continue
                found.append(t)
        found.sort(
            key=lambda t: t.statuses[0]["timestamp"] if t.statuses else 0, reverse=order == "desc"
        )
        return [task_json(t) for t in found[offset : offset + limit]]

    def metrics(self) -> dict[str, float]:
        m = self.m
        agents = list(m.agents.values())
        live = [a for a in agents if not a.recovered and a.unreachable_time is None]
        counts: dict[str, int] = {}
        total = Resources()
        used = Resources()
        for a in live:
            total = total + a.total
            used = used + a.used()
        for f in m.frameworks.values():
            for t in [*f.tasks.values(), *f.unreachable_tasks.values()]:
                counts[t.state] = counts.get(t.state, 0) + 1
        out: dict[str, float] = {
            "master/elected": 1.0,
            "master/uptime_secs": m.clock.time() - m.start_time,
            "master/slaves_active": sum(1 for a in live if a.active),
            "master/slaves_inactive": sum(1 for a in live if not a.active),
            "master/slaves_connected": sum(1 for a in live if a.connected),
            "master/slaves_disconnected": sum(1 for a in live if not a.connected),
            "master/slaves_unreachable": sum(1 for a in agents if a.unreachable_time is not None),
            "master/slave_removals": m.counters["slave_removals"],
            "master/frameworks_active": sum(1 for f in m.frameworks.values() if f.connected),
            "master/frameworks_inactive": sum(1 for f in m.frameworks.values() if not f.connected),
            "master/frameworks_connected": sum(1 for f in m.frameworks.values() if f.connected),
            "master/frameworks_disconnected": sum(
                1 for f in m.frameworks.values() if not f.connected
            ),
            "master/outstanding_offers": len(m.offers),
            "master/valid_status_updates": m.counters["valid_status_updates"],
            "master/dropped_messages": m.counters["dropped_messages"],
            "master/tasks_launched": m.counters["tasks_launched"],
            "registrar/state_store_ms": m.registry.last_write_ms,
            "allocator/mesos/allocation_run_ms": m.allocation_run_ms,
            "allocator/mesos/allocation_runs": m.counters["allocation_runs"],
        }
        for state in ("staging", "starting", "running", "killing", "unreachable"):
            out[f"master/tasks_{state}"] = counts.get(f"TASK_{state.upper()}", 0)
        for state in ("finished", "failed", "killed", "lost", "error", "dropped", "gone"):
            out[f"master/tasks_{state}"] = m.counters[f"tasks_{state}_total"]
        for r in ("cpus", "mem", "disk", "gpus"):
            tot, use = total.scalar(r), used.scalar(r)
            out[f"master/{r}_total"] = tot
            out[f"master/{r}_used"] = use
            out[f"master/{r}_percent"] = use / tot if tot else 0.0
            out[f"allocator/mesos/resources/{r}/total"] = tot
        out["system/cpus_total"] = float(psutil.cpu_count() or 0)
        vm = psutil.virtual_memory()
        out["system/mem_total_bytes"] = float(vm.total)
        out["system/mem_free_bytes"] = float(vm.available)
        return out
