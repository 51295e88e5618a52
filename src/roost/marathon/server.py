"""``roost marathon``: the orchestrator, its framework connection and the REST API, together.

Start order: open the store and load state (apps, instances, running deployments), serve the
API (reads work at once), then subscribe to the master with the stored framework id, which
re-adopts the tasks of a previous run (reconciled, never killed when healthy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from pathlib import Path

from roost.cluster.scheduler import SchedulerDriver
from roost.coord import open_store
from roost.coord.store import Store
from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.core.http import HttpServer
from roost.marathon.api.app import create_app
from roost.marathon.api.base import MarathonContext
from roost.marathon.config import MarathonConfig
from roost.marathon.emit import Emitter
from roost.marathon.events import EventBus
from roost.marathon.framework import MarathonScheduler
from roost.marathon.operations import Operations
from roost.marathon.orchestrator import Orchestrator
from roost.marathon.placement import ServicePortAllocator
from roost.marathon.repository import Repository
from roost.marathon.timestamps import format_ts

log = logging.getLogger(__name__)


def advertised_host(ip: str, hostname: str | None) -> str:
    if hostname:
        return hostname
    return socket.gethostname() if ip in ("0.0.0.0", "::") else ip


def _make_parent_dir(url: str) -> None:
    """``sqlite:///.roost/marathon/x.db`` works on a fresh machine: create ``.roost/marathon``."""
    if url.lower().startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        Path(path).parent.mkdir(parents=True, exist_ok=True)


class MarathonServer:
    def __init__(
        self, config: MarathonConfig, *, store: Store | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        config.validate()
        self.config = config
        self.clock = clock
        self._own_store = store is None
        self.store = store
        self.bus = EventBus()
        self.orc: Orchestrator | None = None
        self.scheduler: MarathonScheduler | None = None
        self.driver: SchedulerDriver | None = None
        self.http: HttpServer | None = None

    @property
    def port(self) -> int:
        assert self.http is not None
        return self.http.port

    @property
    def address(self) -> str:
        return f"{self.config.ip}:{self.port}"

    async def start(self) -> None:
        cfg = self.config
        if self.store is None:
            _make_parent_dir(cfg.store)
            self.store = open_store(cfg.store)
        emit = Emitter(self.bus, lambda: format_ts(self.clock.time()))
        orc = self.orc = Orchestrator(Repository(self.store), emit, clock=self.clock)
        await orc.load()
        ports = ServicePortAllocator(cfg.local_port_min, cfg.local_port_max)
        ops = Operations(orc, ports)
        host = advertised_host(cfg.ip, cfg.hostname)
        context = MarathonContext(
            orc=orc,
            ops=ops,
            bus=self.bus,
            hostname=host,
            http_port=cfg.port,
            master=cfg.master,
            framework_name=cfg.framework_name,
            started_at=self.clock.time(),
        )
        self.http = HttpServer(create_app(context), cfg.ip, cfg.port, name="marathon")
        context.http_port = self.http.port
        await self.http.start()
        self.scheduler = MarathonScheduler(orc, decline_seconds=cfg.decline_offer_duration)
        orc.cluster = self.scheduler
        info = {
            "name": cfg.framework_name,
            "failover_timeout": cfg.failover_timeout,
            "checkpoint": True,
            "hostname": host,
            "webui_url": f"http://{host}:{self.http.port}",
            "roles": [cfg.role],
            "capabilities": [{"type": "MULTI_ROLE"}, {"type": "TASK_KILLING_STATE"}],
        }
        self.driver = SchedulerDriver(
            cfg.master, info, self.scheduler, framework_id=orc.framework_id
        )
        self.scheduler.driver = self.driver
        orc.start()
        await self.driver.start()

    async def wait_registered(self, timeout: float = 30.0) -> None:
        assert self.scheduler is not None
        await asyncio.wait_for(self.scheduler.registered.wait(), timeout)

    async def stop(self) -> None:
        """Stop serving; tasks keep running (the framework fails over, it is not torn down)."""
        if self.driver is not None:
            with contextlib.suppress(Exception):
                await self.driver.stop(failover=True)
        if self.orc is not None:
            await self.orc.stop()
        self.bus.close()
        if self.http is not None:
            await self.http.stop()
        if self.store is not None and self._own_store:
            await self.store.close()


async def run_marathon(config: MarathonConfig) -> None:
    server = MarathonServer(config)
    await server.start()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
