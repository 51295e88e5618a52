"""An in-process cluster for tests: a real master and N real agents on loopback, in the
caller's event loop, with fault injection (stop an agent, restart the master).

    async with LocalCluster(tmp_path, agents=2) as cluster:
        driver = SchedulerDriver(cluster.master_address, {"name": "t"}, MyScheduler())
        ...
        await cluster.stop_agent(0)        # it goes silent; the master marks it unreachable
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import Any

from roost.cluster.agent.config import AgentConfig
from roost.cluster.agent.server import AgentServer
from roost.cluster.master.config import MasterConfig
from roost.cluster.master.server import MasterServer


class LocalCluster:
    def __init__(
        self,
        work_dir: Path,
        agents: int = 1,
        agent_resources: str = "cpus:2;mem:1024;disk:1024;ports:[31000-31100]",
        agent_options: list[dict[str, Any]] | None = None,
        **master_options: Any,
    ) -> None:
        """``agent_options[i]`` overrides AgentConfig fields of agent ``i`` (e.g. ``hostname``,
        ``attributes``), so constraint tests can tell agents apart."""
        self.work_dir = Path(work_dir)
        self.agent_count = agents
        self.agent_resources = agent_resources
        self.agent_options = agent_options or []
        options: dict[str, Any] = {
            "ip": "127.0.0.1",
            "port": 0,
            "work_dir": self.work_dir / "master",
            "allocation_interval": 0.1,
            "agent_ping_timeout": 0.5,
            "max_agent_ping_timeouts": 3,
        }
        options.update(master_options)
        self.master_config = MasterConfig(**options)
        self.master: MasterServer | None = None
        self.agents: list[AgentServer | None] = []

    @property
    def master_address(self) -> str:
        assert self.master is not None
        return self.master.address

    async def start(self) -> LocalCluster:
        self.master = MasterServer(self.master_config)
        await self.master.start()
        self.master_config.port = self.master.port  # a restarted master keeps its address
        for i in range(self.agent_count):
            self.agents.append(await self._start_agent(i))
        return self

    async def _start_agent(self, i: int) -> AgentServer:
        config = AgentConfig(
            master=self.master_address,
            work_dir=self.work_dir / f"agent{i}",
            ip="127.0.0.1",
            port=0,
            hostname="127.0.0.1",
            resources=self.agent_resources,
            status_update_retry_min=0.5,
            status_update_retry_max=2.0,
            reconnect_backoff_min=0.1,
            reconnect_backoff_max=0.5,
        )
        for key, value in (self.agent_options[i] if i < len(self.agent_options) else {}).items():
            setattr(config, key, value)
        agent = AgentServer(config)
        await agent.start()
        await asyncio.wait_for(agent.registered.wait(), 10)
        return agent

    async def stop_agent(self, i: int) -> None:
        """Stop agent ``i`` (its tasks are killed and it stops answering pings)."""
        agent = self.agents[i]
        if agent is not None:
            await agent.stop()
            self.agents[i] = None

    async def start_agent(self, i: int) -> AgentServer:
        """(Re)start agent ``i`` with its old work dir, hence its old agent id."""
        agent = await self._start_agent(i)
        self.agents[i] = agent
        return agent

    async def restart_master(self) -> None:
        assert self.master is not None
        await self.master.stop()
        self.master = MasterServer(self.master_config)
        await self.master.start()

    async def stop(self) -> None:
        for i in range(len(self.agents)):
            await self.stop_agent(i)
        if self.master is not None:
            await self.master.stop()
            self.master = None

    async def __aenter__(self) -> LocalCluster:
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
