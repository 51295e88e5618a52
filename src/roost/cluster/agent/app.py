"""The agent's HTTP surface on port 5051 (Starlette).

Like Mesos' agent (``src/slave/http.cpp``, ``docs/endpoints/``), every endpoint answers both
at the root and under the process prefix ``/slave(1)``: the executor API, ``/state`` (and the
deprecated ``/state.json``), ``/flags``, ``/health``, ``/version``, ``/metrics/snapshot``, the
sandbox ``/files/*`` API, plus Prometheus ``/metrics``. ``?jsonp=cb`` wraps JSON answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from roost import MESOS_COMPAT_VERSION, __version__
from roost.cluster.agent import executor_api
from roost.cluster.agent.files import files_routes
from roost.cluster.agent.state import agent_state, flags, metrics_snapshot
from roost.core.http import json_response
from roost.core.metrics import prometheus_response, registry_for

if TYPE_CHECKING:
    from roost.cluster.agent.agent import Agent

PREFIX = "/slave(1)"
_JSONP = re.compile(r"^[A-Za-z_$][\w$.]{0,63}$")

Handler = Callable[[Request], Awaitable[Response]]


def _json(request: Request, body: Any) -> Response:
    callback = request.query_params.get("jsonp")
    if callback and _JSONP.match(callback):
        text = f"{callback}({json.dumps(body, separators=(',', ':'))});"
        return Response(text, media_type="text/javascript")
    return json_response(body)


def sandbox_roots(agent: Agent) -> list[Path]:
    """What ``/files`` may serve: every live sandbox, plus the agent's sandbox tree."""
    roots = [agent.config.work_dir / "slaves"]
    for fw in agent.frameworks.values():
        roots.extend(ex.directory for ex in fw.executors.values() if ex.directory)
    return roots


def create_app(agent: Agent) -> Starlette:
    registry = registry_for(lambda: metrics_snapshot(agent))

    async def executor(request: Request) -> Response:
        return await executor_api.handle(agent, request)

    async def state(request: Request) -> Response:
        return _json(request, agent_state(agent))

    async def flags_(request: Request) -> Response:
        return _json(request, {"flags": flags(agent)})

    async def health(request: Request) -> Response:
        return Response(status_code=200)

    async def version(request: Request) -> Response:
        body = {
            "version": MESOS_COMPAT_VERSION,
            "roost_version": __version__,
            "build_date": "",
            "build_time": 0,
            "build_user": "",
            "git_sha": "",
            "git_branch": "",
            "git_tag": "",
        }
        return _json(request, body)

    async def snapshot(request: Request) -> Response:
        return _json(request, metrics_snapshot(agent))

    async def metrics(request: Request) -> Response:
        return prometheus_response(registry)

    def endpoints() -> list[BaseRoute]:
        get: list[tuple[str, Handler]] = [
            ("/state", state),
            ("/state.json", state),
            ("/flags", flags_),
            ("/health", health),
            ("/version", version),
            ("/metrics/snapshot", snapshot),
            ("/metrics", metrics),
        ]
        routes: list[BaseRoute] = [Route("/api/v1/executor", executor, methods=["POST"])]
        routes.extend(Route(path, fn, methods=["GET"]) for path, fn in get)
        routes.extend(files_routes(lambda: sandbox_roots(agent)))
        return routes

    return Starlette(routes=[*endpoints(), Mount(PREFIX, routes=endpoints())])
