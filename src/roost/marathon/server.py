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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from roost.cluster.scheduler import SchedulerDriver
from roost.coord import open_store
from roost.coord.store import Store
from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.core.http import HttpServer
from roost.core.logs import kv
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
        self._framework_info: dict[str, Any] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._fatal = asyncio.Event()
        self.fatal_error: str | None = None
        """Why this server cannot go on (the master refused it); see :meth:`wait_fatal`."""

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
        self._framework_info = {
            "name": cfg.framework_name,
            "failover_timeout": cfg.failover_timeout,
            "checkpoint": True,
            "hostname": host,
            "webui_url": f"http://{host}:{self.http.port}",
            "roles": [cfg.role],
            "capabilities": [{"type": "MULTI_ROLE"}, {"type": "TASK_KILLING_STATE"}],
        }
        orc.start()
        await self._start_driver(orc.framework_id)
        self._watcher = asyncio.create_task(self._watch_driver(), name="marathon-driver-watch")

    async def _start_driver(self, framework_id: str | None) -> None:
        assert self.scheduler is not None
        self.driver = SchedulerDriver(
            self.config.master, self._framework_info, self.scheduler, framework_id=framework_id
        )
        self.scheduler.driver = self.driver
        await self.driver.start()

    async def _watch_driver(self) -> None:
        """The master removed the framework (away longer than its failover timeout): its
        tasks are gone. Subscribe again as a new framework; reconciliation then reports the
        old instances lost and they are replaced, instead of Marathon silently idling.

        Any other end of the driver (the master refused SUBSCRIBE) is fatal: the process
        exits with the reason rather than serving an API that can launch nothing."""
        removals = 0
        while True:
            assert self.driver is not None and self.scheduler is not None
            await self.driver.join()
            if self._stopping:
                return
            if not self.scheduler.removed:
                self._fail(f"the master ended this framework: {self.driver.last_error}")
                return
            removals += 1
            log.warning("the master removed this framework; subscribing as a new one")
            await asyncio.sleep(min(30.0, 0.5 * 2 ** min(removals - 1, 6)))
            self.scheduler.removed = False
            self.scheduler.registered.clear()
            assert self.orc is not None
            self.orc.framework_id = None
            try:
                await self._start_driver(None)
            except Exception as e:
                self._fail(f"could not subscribe again: {e}")
                return

    def _fail(self, error: str) -> None:
        log.error("marathon cannot go on", extra=kv(error=error))
        self.fatal_error = error
        self._fatal.set()

    async def wait_fatal(self) -> str:
        """Wait until this server cannot go on; returns why."""
        await self._fatal.wait()
        return self.fatal_error or "unknown error"

    async def wait_registered(self, timeout: float = 30.0) -> None:
        assert self.scheduler is not None
        await asyncio.wait_for(self.scheduler.registered.wait(), timeout)

    async def stop(self) -> None:
        """Stop serving; tasks keep running (the framework fails over, it is not torn down)."""
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watcher
        if self.scheduler is not None:
            await self.scheduler.aclose()
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


class MarathonFailed(RuntimeError):
    """The server cannot go on (see :attr:`MarathonServer.fatal_error`)."""


async def run_marathon(
    config: MarathonConfig, announce: Callable[[str], None] | None = None
) -> None:
    """Serve until cancelled; raises :class:`MarathonFailed` when the master ends the
    framework for good."""
    server = MarathonServer(config)
    await server.start()
    try:
        if announce is not None:
            announce(f"roost marathon serving http://{server.address} (master {config.master})")
        raise MarathonFailed(await server.wait_fatal())
    finally:
        await server.stop()
