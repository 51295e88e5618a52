"""A running mesh: the namers, routers, their servers and the admin server of one
configuration (``roost mesh --config FILE.yaml``).

Admin (``admin.ip``:``admin.port``, 9990): ``/`` the dashboard, ``/admin/ping`` (``pong``), ``/health``,
``/admin/metrics.json`` (the flat metric tree ``rt/<router>/server|service|client/…``; ``tree=1``
nests it, ``q=<subtree>`` keeps one subtree, ``pretty=1`` indents),
``/admin/metrics/prometheus`` and ``/metrics`` (plus each ``io.l5d.prometheus`` telemeter's
``path``, with its ``prefix``), ``/config.json``, ``/delegator.json?path=&dtab=[&namespace=<router label>]`` (``router=`` too),
``/bound-names.json`` (every name the namers can list, ``io.l5d.fs``'s files, and every
bound id in use).

An ``io.l5d.zipkin`` telemeter (``roost.mesh.telemetry``) has the routers record spans to its
exporter, which starts with the mesh and posts what is left when it stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path as FilePath
from typing import Any
from urllib.parse import parse_qs

from roost.mesh.config import MeshConfig, NamerdHttpInterpreter, RouterConfig, ServerConfig
from roost.mesh.dashboard import DASHBOARD_HTML
from roost.mesh.hops import RouterEdge, server_classifier
from roost.mesh.lane.conn import LaneConnection
from roost.mesh.lane.route import Lane
from roost.mesh.lane.tally import Tally
from roost.mesh.namerd_interpreter import NamerdDtabWatcher, namerd_url
from roost.mesh.router import Router
from roost.mesh.telemetry import MeshTracing, prometheus_page, prometheus_pages, zipkin_of
from roost.naming import Dtab, NamingSyntaxError, Path, delegate
from roost.naming.binding import Mounts
from roost.naming.namers.config import ConfiguredNamer, build_namers, enumerated_names
from roost.rpc.http import Headers, Request, Response, Server, serve
from roost.rpc.http import ServerConfig as HttpServerConfig
from roost.rpc.service import FnService
from roost.rpc.stats import MetricsRegistry, StatsReceiver, metrics_json

log = logging.getLogger(__name__)


class Mesh:
    def __init__(
        self,
        config: MeshConfig,
        *,
        base_dir: FilePath | None = None,
        registry: MetricsRegistry | None = None,
        raw_config: Any = None,
        reuse_port: bool = False,
        admin: bool = True,
        flush_interval: float = 1.0,
        fast_lane: bool | None = None,
    ) -> None:
        """``reuse_port``: several processes share the router ports (``--workers``);
        ``admin``: serve the admin port (only one worker does); ``flush_interval``: how often
        the Zipkin exporter posts the spans it has queued (seconds); ``fast_lane``: serve
        plain requests through :mod:`roost.mesh.lane` (default: on unless the environment
        sets ``ROOST_MESH_LANE=0``)."""
        if fast_lane is None:
            fast_lane = os.environ.get("ROOST_MESH_LANE", "1") != "0"
        self.config = config
        self.base_dir = base_dir or FilePath.cwd()
        self.registry = registry if registry is not None else MetricsRegistry()
        self.raw_config = raw_config
        self.reuse_port = reuse_port
        self.serve_admin = admin
        self.routers: list[Router] = []
        self.servers: list[Server] = []
        self.admin: Server | None = None
        self._namers: list[ConfiguredNamer] = []
        self._mounts: Mounts = ()
        self.watchers: list[NamerdDtabWatcher] = []
        self.flush_interval = flush_interval
        self.fast_lane = fast_lane
        self._lanes: list[Lane] = []
        self._tallies: dict[str, Tally] = {}
        self.tracing: MeshTracing | None = None
        self._prometheus = prometheus_pages(config.telemetry)

    async def start(self) -> None:
        self._mounts, self._namers = build_namers(self.config.namers, self.base_dir)
        stats = StatsReceiver(self.registry)
        zipkin = zipkin_of(self.config.telemetry)
        if zipkin is not None:
            self.tracing = MeshTracing(zipkin, stats, flush_interval=self.flush_interval)
            self.tracing.start()
        try:
            for rc in self.config.routers:
                router = Router(rc, namers=self._mounts, stats=stats, tracing=self.tracing)
                self.routers.append(router)
                await router.start()
                if isinstance(rc.interpreter, NamerdHttpInterpreter):
                    url = await namerd_url(rc.interpreter.dst)
                    retry = rc.interpreter.retry
                    backoff = (
                        {"min_backoff": retry.baseSeconds, "max_backoff": retry.maxSeconds}
                        if retry is not None
                        else {}
                    )
                    watcher = NamerdDtabWatcher(
                        url, rc.interpreter.namespace, router.set_base, **backoff
                    )
                    watcher.start()
                    self.watchers.append(watcher)
                for sc in rc.servers:
                    self.servers.append(await self._serve(router, rc, sc, stats))
            admin = self.config.admin
            if self.serve_admin:
                self.admin = await serve(
                    (admin.ip, admin.port), FnService(self._admin), label="admin"
                )
        except BaseException:
            await self.stop()
            raise

    async def _serve(
        self, router: Router, rc: RouterConfig, sc: ServerConfig, stats: StatsReceiver
    ) -> Server:
        edge = RouterEdge(router, max_call_depth=sc.maxCallDepth, clear_context=sc.clearContext)
        lanes: list[Lane] = []

        def connection(server: Server) -> asyncio.Protocol:
            if not lanes:  # (a router's servers' lanes share one tally: one order)
                tally = self._tallies.setdefault(rc.name, Tally())
                lanes.append(Lane(router, server.service, tally))
                self._lanes.append(lanes[0])
            return LaneConnection(server, lanes[0])

        plain = sc.maxConcurrentRequests is None and not sc.clearContext and self.fast_lane
        server = await serve(
            (sc.ip, sc.port),
            edge,
            label=f"{sc.ip}/{sc.port}",
            stats=stats.scope("rt", rc.name),
            stats_scope="server",
            max_concurrent=sc.maxConcurrentRequests,
            classifier=server_classifier,
            tracer=router.tracer,
            config=HttpServerConfig(reuse_port=self.reuse_port),
            protocol=connection if plain and router.tracer is None else None,
        )
        scope = stats.scope("rt", rc.name, "server", f"{sc.ip}/{sc.port}")
        scope.gauge("connections", fn=lambda: float(len(server.connections)))
        return server

    async def stop(self) -> None:
        for watcher in self.watchers:
            await watcher.aclose()
        self.watchers = []
        for server in self.servers:
            await server.close(grace=1.0)
        self.servers = []
        for lane in self._lanes:
            lane.close()
        self._lanes = []
        if self.admin is not None:
            await self.admin.close(grace=0.5)
            self.admin = None
        for router in self.routers:
            await router.aclose()
        self.routers = []
        for namer in self._namers:
            await namer.aclose()
        self._namers = []
        if self.tracing is not None:  # last: the spans of the requests served above are in
            await self.tracing.aclose()
            self.tracing = None

    # -- admin --------------------------------------------------------------------------

    async def _admin(self, req: Request) -> Response:
        path = req.path
        if path in ("/", "/dashboard"):
            return _text(200, DASHBOARD_HTML, "text/html; charset=utf-8")
        if path == "/admin/ping":
            return _text(200, "pong")
        if path == "/health":
            return _text(200, "OK\n")
        if path in ("/admin/metrics.json", "/admin/metrics.json/"):
            query = parse_qs(req.target.partition("?")[2])
            tree = _flag(query, "tree")
            page = metrics_json(self.registry, tree=tree, q=query.get("q", [""])[0])
            return _json(page, pretty=_flag(query, "pretty"))
        prefix = self._prometheus.get(path)
        if prefix is not None:
            body = prometheus_page(self.registry, prefix)
            return _text(200, body, "text/plain; version=0.0.4; charset=utf-8")
        if path == "/config.json":
            return _json(self.raw_config if self.raw_config is not None else {})
        if path == "/bound-names.json":
            used = {str(k) for r in self.routers for k in r.clients._clients.keys()}
            return _json(sorted(used | enumerated_names(self._namers)))
        if path == "/delegator.json":
            return await self._delegator(req)
        return _text(404, f"no such admin page: {path}")

    async def _delegator(self, req: Request) -> Response:
        query = parse_qs(req.target.partition("?")[2])
        first = self.routers[0].name if self.routers else ""
        name = (query.get("namespace") or query.get("router") or [first])[0]
        router = next((r for r in self.routers if r.name == name), None)
        if router is None:
            return _text(404, f"no router labelled {name!r}")
        try:
            path = Path.read(query.get("path", [""])[0])
        except NamingSyntaxError as exc:
            return _text(400, f"Invalid path: {exc}")
        try:
            local = Dtab.read(query.get("dtab", [""])[0])
        except NamingSyntaxError as exc:
            return _text(400, f"Invalid dtab: {exc}")
        node = await delegate(router.base + local, path, namers=self._mounts)
        return _json(node.to_json())


def _text(status: int, body: str, ctype: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, Headers([("Content-Type", ctype)]), body.encode())


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["0"])[0].lower() in ("1", "true", "")


def _json(value: object, *, pretty: bool = False) -> Response:
    if pretty:
        body = json.dumps(value, indent=2, sort_keys=True).encode()
    else:
        body = json.dumps(value, separators=(",", ":")).encode()
    return Response(200, Headers([("Content-Type", "application/json")]), body)
