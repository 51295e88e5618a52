"""``roost namerd``: the dtab store behind an HTTP API (port 4180).

Dtabs live in a :class:`roost.coord.Store` (``--store``: SQLite by default, so several
namerd processes on one machine share them, or ``memory://``). Binding answers
(``/api/1/bind``, ``addr``, ``resolve``, ``delegate``) go through the configured namers
(``namers:`` of ``roost namerd --config``, mounted at ``/#/<prefix>``), then the system
namers (``/$/inet``, …). The namers start with the server and are closed when it stops.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path as FilePath

from roost.coord import open_store
from roost.coord.store import Store
from roost.core.http import HttpServer
from roost.namerd.api import NamerdApi, admin_app, namerd_app
from roost.namerd.config import InMemoryStorage, NamerdConfig, RoostStorage
from roost.namerd.dtabs import DtabStore
from roost.naming import Dtab
from roost.naming.namers.config import ConfiguredNamer, NamerConfig, build_namers
from roost.rpc.stats import MetricsRegistry


class NamerdServer:
    def __init__(
        self,
        store: str | Store = "memory://",
        ip: str = "127.0.0.1",
        port: int = 4180,
        *,
        namers: Sequence[NamerConfig] = (),
        base_dir: FilePath | None = None,
        namespaces: Mapping[str, str] | None = None,
        admin: tuple[str, int] | None = None,
    ) -> None:
        """``namers`` are made at :meth:`start` (an ``io.l5d.fs`` ``rootDir`` is relative to
        ``base_dir``, default the working directory); ``namespaces`` (name -> dtab text) are
        written at start; ``admin`` is the address of a separate admin server, if any."""
        self._own_store = isinstance(store, str)
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.dtabs = DtabStore(self.store)
        self.registry = MetricsRegistry()
        self.api = NamerdApi(self.dtabs)
        self.namer_configs = tuple(namers)
        self.base_dir = base_dir or FilePath.cwd()
        self.seeds = {ns: Dtab.read(text) for ns, text in (namespaces or {}).items()}
        self._namers: list[ConfiguredNamer] = []
        self.http = HttpServer(namerd_app(self.api, self.registry), ip, port, "namerd")
        self.admin: HttpServer | None = None
        if admin is not None:
            self.admin = HttpServer(admin_app(self.registry), *admin, "namerd admin")

    @classmethod
    def from_config(
        cls,
        config: NamerdConfig,
        base_dir: FilePath,
        *,
        store: str | None = None,
        ip: str | None = None,
        port: int | None = None,
    ) -> NamerdServer:
        """The namerd ``config`` describes; ``store``, ``ip`` and ``port`` (the command's
        flags), when given, replace the file's ``storage`` and its interface's address."""
        seeds: Mapping[str, str] = {}
        if store is None:
            storage = config.storage
            if isinstance(storage, InMemoryStorage):
                store, seeds = "memory://", storage.namespaces
            else:
                assert isinstance(storage, RoostStorage)  # the other kinds fail validation
                store = storage.url
        http = config.http
        admin = None if config.admin is None else (config.admin.ip, config.admin.port)
        return cls(
            store,
            http.ip if ip is None else ip,
            http.port if port is None else port,
            namers=config.namers,
            base_dir=base_dir,
            namespaces=seeds,
            admin=admin,
        )

    @property
    def port(self) -> int:
        return self.http.port

    @property
    def url(self) -> str:
        return f"http://{self.http.host}:{self.http.port}"

    @property
    def admin_url(self) -> str | None:
        return None if self.admin is None else f"http://{self.admin.host}:{self.admin.port}"

    async def start(self) -> None:
        try:
            mounts, self._namers = build_namers(self.namer_configs, self.base_dir)
            self.api.binding.namers = mounts
            for ns, dtab in self.seeds.items():
                await self.dtabs.put(ns, dtab)
            await self.http.start()
            if self.admin is not None:
                await self.admin.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await self.http.stop()
        if self.admin is not None:
            await self.admin.stop()
        for namer in self._namers:
            await namer.aclose()
        self._namers = []
        self.api.binding.namers = ()
        if self._own_store:
            await self.store.close()
