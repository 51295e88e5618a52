"""The master: one object owning agents, frameworks, tasks and offers, driven by HTTP calls,
timers and the allocation loop, all on one asyncio loop (like the Mesos master actor)."""

from __future__ import annotations

import asyncio
import logging

from roost.cluster.master.model import Agent, Framework
from roost.cluster.master.scheduler_calls import SchedulerCalls
from roost.cluster.protocol import ref
from roost.core.logs import kv
from roost.core.resources import ResourceError, Resources

log = logging.getLogger("roost.master")

#: unreachable agents are forgotten after two weeks (Mesos ``--registry_max_agent_age``)
REGISTRY_MAX_AGENT_AGE = 14 * 86400.0


class Master(SchedulerCalls):
    async def recover(self) -> None:
        """Load the registry: agents come back as *recovered* (waiting to re-register within
        ``--agent-reregister-timeout``), frameworks as inactive until they re-subscribe."""
        removed = await self.registry.completed_frameworks()
        self.removed_framework_ids.update(removed)
        now = self.clock.time()
        for aid, entry in (await self.registry.agents()).items():
            info = entry.get("info") or {}
            gone = entry.get("unreachable_time")
            if isinstance(gone, int | float) and now - gone > REGISTRY_MAX_AGENT_AGE:
                await self.registry.remove_agent(aid)  # Mesos' --registry_max_agent_age GC
                continue
            try:
                total = Resources.from_json(info.get("resources", []))
            except ResourceError:
                total = Resources()
            agent = Agent(
                aid,
                info,
                str(info.get("hostname", "")),
                int(info.get("port", 0) or 0),
                total,
                list(info.get("attributes", [])),
                "",
                registered_time=float(entry.get("registered_time", 0.0)),
                recovered=not isinstance(gone, int | float),
                active=False,
                unreachable_time=float(gone) if isinstance(gone, int | float) else None,
            )
            self.agents[aid] = agent
        for fid, entry in (await self.registry.frameworks()).items():
            if fid in self.removed_framework_ids:
                continue
            info = dict(entry.get("info") or {}, id=ref(fid))
            fw = Framework(
                fid,
                info,
                registered_time=float(entry.get("registered_time", 0.0)),
                active=False,
                recovered=True,
            )
            self.frameworks[fid] = fw
            self.allocator.add_framework(fid, role=fw.role, capabilities=fw.capabilities)
            self.allocator.deactivate_framework(fid)
        if self.agents or self.frameworks:
            log.info(
                "recovered registry",
                extra=kv(agents=len(self.agents), frameworks=len(self.frameworks)),
            )

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        for fw in self.frameworks.values():
            if fw.recovered and fw.failover_timer is None:
                self.start_failover_timer(fw)
        recovered = [a.agent_id for a in self.agents.values() if a.recovered]
        if recovered:
            loop.call_later(
                self.config.agent_reregister_timeout, self._reregister_deadline, recovered
            )
        self.spawn(self.allocation_loop())

    def _reregister_deadline(self, agent_ids: list[str]) -> None:
        for aid in agent_ids:
            agent = self.agents.get(aid)
            if agent is not None and agent.recovered and agent.unreachable_time is None:
                self.mark_unreachable(agent)

    async def stop(self) -> None:
        self.stopping = True
        self._alloc_wakeup.set()
        for fw in self.frameworks.values():
            if fw.failover_timer is not None:
                fw.failover_timer.cancel()
            if fw.heartbeat_task is not None:
                fw.heartbeat_task.cancel()
            if fw.stream is not None:
                fw.stream.close()
        for agent in self.agents.values():
            if agent.ping_timer is not None:
                agent.ping_timer.cancel()
            if agent.stream is not None:
                agent.stream.close()
        for offer in self.offers.values():
            if offer.timer is not None:
                offer.timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
