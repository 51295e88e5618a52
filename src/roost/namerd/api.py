"""namerd's HTTP API (Linkerd ``io.l5d.httpController``, port 4180), as a Starlette app.

=========================================  ===============================================
``GET /api/1/dtabs``                       ``["default", …]``, sorted
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
``GET /api/1/bind/<ns>?path=[&dtab=]``     the bound tree as JSON
``GET /api/1/addr/<ns>?path=<bound id>``   the addresses of a bound name
``GET /api/1/resolve/<ns>?path=``          bind, then the addresses of what it reached
``GET /api/1/delegate/<ns>?path=``         the explain tree (``/delegator.json``'s JSON)
``GET /api/1/bound-names``                 the bound ids seen so far
=========================================  ===============================================

Bodies are ``application/dtab`` (dtab text) or ``application/json`` (the list form); a
malformed dtab, path or namespace is 400 with the parser's message, another content type 415.
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
from roost.naming import BoundName, Dtab, NamingSyntaxError, Path, bind, delegate
from roost.naming.binding import Mounts
from roost.naming.delegate import addr_json, bound_json
from roost.naming.tree import Leaf, NameTree, Union
from roost.rpc.stats import MetricsRegistry, StatsReceiver, prometheus_text

DTAB_TYPE = "application/dtab"


def dtab_json(dtab: Dtab) -> list[dict[str, str]]:
    return [{"prefix": d.prefix.show, "dst": d.dst.show} for d in dtab]


def _tree_json(tree: NameTree[BoundName]) -> dict[str, Any]:
    if isinstance(tree, Leaf):
        return {"type": "leaf", "bound": bound_json(tree.value)}
    if isinstance(tree, Union):
        return {
            "type": "union",
            "trees": [{"weight": w.weight, "tree": _tree_json(w.tree)} for w in tree.trees],
        }
    return {"type": {"~": "neg", "!": "fail", "$": "empty"}[tree.show]}


def _text(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status)


class NamerdApi:
    def __init__(self, dtabs: DtabStore, namers: Mounts = ()) -> None:
        self.dtabs = dtabs
        self.namers = namers
        self.bound: dict[str, BoundName] = {}

    # -- helpers --------------------------------------------------------------------------

    async def _body_dtab(self, request: Request) -> Dtab | Response:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = (await request.body()).decode("utf-8", "replace")
        try:
            if ctype == DTAB_TYPE:
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
        return _text(415, f"Content-Type must be {DTAB_TYPE} or application/json")

    @staticmethod
    def _render(dtab: Dtab, request: Request) -> tuple[str, str]:
        if DTAB_TYPE in request.headers.get("accept", ""):
            return dtab.show, DTAB_TYPE
        return json.dumps(dtab_json(dtab), separators=(",", ":")), "application/json"

    def _ns(self, request: Request) -> str:
        return check_namespace(request.path_params["ns"])

    def _path(self, request: Request) -> Path:
        return Path.read(request.query_params.get("path", ""))

    async def _dtab_of(self, ns: str, request: Request) -> Dtab:
        found = await self.dtabs.get(ns)
        base = found[0] if found else Dtab()
        return base + Dtab.read(request.query_params.get("dtab", ""))

    # -- routes ---------------------------------------------------------------------------

    async def list_namespaces(self, request: Request) -> Response:
        return json_response(await self.dtabs.namespaces())

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

    async def bind(self, request: Request) -> Response:
        ns = self._ns(request)
        tree = await bind(await self._dtab_of(ns, request), self._path(request), namers=self.namers)
        for name in tree.leaves():
            self.bound[name.id.show] = name
        return json_response(_tree_json(tree))

    async def addr(self, request: Request) -> Response:
        self._ns(request)
        path = self._path(request)
        name = self.bound.get(path.show)
        if name is None:
            return json_response({"type": "neg"})
        return json_response(addr_json(name.addr.value))

    async def resolve(self, request: Request) -> Response:
        ns = self._ns(request)
        tree = await bind(await self._dtab_of(ns, request), self._path(request), namers=self.namers)
        found = tree.eval()
        if not found:
            return json_response({"type": "neg"})
        addrs: list[Any] = []
        for name in sorted(found, key=lambda n: n.id.show):
            self.bound[name.id.show] = name
            addrs.extend(addr_json(name.addr.value).get("addrs", []))
        return json_response({"type": "bound", "addrs": addrs, "meta": {}})

    async def delegate(self, request: Request) -> Response:
        ns = self._ns(request)
        node = await delegate(
            await self._dtab_of(ns, request), self._path(request), namers=self.namers
        )
        return json_response(node.to_json())

    async def bound_names(self, request: Request) -> Response:
        return json_response(sorted(self.bound))


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
        except NamingSyntaxError as exc:
            kind = "dtab" if "dtab" in request.query_params else "path"
            return _text(400, f"Invalid {kind}: {exc}")
        return response

    def route(path: str, handler: Any, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            request.scope["roost_handler"] = handler
            return await guarded(request)

        return Route(path, endpoint, methods=methods)

    async def health(request: Request) -> Response:
        return _text(200, "OK\n")

    async def ping(request: Request) -> Response:
        return _text(200, "pong")

    async def prometheus(request: Request) -> Response:
        text = prometheus_text(registry)
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [
        route("/api/1/dtabs", api.list_namespaces, ["GET"]),
        route("/api/1/dtabs/{ns}", api.get_dtab, ["GET", "HEAD"]),
        route("/api/1/dtabs/{ns}", api.create_dtab, ["POST"]),
        route("/api/1/dtabs/{ns}", api.put_dtab, ["PUT"]),
        route("/api/1/dtabs/{ns}", api.delete_dtab, ["DELETE"]),
        route("/api/1/bind/{ns}", api.bind, ["GET"]),
        route("/api/1/addr/{ns}", api.addr, ["GET"]),
        route("/api/1/resolve/{ns}", api.resolve, ["GET"]),
        route("/api/1/delegate/{ns}", api.delegate, ["GET"]),
        route("/api/1/bound-names", api.bound_names, ["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/admin/ping", ping, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    return Starlette(routes=routes)
