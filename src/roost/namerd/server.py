"""``roost namerd``: the dtab store behind an HTTP API (port 4180).

Dtabs live in a :class:`roost.coord.Store` (``--store``: SQLite by default, so several
namerd processes on one machine share them, or ``memory://``). Binding answers
(``/api/1/bind``, ``resolve``, ``delegate``) use the system namers (``/$/inet``, …).
"""

from __future__ import annotations

from roost.coord import open_store
from roost.coord.store import Store
from roost.core.http import HttpServer
from roost.namerd.api import NamerdApi, namerd_app
from roost.namerd.dtabs import DtabStore
from roost.rpc.stats import MetricsRegistry


class NamerdServer:
    def __init__(self, store: str | Store = "memory://", ip: str = "127.0.0.1", port: int = 4180):
        self._own_store = isinstance(store, str)
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.dtabs = DtabStore(self.store)
        self.registry = MetricsRegistry()
        self.api = NamerdApi(self.dtabs)
        self.http = HttpServer(namerd_app(self.api, self.registry), ip, port, "namerd")

    @property
    def port(self) -> int:
        return self.http.port

    @property
    def url(self) -> str:
        return f"http://{self.http.host}:{self.http.port}"

    async def start(self) -> None:
        await self.http.start()

    async def stop(self) -> None:
        await self.http.stop()
        if self._own_store:
            await self.store.close()
