"""The Starlette application serving Marathon's REST API v2.

Request paths are normalized first (``//`` collapsed: marathon-python sends ``/v2/apps//x``);
every error leaves as Marathon's JSON ``{"message": ...}`` with the upstream status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from roost.core.http import HttpError
from roost.core.metrics import prometheus_response, registry_for
from roost.marathon.api import apps, groups, misc
from roost.marathon.api.base import MarathonContext, error_response
from roost.marathon.api.metrics import metrics_json, metrics_snapshot
from roost.marathon.api.openapi import openapi_document
from roost.marathon.appdef import AppValidationError
from roost.marathon.errors import ApiError
from roost.marathon.query import QueryError, collapse_slashes

log = logging.getLogger(__name__)
Handler = Callable[[Request], Awaitable[Response]]


class CollapseSlashes:
    """ASGI middleware: ``/v2/apps//x`` is ``/v2/apps/x``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            scope = dict(scope)
            scope["path"] = collapse_slashes(scope["path"])
            scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


def _guard(fn: Handler) -> Handler:
    async def handler(request: Request) -> Response:
        c: MarathonContext = request.app.state.marathon
        key = f"{request.method} {request.url.path.split('/')[2] if request.url.path.startswith('/v2/') else request.url.path}"
        c.requests[key] = c.requests.get(key, 0) + 1
        try:
            return await fn(request)
        except (ApiError, AppValidationError, HttpError, QueryError) as e:
            return error_response(e)

    return handler


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return JSONResponse({"message": "URI not found"}, status_code=404)
    if exc.status_code == 405:
        return JSONResponse({"message": "HTTP method not allowed"}, status_code=405)
    return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"message": f"An unexpected server error occurred: {exc}"}, status_code=500)


def create_app(context: MarathonContext) -> ASGIApp:
    registry = registry_for(lambda: metrics_snapshot(context))

    async def prometheus(request: Request) -> Response:
        return prometheus_response(registry)

    async def metrics(request: Request) -> Response:
        """Marathon's JSON; a Prometheus scraper (which asks for text) gets the exposition."""
        accept = request.headers.get("accept", "")
        wants_text = "openmetrics" in accept or "text/plain" in accept
        if wants_text and "application/json" not in accept:
            return prometheus_response(registry)
        return JSONResponse(metrics_json(context))

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    table: list[tuple[str, Handler, list[str]]] = [
        ("/v2/apps", apps.list_apps, ["GET"]),
        ("/v2/apps", apps.create_app, ["POST"]),
        ("/v2/apps", apps.put_apps, ["PUT", "PATCH"]),
        ("/v2/apps/{rest:path}", apps.app_route, ["GET", "PUT", "PATCH", "DELETE", "POST"]),
        ("/v2/tasks", misc.list_tasks, ["GET"]),
        ("/v2/tasks/delete", misc.delete_tasks, ["POST"]),
        ("/v2/deployments", misc.list_deployments, ["GET"]),
        ("/v2/deployments/{id}", misc.delete_deployment, ["DELETE"]),
        ("/v2/groups", groups.get_group, ["GET"]),
        ("/v2/groups", groups.create_group, ["POST"]),
        ("/v2/groups", groups.update_group, ["PUT", "PATCH"]),
        ("/v2/groups", groups.delete_group, ["DELETE"]),
        ("/v2/groups/{rest:path}", groups.get_group, ["GET"]),
        ("/v2/groups/{rest:path}", groups.update_group, ["PUT", "PATCH"]),
        ("/v2/groups/{rest:path}", groups.delete_group, ["DELETE"]),
        ("/v2/queue", misc.get_queue, ["GET"]),
        ("/v2/queue/{rest:path}/delay", misc.reset_delay, ["DELETE"]),
        ("/v2/info", misc.info, ["GET"]),
        ("/v2/leader", misc.leader, ["GET", "DELETE"]),
        ("/ping", misc.ping, ["GET"]),
        ("/health", misc.ping, ["GET"]),
        ("/metrics", metrics, ["GET"]),
        ("/metrics/prometheus", prometheus, ["GET"]),
        ("/openapi.json", openapi, ["GET"]),
    ]
    routes = [Route(path, _guard(fn), methods=methods) for path, fn, methods in table]
    routes.append(Route("/v2/events", misc.events, methods=["GET"]))
    handlers: dict[Any, Any] = {HTTPException: _http_error, Exception: _server_error}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.marathon = context
    return CollapseSlashes(app)
