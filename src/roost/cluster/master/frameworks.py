"""Framework lifecycle: SUBSCRIBE, re-subscribe (newest stream wins), disconnect,
``failover_timeout`` and TEARDOWN (``Master::subscribe``, ``Master::removeFramework``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from roost.cluster.master.calls import bad, framework_info, payload
from roost.cluster.master.model import Framework
from roost.cluster.master.offers import OfferHandling
from roost.cluster.master.streams import EventStream
from roost.cluster.protocol import id_value, is_terminal, ref
from roost.core.ids import is_safe_id
from roost.core.logs import kv

log = logging.getLogger("roost.master")


_DEFAULTS: dict[str, Any] = {"principal": None, "user": "", "checkpoint": False}


def check_unchanged(old: dict[str, Any], new: dict[str, Any], fields: tuple[str, ...]) -> None:
    """Fields a framework cannot change once registered (400, as Mesos' validation).
    ``role`` compares the effective role; roost has one role per framework."""
    for name in fields:
        before: Any
        after: Any
        if name == "role":
            before, after = effective_role(old), effective_role(new)
            # a framework known only from an agent's report has no role on record yet
            if old.get("role") is None and not old.get("roles"):
                continue
        else:
            before, after = old.get(name, _DEFAULTS.get(name)), new.get(name, _DEFAULTS.get(name))
        if before != after:
            raise bad(f"'framework_info.{name}' cannot be changed (was {before!r})")


def effective_role(info: dict[str, Any]) -> str:
    roles = info.get("roles")
    if isinstance(roles, list) and roles and isinstance(roles[0], str):
        return roles[0]
    role = info.get("role")
    return role if isinstance(role, str) and role else "*"


class FrameworkHandling(OfferHandling):
    async def subscribe_framework(self, call: dict[str, Any]) -> EventStream:
        sub = payload(call, "SUBSCRIBE")
        info = dict(framework_info(sub))
        fid = id_value(call.get("framework_id")) or id_value(info.get("id"))
        if fid is not None and not is_safe_id(fid):
            raise bad("'framework_id' must be 1-255 characters of letters, digits, '.', '_' or '-'")
        if fid is not None and fid in self.removed_framework_ids:
            stream = EventStream()
            stream.send({"type": "ERROR", "error": {"message": "Framework has been removed"}})
            stream.close()
            return stream
        suppressed_roles = sub.get("suppressed_roles", [])
        if not isinstance(suppressed_roles, list) or not all(
            isinstance(r, str) for r in suppressed_roles
        ):
            raise bad("'subscribe.suppressed_roles' must be a list of role names")
        now = self.clock.time()
        fid = fid or self.new_framework_id()
        info["id"] = ref(fid)
        known = self.frameworks.get(fid)
        if known is not None:
            check_unchanged(known.info, info, ("role",))
        if known is None or info != known.info:
            await self.registry.add_framework(fid, info, known.registered_time if known else now)
        # No awaits below: a concurrent SUBSCRIBE cannot interleave with these changes.
        fw = self.frameworks.get(fid)
        if fw is None:
            fw = Framework(framework_id=fid, info=info, registered_time=now)
            self.frameworks[fid] = fw
            self.allocator.add_framework(fid, role=fw.role, capabilities=fw.capabilities)
            log.info("framework registered", extra=kv(framework_id=fid, name=info.get("name")))
        else:
            old = fw.stream
            fw.stream = None
            if old is not None and not old.closed:
                old.send({"type": "ERROR", "error": {"message": "Framework failed over"}})
                old.close()
            fw.info = info
            fw.reregistered_time = now
            fw.recovered = False
            fw.unregistered_time = None
            if fw.failover_timer is not None:
                fw.failover_timer.cancel()
                fw.failover_timer = None
            self.allocator.activate_framework(fid)
            log.info("framework re-subscribed", extra=kv(framework_id=fid))
        # SUBSCRIBE sets the suppressed roles: a re-subscription without them un-suppresses.
        if fw.role in suppressed_roles:
            fw.suppressed = True
            self.allocator.suppress(fid)
        elif fw.suppressed:
            fw.suppressed = False
            self.allocator.revive(fid)
        fid_: str = fid

        def closed(s: EventStream) -> None:
            self._framework_stream_closed(fid_, s)

        stream = EventStream(on_close=closed)
        fw.stream = stream
        fw.active = True
        stream.send(
            {
                "type": "SUBSCRIBED",
                "subscribed": {
                    "framework_id": ref(fid),
                    "heartbeat_interval_seconds": self.config.heartbeat_interval,
                    "master_info": self.master_info(),
                },
            }
        )
        if fw.heartbeat_task is not None:
            fw.heartbeat_task.cancel()
        fw.heartbeat_task = asyncio.get_running_loop().create_task(self._heartbeats(stream))
        self.changed()
        self.request_allocation()
        return stream

    async def _heartbeats(self, stream: EventStream) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while not stream.closed:
                await asyncio.sleep(self.config.heartbeat_interval)
                stream.send({"type": "HEARTBEAT"})

    def _framework_stream_closed(self, fid: str, stream: EventStream) -> None:
        fw = self.frameworks.get(fid)
        if fw is None or fw.stream is not stream or self.stopping:
            return
        fw.stream = None
        fw.active = False
        fw.unregistered_time = self.clock.time()
        if fw.heartbeat_task is not None:
            fw.heartbeat_task.cancel()
            fw.heartbeat_task = None
        self.allocator.deactivate_framework(fid)
        self.rescind_framework_offers(fw)
        timeout = fw.failover_timeout
        log.info("framework disconnected", extra=kv(framework_id=fid, failover_timeout=timeout))
        self.start_failover_timer(fw)
        self.changed()

    def start_failover_timer(self, fw: Framework) -> None:
        loop = asyncio.get_running_loop()
        fid = fw.framework_id
        fw.failover_timer = loop.call_later(
            fw.failover_timeout, lambda: self.spawn(self._failover_expired(fid))
        )

    async def _failover_expired(self, fid: str) -> None:
        fw = self.frameworks.get(fid)
        if fw is not None and not fw.connected:
            log.info("framework failover timeout expired", extra=kv(framework_id=fid))
            await self.remove_framework(fw)

    async def remove_framework(self, fw: Framework) -> None:
        """TEARDOWN: kill every task and executor, forget offers, keep it as completed."""
        fid = fw.framework_id
        if self.frameworks.get(fid) is not fw:
            return
        self.rescind_framework_offers(fw, send=False)
        agents = {t.agent_id for t in fw.tasks.values()} | {
            t.agent_id for t in fw.unreachable_tasks.values()
        }
        agents |= {aid for aid, a in self.agents.items() if any(k[0] == fid for k in a.executors)}
        for aid in agents:
            agent = self.agents.get(aid)
            if agent is None:
                continue
            self.send_to_agent(
                agent,
                {"type": "SHUTDOWN_FRAMEWORK", "shutdown_framework": {"framework_id": ref(fid)}},
            )
            for key in [k for k in agent.executors if k[0] == fid]:
                ex = agent.executors.pop(key)
                self.allocator.recover(fid, aid, ex["_resources"], None)
        for task in list(fw.tasks.values()) + list(fw.unreachable_tasks.values()):
            if not is_terminal(task.state):
                status = self.master_status(
                    task.task_id,
                    "TASK_KILLED",
                    "REASON_FRAMEWORK_REMOVED",
                    "Framework removed",
                    task.agent_id,
                )
                self.record_status(task, status)
            self.complete_task(task)
        if fw.failover_timer is not None:
            fw.failover_timer.cancel()
        if fw.heartbeat_task is not None:
            fw.heartbeat_task.cancel()
        stream, fw.stream = fw.stream, None
        if stream is not None:
            stream.close()
        fw.active = False
        fw.unregistered_time = self.clock.time()
        self.allocator.remove_framework(fid)
        del self.frameworks[fid]
        self.removed_framework_ids.add(fid)
        self.completed_frameworks.append(fw)
        self.changed()
        await self.registry.complete_framework(fid, fw.info, fw.unregistered_time)
        log.info("framework removed", extra=kv(framework_id=fid))

    def rescind_framework_offers(self, fw: Framework, send: bool = True) -> None:
        for offer in list(fw.offers.values()):
            self.remove_offer(offer, rescind=send, refuse_seconds=None)
