"""The master's HTTP surface (Starlette): v1 scheduler API, agent API, operator endpoints.

Every path works at the root and under the ``/master`` prefix, as libprocess routes do.
Errors are plain text with Mesos' status codes; nothing a client sends can raise past here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from roost.cluster.master.calls import SCHEDULER_CALLS, envelope
from roost.cluster.master.master import Master
from roost.cluster.master.operator import StateView, version_json
from roost.cluster.protocol import AGENT_CALLS, id_value
from roost.core.http import HttpError, read_json
from roost.core.metrics import prometheus_response, registry_for

log = logging.getLogger("roost.master")
_JSONP = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$.]{0,63}$")

Handler = Callable[[Request], Awaitable[Any]]


def _guard(fn: Handler) -> Callable[[Request], Awaitable[Any]]:
    async def wrapped(request: Request) -> Any:
        try:
            return await fn(request)
        except HttpError as e:
            return e.response()
        except Exception:
            log.exception("internal error serving %s", request.url.path)
            return PlainTextResponse("Internal server error", status_code=500)

    return wrapped


def _json(request: Request, obj: Any = None, raw: bytes | None = None) -> Response:
    body = raw if raw is not None else json.dumps(obj, separators=(",", ":")).encode()
    cb = request.query_params.get("jsonp")
    if cb is not None:
        if not _JSONP.match(cb):
            raise HttpError(400, "Invalid 'jsonp' callback name")
        return Response(cb.encode() + b"(" + body + b");", media_type="text/javascript")
    return Response(body, media_type="application/json")


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HttpError(400, f"Failed to parse '{name}': '{raw[:32]}' is not an integer") from None
    if not lo <= value <= hi:
        raise HttpError(400, f"'{name}' must be between {lo} and {hi}, got {value}")
    return value


def build_app(master: Master) -> tuple[ASGIApp, StateView]:
    view = StateView(master)
    limit = master.config.max_body_bytes
    metrics_registry = registry_for(view.metrics)

    def check_accept(request: Request) -> None:
        accept = request.headers.get("accept")
        if accept and not any(
            a.split(";")[0].strip() in ("application/json", "*/*", "application/*", "")
            for a in accept.split(",")
        ):
            raise HttpError(
                406, f"Expecting 'Accept' to allow application/json, got '{accept[:64]}'"
            )

    async def scheduler(request: Request) -> Any:
        if request.method != "POST":
            raise HttpError(405, "Expecting a 'POST' request", {"Allow": "POST"})
        body = await read_json(request, limit)
        ctype, call = envelope(body, SCHEDULER_CALLS)
        check_accept(request)
        if ctype == "SUBSCRIBE":
            if "mesos-stream-id" in request.headers:
                raise HttpError(
                    400, "Subscribe calls should not include the 'Mesos-Stream-Id' header"
                )
            return await master.subscribe_framework(call)
        fid = id_value(call.get("framework_id"))
        if fid is None:
            raise HttpError(
                400, "Failed to validate scheduler::Call: Expecting 'framework_id' to be present"
            )
        fw = master.frameworks.get(fid)
        if fw is None:
            raise HttpError(400, "Framework cannot be found")
        if fw.stream is None or fw.stream.closed:
            raise HttpError(403, "Framework is not subscribed")
        sid = request.headers.get("mesos-stream-id")
        if sid is None:
            raise HttpError(
                400, "All non-subscribe calls should include the 'Mesos-Stream-Id' header"
            )
        if sid != fw.stream.stream_id:
            raise HttpError(
                400,
                f"The stream ID '{sid[:128]}' included in this request didn't match the stream ID "
                f"currently associated with framework ID {fid}",
            )
        await master.handle_scheduler_call(fw, ctype, call)
        return Response(status_code=200 if ctype == "UPDATE_FRAMEWORK" else 202)

    async def agent_api(request: Request) -> Any:
        if request.method != "POST":
            raise HttpError(405, "Expecting a 'POST' request", {"Allow": "POST"})
        body = await read_json(request, limit)
        ctype, call = envelope(body, AGENT_CALLS, "agent::Call")
        if ctype == "SUBSCRIBE":
            if "mesos-stream-id" in request.headers:
                raise HttpError(
                    400, "Subscribe calls should not include the 'Mesos-Stream-Id' header"
                )
            return await master.subscribe_agent(call)
        aid = id_value(call.get("agent_id"))
        agent = master.agents.get(aid) if aid else None
        if agent is None or agent.stream is None or agent.stream.closed:
            raise HttpError(403, "Agent is not subscribed")
        sid = request.headers.get("mesos-stream-id")
        if sid != agent.stream.stream_id:
            raise HttpError(400, "Missing or mismatched 'Mesos-Stream-Id' header")
        master.handle_agent_call(agent, ctype, call)
        return Response(status_code=202)

    async def state(request: Request) -> Response:
        return _json(request, raw=view.state_bytes())

    async def slaves(request: Request) -> Response:
        st = json.loads(view.state_bytes())
        want = request.query_params.get("slave_id")
        agents = [a for a in st["slaves"] if not want or a["id"] == want]
        return _json(request, {"slaves": agents, "recovered_slaves": st["recovered_slaves"]})

    async def frameworks(request: Request) -> Response:
        st = json.loads(view.state_bytes())
        want = request.query_params.get("framework_id")
        fws = [f for f in st["frameworks"] if not want or f["id"] == want]
        done = [f for f in st["completed_frameworks"] if not want or f["id"] == want]
        return _json(
            request,
            {"frameworks": fws, "completed_frameworks": done, "unregistered_frameworks": []},
        )

    async def tasks(request: Request) -> Response:
        order = request.query_params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise HttpError(400, f"'order' must be 'asc' or 'desc', got '{order[:16]}'")
        found = view.tasks(
            request.query_params.get("framework_id"),
            request.query_params.get("task_id"),
            _int_param(request, "limit", 100, 0, 100_000),
            _int_param(request, "offset", 0, 0, 10**9),
            order,
        )
        return _json(request, {"tasks": found})

    async def snapshot(request: Request) -> Response:
        return _json(request, view.metrics())

    async def prometheus(request: Request) -> Response:
        return prometheus_response(metrics_registry)

    async def version(request: Request) -> Response:
        return _json(request, version_json())

    async def health(request: Request) -> Response:
        return Response(status_code=200)

    async def redirect(request: Request) -> Response:
        return Response(status_code=307, headers={"Location": f"//{master.hostname}:{master.port}"})

    async def teardown(request: Request) -> Response:
        if request.method != "POST":
            raise HttpError(405, "Expecting a 'POST' request", {"Allow": "POST"})
        form = (await request.body()).decode(errors="replace")
        fid = dict(p.split("=", 1) for p in form.split("&") if "=" in p).get("frameworkId")
        fw = master.frameworks.get(fid or "")
        if fw is None:
            raise HttpError(400, f"No framework found with specified ID: '{(fid or '')[:64]}'")
        await master.remove_framework(fw)
        return Response(status_code=200)

    routes: list[Route] = []

    def add(
        path: str, fn: Handler, methods: list[str] | None = None, master_prefix: bool = True
    ) -> None:
        methods = methods or ["GET"]
        routes.append(Route(path, _guard(fn), methods=methods))
        if master_prefix:
            routes.append(Route("/master" + path, _guard(fn), methods=methods))

    any_method = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
    add("/api/v1/scheduler", scheduler, any_method)
    add("/api/v1/agent", agent_api, any_method)
    for p in ("/state", "/state.json"):
        add(p, state)
    for p in ("/slaves", "/slaves.json"):
        add(p, slaves)
    for p in ("/frameworks", "/frameworks.json"):
        add(p, frameworks)
    for p in ("/tasks", "/tasks.json"):
        add(p, tasks)
    add("/teardown", teardown, ["GET", "POST"])
    add("/health", health)
    add("/redirect", redirect)
    add("/version", version)
    add("/metrics/snapshot", snapshot, master_prefix=False)
    add("/metrics", prometheus, master_prefix=False)
    return Starlette(routes=routes), view
