"""namerd's HTTP API (Linkerd ``io.l5d.httpController``, port 4180), as a Starlette app.

=========================================  ===============================================
``GET /api/1/dtabs[?watch=true]``       ``["default", …]``, sorted (a line per change)
``GET /api/1/dtabs/<ns>``                  the dtab: JSON ``[{"prefix","dst"}]``, or text
                                           with ``Accept: application/dtab``; ``ETag``;
                                           404 when absent; ``?watch=true`` streams it,
                                           one rendering and ``\\n`` per distinct change
``HEAD /api/1/dtabs/<ns>``                 the ``ETag`` only
``POST /api/1/dtabs/<ns>``                 create: 204; 409 when it exists
``PUT /api/1/dtabs/<ns>``                  with ``If-Match: <etag>`` compare-and-set: 204,
                                           412 (another version), 404 (absent); without:
                                           create or replace, 204
``DELETE /api/1/dtabs/<ns>``               204; 404
``GET /api/1/bind/<ns>?path=[&dtab=]``     the bound tree as JSON; ``?watch=true`` streams it
``GET /api/1/addr/<ns>?path=<bound id>``   the addresses of a bound name; ``?watch=true``
                                           streams them
``GET /api/1/resolve/<ns>?path=``          bind, then the addresses of what it reached
``GET /api/1/delegate/<ns>?path=``         the explain tree (``/delegator.json``'s JSON)
``GET /api/1/bound-names``                 listed names and the ids bound so far
=========================================  ===============================================

Binding goes through the configured namers and the system namers
(``roost.namerd.binding_api``).

Bodies are ``application/dtab`` (dtab text) or ``application/json`` (the list form); a
malformed dtab, path or namespace is 400 with the parser's message, and so is a body in another
content type than ``application/dtab``, ``text/plain`` (dtab text) or ``application/json``.
Also ``/health``, ``/admin/ping`` and ``/metrics``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from roost.core.http import json_response
from roost.namerd.binding_api import BadQuery, BindingApi
from roost.namerd.dtabs import (
    DtabExists,
    DtabNotFound,
    DtabStore,
    NamespaceError,
    VersionMismatch,
    check_namespace,
    etag,
    parse_etag,
)
from roost.naming import Dtab, NamingSyntaxError
from roost.naming.binding import Mounts
from roost.rpc.stats import MetricsRegistry, StatsReceiver, prometheus_text

DTAB_TYPE = "application/dtab"
TEXT_TYPES = frozenset({DTAB_TYPE, "text/plain"})
"""Content types of dtab text (Linkerd's ``DtabCodec.Text`` takes both)."""


def dtab_json(dtab: Dtab) -> list[dict[str, str]]:
    return [{"prefix": d.prefix.show, "dst": d.dst.show} for d in dtab]


def _text(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status)


class NamerdApi:
    """The dtab routes; the binding routes are :attr:`binding`'s."""

    def __init__(self, dtabs: DtabStore, namers: Mounts = ()) -> None:
        self.dtabs = dtabs
        self.binding = BindingApi(dtabs, namers)

    # -- helpers --------------------------------------------------------------------------

    async def _body_dtab(self, request: Request) -> Dtab | Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = (await request.body()).decode("utf-8", "replace")
        try:
            if ctype in TEXT_TYPES:
                return Dtab.read(raw)
            if ctype == "application/json":
                items = json.loads(raw)
                if not isinstance(items, list) or not all(
                    isinstance(i, dict) and set(i) == {"prefix", "dst"} for i in items
                ):
                    return _text(400, 'expected a JSON list of {"prefix", "dst"} objects')
                return Dtab.read(";".join(f"{i['prefix']}=>{i['dst']}" for i in items))
        except (NamingSyntaxError, TypeError) as exc:
            return _text(400, f"Invalid dtab: {exc}")
        except ValueError as exc:
            return _text(400, f"Invalid JSON: {exc}")
        return _text(400, f"Content-Type must be {DTAB_TYPE}, text/plain or application/json")

    @staticmethod
    def _render(dtab: Dtab, request: Request) -> tuple[str, str]:
        """The first type of ``Accept`` namerd knows: dtab text (``application/dtab``,
        ``text/plain``) or JSON, the default."""
        for item in request.headers.get("accept", "").split(","):
            kind = item.split(";")[0].strip().lower()
            if kind in TEXT_TYPES:
                return dtab.show, kind
            if kind == "application/json":
                break
        return json.dumps(dtab_json(dtab), separators=(",", ":")), "application/json"

    def _ns(self, request: Request) -> str:
        return check_namespace(request.path_params["ns"])

    # -- routes ---------------------------------------------------------------------------

    async def list_namespaces(self, request: Request) -> Response:
        if request.query_params.get("watch", "").lower() == "true":
            return StreamingResponse(self._watch_list(), media_type="application/json")
        return json_response(await self.dtabs.namespaces())

    async def _watch_list(self) -> AsyncIterator[bytes]:
        async for names in self.dtabs.watch_namespaces():
            yield (json.dumps(names) + "\n").encode()

    async def get_dtab(self, request: Request) -> Response:
        ns = self._ns(request)
        if request.query_params.get("watch", "").lower() == "true":
            return StreamingResponse(self._watch(ns, request), media_type="application/json")
        found = await self.dtabs.get(ns)
        if found is None:
            return _text(404, f"no dtab named {ns}")
        dtab, version = found
        if request.method == "HEAD":
            return Response(status_code=200, headers={"ETag": etag(version)})
        body, ctype = self._render(dtab, request)
        return Response(body, headers={"ETag": etag(version)}, media_type=ctype)

    async def _watch(self, ns: str, request: Request) -> AsyncIterator[bytes]:
        async for state in self.dtabs.watch(ns):
            if state is None:
                continue  # absent: nothing to render until it exists
            body, _ = self._render(state[0], request)
            yield (body + "\n").encode()

    async def create_dtab(self, request: Request) -> Response:
        ns = self._ns(request)
        dtab = await self._body_dtab(request)
        if isinstance(dtab, Response):
            return dtab
        try:
            version = await self.dtabs.create(ns, dtab)
        except DtabExists:
            return _text(409, f"dtab {ns} already exists")
        return Response(status_code=204, headers={"ETag": etag(version)})

    async def put_dtab(self, request: Request) -> Response:
        ns = self._ns(request)
        dtab = await self._body_dtab(request)
        if isinstance(dtab, Response):
            return dtab
        match = request.headers.get("if-match")
        if match is None:
            version = await self.dtabs.put(ns, dtab)
            return Response(status_code=204, headers={"ETag": etag(version)})
        expected = parse_etag(match)
        if expected is None:
            return _text(412, f"If-Match {match!r} is not a version of {ns}")
        try:
            version = await self.dtabs.update(ns, dtab, expected)
        except DtabNotFound:
            return _text(404, f"no dtab named {ns}")
        except VersionMismatch:
            return _text(412, f"dtab {ns} is not at version {match}")
        return Response(status_code=204, headers={"ETag": etag(version)})

    async def delete_dtab(self, request: Request) -> Response:
        ns = self._ns(request)
        try:
            await self.dtabs.delete(ns)
        except DtabNotFound:
            return _text(404, f"no dtab named {ns}")
        return Response(status_code=204)


def namerd_app(api: NamerdApi, metrics: MetricsRegistry | None = None) -> Starlette:
    registry = metrics if metrics is not None else MetricsRegistry()
    stats = StatsReceiver(registry, "namerd")

    async def guarded(request: Request) -> Response:
        handler = request.scope["roost_handler"]
        stats.counter("requests").incr()
        try:
            response: Response = await handler(request)
        except NamespaceError as exc:
            return _text(400, str(exc))
        except BadQuery as exc:
            return _text(400, str(exc))
        except NamingSyntaxError as exc:
            return _text(400, f"Invalid dtab: {exc}")
        return response

    def route(path: str, handler: Any, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            request.scope["roost_handler"] = handler
            return await guarded(request)

        return Route(path, endpoint, methods=methods)

    routes = [
        route("/api/1/dtabs", api.list_namespaces, ["GET"]),
        route("/api/1/dtabs/{ns}", api.get_dtab, ["GET", "HEAD"]),
        route("/api/1/dtabs/{ns}", api.create_dtab, ["POST"]),
        route("/api/1/dtabs/{ns}", api.put_dtab, ["PUT"]),
        route("/api/1/dtabs/{ns}", api.delete_dtab, ["DELETE"]),
        route("/api/1/bind/{ns}", api.binding.bind, ["GET"]),
        route("/api/1/addr/{ns}", api.binding.addr, ["GET"]),
        route("/api/1/resolve/{ns}", api.binding.resolve, ["GET"]),
        route("/api/1/delegate/{ns}", api.binding.delegate, ["GET"]),
        route("/api/1/bound-names", api.binding.bound_names, ["GET"]),
        *admin_routes(registry),
    ]
    return Starlette(routes=routes)


def admin_routes(registry: MetricsRegistry) -> list[Route]:
    """``/health``, ``/admin/ping`` and ``/metrics`` (Prometheus text)."""

    async def health(request: Request) -> Response:
        return _text(200, "OK\n")

    async def ping(request: Request) -> Response:
        return _text(200, "pong")

    async def prometheus(request: Request) -> Response:
        text = prometheus_text(registry)
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    return [
        Route("/health", health, methods=["GET"]),
        Route("/admin/ping", ping, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]


def admin_app(registry: MetricsRegistry) -> Starlette:
    """The ``admin`` server of a configured namerd (Linkerd's admin port, 9991)."""
    return Starlette(routes=admin_routes(registry))
