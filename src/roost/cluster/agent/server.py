"""``roost agent``: the agent process (Mesos ``mesos-agent``), assembled and run.

Start-up follows Mesos' ``Slave::initialize`` in spirit: kill what a previous run left behind
(roost does not recover executors), probe resources, serve HTTP on ``--port`` (5051), then
register with the master and keep re-registering after every disconnection. ``stop`` leaves no
process behind: every container is killed (SIGTERM, then SIGKILL after the grace period).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from roost.cluster.agent.agent import Agent
from roost.cluster.agent.app import create_app
from roost.cluster.agent.config import AgentConfig
from roost.cluster.agent.containerizer import Containerizer
from roost.cluster.agent.master_link import MasterLink
from roost.cluster.agent.probe import build_resources, parse_attributes
from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.core.http import HttpServer
from roost.core.logs import kv

log = logging.getLogger(__name__)


class AgentServer:
    """One agent: HTTP server, master link and containers, started and stopped together."""

    def __init__(self, config: AgentConfig, clock: Clock = SYSTEM_CLOCK) -> None:
        config.validate()
        self.config = config
        self._clock = clock
        self.registered = asyncio.Event()
        self._agent: Agent | None = None
        self._http: HttpServer | None = None
        self._link: MasterLink | None = None

    @property
    def agent(self) -> Agent:
        if self._agent is None:
            raise RuntimeError("the agent is not started")
        return self._agent

    @property
    def port(self) -> int:
        """The bound HTTP port (useful with ``port=0``)."""
        return self._http.port if self._http is not None else self.config.port

    @property
    def agent_id(self) -> str | None:
        return self._agent.agent_id if self._agent is not None else None

    async def start(self) -> None:
        cfg = self.config
        containerizer = await asyncio.to_thread(
            Containerizer, cfg.work_dir, cgroups="auto" if cfg.cgroups == "auto" else None
        )
        orphans = await asyncio.to_thread(containerizer.cleanup_orphans)
        if orphans:
            log.warning("killed containers left by a previous run", extra=kv(count=orphans))
        resources = await asyncio.to_thread(build_resources, cfg.work_dir, cfg.resources)
        attributes = parse_attributes(cfg.attributes or "")
        hostname = await asyncio.to_thread(cfg.advertised_hostname)
        agent = Agent(
            cfg,
            containerizer,
            self._clock,
            resources=resources,
            attributes=attributes,
            hostname=hostname,
        )
        agent.registered = self.registered
        self._agent = agent
        self._http = HttpServer(create_app(agent), cfg.ip, cfg.port, name="agent")
        await self._http.start()
        agent.port = self._http.port
        self._link = MasterLink(
            cfg.master,
            agent,
            backoff_min=cfg.reconnect_backoff_min,
            backoff_max=cfg.reconnect_backoff_max,
        )
        agent.link = self._link
        self._link.start()
        agent.spawn(agent.retry_updates(), name="agent-status-update-retries")
        log.info(
            "agent started",
            extra=kv(port=agent.port, hostname=hostname, master=cfg.master, resources=resources),
        )

    async def stop(self) -> None:
        """Close the master link, kill every container, stop serving."""
        if self._link is not None:
            await self._link.close()
            self._link = None
        if self._agent is not None:
            await self._agent.close()
        if self._http is not None:
            await self._http.stop()
            self._http = None


async def run_agent(config: AgentConfig) -> None:
    """Run an agent until cancelled, then stop it cleanly."""
    server = AgentServer(config)
    await server.start()
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(server.stop())
