"""An admin service for processes built on roost.rpc: metrics and health over HTTP.

::

    await serve("127.0.0.1:9990", admin_service(), label="admin")

====================================  ===========================================
``GET /metrics``                      Prometheus text (``clnt_requests_total{client="web"}``)
``GET /admin/metrics/prometheus``     the same
``GET /admin/metrics.json``           flat Finagle-style JSON (``"clnt/web/requests": 3``)
``GET /admin/metrics/tree.json``      the same metrics as a nested tree
``GET /health``, ``GET /admin/ping``  ``200 OK`` while the process serves
``GET /admin/stacks.json``            the client, endpoint and server stacks: each
                                      module's role, description, placement reason
                                      and parameters, top first
====================================  ===========================================

Anything else is 404; a method other than GET/HEAD is 405.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from roost.rpc.http.message import Headers, Request, Response
from roost.rpc.service import FnService
from roost.rpc.stack import Params, Stack
from roost.rpc.stats import DEFAULT_REGISTRY, MetricsRegistry, flat_json, prometheus_text, tree_json

PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


def _text(status: int, body: str, ctype: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, Headers([("Content-Type", ctype)]), body.encode())


def _json(value: object) -> Response:
    return _text(200, json.dumps(value, sort_keys=True), "application/json")


def admin_service(
    registry: MetricsRegistry | None = None,
    *,
    healthy: Callable[[], bool] = lambda: True,
    stacks: Mapping[str, tuple[Stack, Params]] | None = None,
) -> FnService[Request, Response]:
    """Serve ``registry``'s metrics (default: the process registry), a health check and the
    stacks (default: roost.rpc's client, endpoint and server stacks with default params);
    ``healthy()`` false answers ``/health`` with 503."""
    reg = DEFAULT_REGISTRY if registry is None else registry
    shown = _default_stacks() if stacks is None else stacks

    async def handle(req: Request) -> Response:
        if req.method not in ("GET", "HEAD"):
            rep = _text(405, "method not allowed\n")
            rep.headers.add("Allow", "GET, HEAD")
            return rep
        path = req.path
        if path in ("/metrics", "/admin/metrics/prometheus"):
            return _text(200, prometheus_text(reg), PROMETHEUS)
        if path == "/admin/metrics.json":
            return _json(flat_json(reg))
        if path == "/admin/metrics/tree.json":
            return _json(tree_json(reg))
        if path == "/admin/stacks.json":
            return _json({name: stack.describe(p) for name, (stack, p) in shown.items()})
        if path in ("/health", "/admin/ping"):
            return _text(200, "OK\n") if healthy() else _text(503, "unhealthy\n")
        return _text(404, f"no such admin page: {path}\n")

    return FnService(handle)


def _default_stacks() -> dict[str, tuple[Stack, Params]]:
    from roost.rpc.client_stack import CLIENT_STACK, ENDPOINT_STACK
    from roost.rpc.server_stack import SERVER_STACK

    return {
        "client": (CLIENT_STACK, Params()),
        "endpoint": (ENDPOINT_STACK, Params()),
        "server": (SERVER_STACK, Params()),
    }
