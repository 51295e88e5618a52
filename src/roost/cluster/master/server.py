"""``MasterServer``: the master with its store and HTTP server, ready to start and stop."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from roost.cluster.master.app import build_app
from roost.cluster.master.config import MasterConfig
from roost.cluster.master.master import Master
from roost.cluster.master.operator import StateView
from roost.coord import open_store
from roost.coord.store import Store
from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.core.http import HttpServer
from roost.core.logs import kv

log = logging.getLogger("roost.master")


class MasterServer:
    def __init__(self, config: MasterConfig, clock: Clock = SYSTEM_CLOCK) -> None:
        config.validate()
        self.config = config
        self.clock = clock
        self.master: Master | None = None
        self.view: StateView | None = None
        self._store: Store | None = None
        self._http: HttpServer | None = None

    @property
    def port(self) -> int:
        assert self._http is not None, "server not started"
        return self._http.port

    @property
    def address(self) -> str:
        return f"{self.config.ip}:{self.port}"

    async def start(self) -> None:
        Path(self.config.work_dir).mkdir(parents=True, exist_ok=True)
        self._store = open_store(self.config.store_url())
        master = Master(self.config, self._store, self.clock)
        app, self.view = build_app(master)
        self._http = HttpServer(app, self.config.ip, self.config.port, name="master")
        master.port = self._http.port
        await master.recover()
        await self._http.start()
        master.start()
        self.master = master
        log.info("master started", extra=kv(address=self.address, id=master.master_id))

    async def stop(self) -> None:
        if self.master is not None:
            await self.master.stop()
        if self._http is not None:
            await self._http.stop()
        if self._store is not None:
            await self._store.close()
        self.master = None


async def run_master(config: MasterConfig) -> None:
    server = MasterServer(config)
    await server.start()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
