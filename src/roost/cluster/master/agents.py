"""Agent lifecycle: registration, re-registration with task adoption, pings, unreachable
agents (``Master::registerSlave``, ``reregisterSlave``, ``markUnreachable``).

The agent side of the protocol is described in ``docs/agent-protocol.md``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from roost.cluster.master.calls import bad, payload
from roost.cluster.master.frameworks import FrameworkHandling
from roost.cluster.master.model import Agent, Framework, Task
from roost.cluster.master.streams import EventStream
from roost.cluster.master.task_validation import task_resources
from roost.cluster.protocol import TASK_STATES, id_value, is_terminal, ref
from roost.core.ids import is_safe_id
from roost.core.logs import kv
from roost.core.resources import ResourceError, Resources

log = logging.getLogger("roost.master")


ATTRIBUTE_TYPES = {"TEXT": "text", "SCALAR": "scalar", "RANGES": "ranges", "SET": "set"}


def _agent_info(sub: dict[str, Any]) -> tuple[dict[str, Any], Resources]:
    info = sub.get("agent_info")
    if not isinstance(info, dict):
        raise bad("Expecting 'subscribe.agent_info' to be present")
    if not isinstance(info.get("hostname"), str) or not info["hostname"]:
        raise bad("Expecting 'agent_info.hostname' to be a string")
    port = info.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise bad("Expecting 'agent_info.port' to be a port number")
    aid = info.get("id")
    if aid is not None and (id_value(aid) is None or not is_safe_id(id_value(aid) or "")):
        raise bad('\'agent_info.id\' must be {"value": "<safe id>"}')
    attributes = info.get("attributes", [])
    if not isinstance(attributes, list):
        raise bad("'agent_info.attributes' must be a list")
    for i, attr in enumerate(attributes):
        kind = attr.get("type") if isinstance(attr, dict) else None
        key = ATTRIBUTE_TYPES.get(kind) if isinstance(kind, str) else None
        if (
            key is None
            or not isinstance(attr.get("name"), str)
            or not isinstance(attr.get(key), dict)
        ):
            raise bad(
                f"'agent_info.attributes[{i}]' must be {{name, type: TEXT|SCALAR|RANGES|SET, "
                "text|scalar|ranges|set: {...}}"
            )
    try:
        total = Resources.from_json(info.get("resources", []))
    except ResourceError as e:
        raise bad(f"'agent_info.{e}") from None
    return info, total


def _reported(sub: dict[str, Any]) -> list[dict[str, Any]]:
    """The tasks a (re-)registering agent reports, checked before anything is changed."""
    reported = sub.get("tasks", [])
    if not isinstance(reported, list):
        raise bad("'subscribe.tasks' must be a list")
    for i, entry in enumerate(reported):
        where = f"'subscribe.tasks[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("task"), dict):
            raise bad(f"{where}.task' must be a TaskInfo object")
        if (
            id_value(entry.get("framework_id")) is None
            or id_value(entry["task"].get("task_id")) is None
        ):
            raise bad(f"{where}' needs framework_id and task.task_id")
        if not isinstance(entry.get("status", {}), dict):
            raise bad(f"{where}.status' must be a TaskStatus object")
        if not isinstance(entry["task"].get("executor", {}), dict):
            raise bad(f"{where}.task.executor' must be an ExecutorInfo object")
    for key in ("executors", "frameworks"):
        items = sub.get(key, [])
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise bad(f"'subscribe.{key}' must be a list of objects")
    return reported


class AgentHandling(FrameworkHandling):
    async def subscribe_agent(self, call: dict[str, Any]) -> EventStream:
        sub = payload(call, "SUBSCRIBE")
        info, total = _agent_info(sub)
        reported = _reported(sub)
        now = self.clock.time()
        aid = id_value(info.get("id")) or self.new_agent_id()
        info = dict(info, id=ref(aid))
        known = self.agents.get(aid)
        await self.registry.add_agent(aid, info, known.registered_time if known else now)
        # From here on nothing awaits: a concurrent SUBSCRIBE of the same agent cannot
        # interleave with the state changes below.
        agent = self.agents.get(aid)
        if agent is not None:
            self._detach_agent(agent)
            agent.reregistered_time = now
        else:
            agent = Agent(aid, {}, "", 0, total, [], "", registered_time=now)
            self.agents[aid] = agent
        agent.info = info
        agent.hostname = info["hostname"]
        agent.port = info["port"]
        agent.total = total
        agent.attributes = info.get("attributes", [])
        agent.version = str(sub.get("version", ""))
        agent.recovered = False
        was_unreachable = agent.unreachable_time is not None
        agent.unreachable_time = None
        agent.missed_pings = 0
        agent.ping_outstanding = False
        aid_: str = aid

        def closed(s: EventStream) -> None:
            self._agent_stream_closed(aid_, s)

        stream = EventStream(on_close=closed)
        agent.stream = stream
        agent.active = True
        stream.send(
            {
                "type": "SUBSCRIBED",
                "subscribed": {
                    "agent_id": ref(aid),
                    "ping_interval_seconds": self.config.agent_ping_timeout,
                },
            }
        )
        self._adopt(agent, sub, reported)
        used: dict[str, Resources] = {}
        for t in agent.tasks.values():
            if not t.recovered:
                used[t.framework_id] = used.get(t.framework_id, Resources()) + t.resources
        for (fid, _), ex in agent.executors.items():
            used[fid] = used.get(fid, Resources()) + ex["_resources"]
        self.allocator.add_agent(aid, total, used)
        agent.in_allocator = True
        for kill in agent.pending_kills.values():
            self.send_to_agent(agent, {"type": "KILL_TASK", "kill_task": kill})
        agent.pending_kills.clear()
        self._schedule_ping(agent)
        self.changed()
        self.request_allocation()
        log.info(
            "agent registered",
            extra=kv(agent_id=aid, hostname=agent.hostname, back=was_unreachable),
        )
        return stream

    def _detach_agent(self, agent: Agent) -> None:
        """Before a re-registration: close the old stream, drop offers, leave the allocator."""
        old, agent.stream = agent.stream, None
        if old is not None:
            old.close()
        for offer in list(agent.offers.values()):
            self.remove_offer(offer, rescind=True, refuse_seconds=None)
        if agent.in_allocator:
            self.allocator.remove_agent(agent.agent_id)
            agent.in_allocator = False
        if agent.ping_timer is not None:
            agent.ping_timer.cancel()

    def _framework_for(self, fid: str, infos: dict[str, dict[str, Any]]) -> Framework:
        fw = self.frameworks.get(fid)
        if fw is None:
            info = dict(infos.get(fid) or {"name": "", "user": ""}, id=ref(fid))
            fw = Framework(
                fid, info, registered_time=self.clock.time(), active=False, recovered=True
            )
            self.frameworks[fid] = fw
            self.allocator.add_framework(fid, role=fw.role, capabilities=fw.capabilities)
            self.allocator.deactivate_framework(fid)
            self.start_failover_timer(fw)
        return fw

    def _adopt(self, agent: Agent, sub: dict[str, Any], reported: list[Any]) -> None:
        """Take over the tasks a (re-)registering agent reports; anything we knew on this
        agent that it no longer has is lost."""
        infos = {}
        for fi in sub.get("frameworks", []) or []:
            if isinstance(fi, dict) and id_value(fi.get("id")):
                infos[id_value(fi["id"]) or ""] = fi
        seen: set[tuple[str, str]] = set()
        orphans: set[str] = set()
        for entry in reported:
            fid = id_value(entry.get("framework_id"))
            if fid in self.removed_framework_ids:
                orphans.add(fid)
                continue
            info = entry["task"]
            tid = id_value(info.get("task_id"))
            status: dict[str, Any] = (
                entry["status"] if isinstance(entry.get("status"), dict) else {}
            )
            state = status.get("state", "TASK_STAGING")
            if not fid or not tid or state not in TASK_STATES:
                continue
            seen.add((fid, tid))
            fw = self._framework_for(fid, infos)
            task = agent.tasks.get((fid, tid)) or fw.unreachable_tasks.get(tid)
            if task is None:
                try:
                    res = task_resources(info)
                except Exception:
                    res = Resources()
                eid = id_value((info.get("executor") or {}).get("executor_id")) or tid
                task = Task(tid, fid, agent.agent_id, info, res, executor_id=eid)
            task.recovered = is_terminal(state)
            agent.tasks[task.key] = task
            fw.unreachable_tasks.pop(tid, None)
            fw.tasks[tid] = task
            if state != task.state:
                latest = {k: v for k, v in status.items() if k != "uuid"}
                latest.setdefault("task_id", ref(tid))
                latest.setdefault("agent_id", ref(agent.agent_id))
                self.record_status(task, latest)
                self.send_update(fw, latest)
        for ex in sub.get("executors", []) or []:
            if not isinstance(ex, dict) or not isinstance(ex.get("executor_info"), dict):
                continue
            efid = id_value(ex.get("framework_id"))
            ex_id = id_value(ex["executor_info"].get("executor_id"))
            if efid in self.removed_framework_ids:
                orphans.add(efid)
            elif efid and ex_id:
                self._framework_for(efid, infos)
                try:
                    res = Resources.from_json(ex["executor_info"].get("resources", []))
                except ResourceError:
                    res = Resources()
                agent.executors[(efid, ex_id)] = dict(ex["executor_info"], _resources=res)
        # Tasks of frameworks torn down while this agent was away: shut them down now, as
        # Mesos does with a ShutdownFrameworkMessage on re-registration.
        for fid in sorted(orphans):
            msg = {"type": "SHUTDOWN_FRAMEWORK", "shutdown_framework": {"framework_id": ref(fid)}}
            self.send_to_agent(agent, msg)
        for key, task in list(agent.tasks.items()):
            if key in seen:
                continue
            owner = self.frameworks.get(task.framework_id)
            if owner is not None and not is_terminal(task.state):
                status = self.master_status(
                    task.task_id,
                    self.lost_state(owner, "TASK_GONE"),
                    "REASON_AGENT_RESTARTED",
                    "Task was not reported by the re-registering agent",
                    agent.agent_id,
                )
                self.record_status(task, status)
                self.send_update(owner, status)
            self.complete_task(task)

    def _agent_stream_closed(self, aid: str, stream: EventStream) -> None:
        agent = self.agents.get(aid)
        if agent is None or agent.stream is not stream or self.stopping:
            return
        agent.stream = None
        log.info("agent disconnected", extra=kv(agent_id=aid))
        if agent.unreachable_time is None:
            for offer in list(agent.offers.values()):
                self.remove_offer(offer, rescind=True, refuse_seconds=None)
            self.allocator.deactivate_agent(aid)
            agent.active = False
        self.changed()

    # -- pings ------------------------------------------------------------------------------
    def _schedule_ping(self, agent: Agent) -> None:
        if agent.ping_timer is not None:
            agent.ping_timer.cancel()
        agent.ping_timer = asyncio.get_running_loop().call_later(
            self.config.agent_ping_timeout, self._ping, agent.agent_id
        )

    def _ping(self, aid: str) -> None:
        agent = self.agents.get(aid)
        if agent is None or agent.unreachable_time is not None or self.stopping:
            return
        if agent.ping_outstanding:
            agent.missed_pings += 1
            if agent.missed_pings >= self.config.max_agent_ping_timeouts:
                self.mark_unreachable(agent)
                return
        agent.ping_outstanding = True
        self.send_to_agent(agent, {"type": "PING"})
        self._schedule_ping(agent)

    def pong(self, agent: Agent) -> None:
        agent.ping_outstanding = False
        agent.missed_pings = 0
        if not agent.active and agent.connected:
            agent.active = True
            self.allocator.activate_agent(agent.agent_id)

    def mark_unreachable(self, agent: Agent) -> None:
        """``Master::markUnreachable``: rescind offers, report tasks, tell every framework."""
        log.warning("agent unreachable", extra=kv(agent_id=agent.agent_id, hostname=agent.hostname))
        for offer in list(agent.offers.values()):
            self.remove_offer(offer, rescind=True, refuse_seconds=None)
        if agent.in_allocator:
            self.allocator.remove_agent(agent.agent_id)
            agent.in_allocator = False
        now = self.clock.time()
        agent.unreachable_time = now
        agent.recovered = False  # no longer "may still come back with its tasks"
        agent.active = False
        if agent.ping_timer is not None:
            agent.ping_timer.cancel()
        stream, agent.stream = agent.stream, None
        if stream is not None:
            stream.close()
        for task in list(agent.tasks.values()):
            fw = self.frameworks.get(task.framework_id)
            if fw is None or is_terminal(task.state):
                continue
            status = self.master_status(
                task.task_id,
                self.lost_state(fw, "TASK_UNREACHABLE"),
                "REASON_AGENT_REMOVED" if not fw.partition_aware else "REASON_AGENT_UNREACHABLE",
                f"Agent {agent.hostname} is unreachable",
                agent.agent_id,
                unreachable_time={"nanoseconds": int(now * 1e9)},
            )
            self.record_status(task, status)
            task.recovered = True
            fw.tasks.pop(task.task_id, None)
            fw.unreachable_tasks[task.task_id] = task
            self.send_update(fw, status)
        for fw in self.frameworks.values():
            self.send_to_framework(
                fw, {"type": "FAILURE", "failure": {"agent_id": ref(agent.agent_id)}}
            )
        self.counters["slave_removals"] += 1
        self.changed()
        self.spawn(
            self.registry.mark_unreachable(agent.agent_id, agent.info, agent.registered_time, now)
        )
