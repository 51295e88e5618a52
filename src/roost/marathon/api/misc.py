"""``/v2/tasks``, ``/v2/deployments``, ``/v2/queue``, ``/v2/info``, ``/v2/leader``, ``/ping``,
``/metrics`` and ``/v2/events`` (reference §1.3, §1.6, §1.8-1.10)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from roost import __version__ as roost_version
from roost.marathon.api.base import ctx, deployment_result, flag, json_body, kill_flags, ok
from roost.marathon.api.render import queue_item, task_body
from roost.marathon.errors import BadRequest, NotFound
from roost.marathon.events import event_stream
from roost.marathon.operations import task_ids_in

MARATHON_VERSION = "1.10.26"
"""The Marathon version roost's API follows (reported by ``/v2/info``)."""

STATUS_FILTERS = {"running": {"TASK_RUNNING"}, "staging": {"TASK_STAGING", "TASK_STARTING"}}


async def list_tasks(request: Request) -> Response:
    c = ctx(request)
    wanted: set[str] = set()
    for value in request.query_params.getlist("status") + request.query_params.getlist("status[]"):
        states = STATUS_FILTERS.get(value.lower())
        if states is None:
            raise BadRequest(f"Unknown task status '{value}': use running or staging")
        wanted |= states
    tasks = [
        task_body(c.orc, i) for i in c.orc.state.all_instances() if not wanted or i.state in wanted
    ]
    return ok({"tasks": tasks})


async def delete_tasks(request: Request) -> Response:
    c = ctx(request)
    scale, force = kill_flags(request)
    ids = task_ids_in(await json_body(request))
    unknown = [t for t in ids if t not in c.orc.state.instances]
    if unknown:
        raise BadRequest(f"Unknown task ids: {', '.join(unknown[:20])}")
    bodies = [task_body(c.orc, c.orc.state.instances[t]) for t in ids]
    _, plan = await c.ops.kill_tasks(ids, scale=scale, force=force)
    if plan is not None:
        return deployment_result(plan.id, plan.version)
    return ok({"tasks": bodies})


async def list_deployments(request: Request) -> Response:
    c = ctx(request)
    plans = sorted(c.orc.deployments.values(), key=lambda p: p.version)
    return ok([p.api_json() for p in plans])


async def delete_deployment(request: Request) -> Response:
    c = ctx(request)
    force = flag(request, "force", False)
    plan = await c.ops.cancel_deployment(request.path_params["id"], force=force)
    if plan is None:
        return Response(status_code=202)
    return deployment_result(plan.id, plan.version)


async def get_queue(request: Request) -> Response:
    c = ctx(request)
    embed = request.query_params.getlist("embed")
    items = [
        item
        for app_id in sorted(c.orc.queue.entries)
        if (item := queue_item(c.orc, app_id, "lastUnusedOffers" in embed)) is not None
    ]
    return ok({"queue": items})


async def reset_delay(request: Request) -> Response:
    c = ctx(request)
    app_id = "/" + "/".join(p for p in request.path_params["rest"].split("/") if p)
    if app_id not in c.orc.queue.entries:
        raise NotFound(f"Application {app_id} not found in tasks queue.")
    c.orc.queue.reset_delay(app_id)
    c.orc.delay_expired()
    return Response(status_code=204)


async def info(request: Request) -> Response:
    c = ctx(request)
    leader = f"{c.hostname}:{c.http_port}"
    return ok(
        {
            "name": "marathon",
            "version": MARATHON_VERSION,
            "buildref": f"roost-{roost_version}",
            "elected": True,
            "leader": leader,
            "frameworkId": c.orc.framework_id,
            "marathon_config": {
                "master": c.master,
                "framework_name": c.framework_name,
                "hostname": c.hostname,
                "local_port_min": c.ops.ports.low,
                "local_port_max": c.ops.ports.high,
                "executor": "//cmd",
                "features": [],
                "mesos_role": "*",
                "mesos_user": None,
                "env_vars_prefix": None,
                "webui_url": None,
                "task_launch_timeout": 300000,
                "decline_offer_duration": 120000,
                "failover_timeout": 604800,
                "checkpoint": True,
                "ha": False,
            },
            "zookeeper_config": {"zk": c.zk},
            "http_config": {"http_port": c.http_port},
        }
    )


async def leader(request: Request) -> Response:
    c = ctx(request)
    if request.method == "DELETE":
        # a single roost marathon cannot hand leadership to anyone: say so, keep serving
        return ok({"message": "Leadership abdicated"})
    return ok({"leader": f"{c.hostname}:{c.http_port}"})


async def ping(request: Request) -> Response:
    return PlainTextResponse("pong")


async def events(request: Request) -> Response:
    c = ctx(request)
    return await event_stream(request, c.bus, timestamp=c.orc.ts)


async def not_found(request: Request) -> Response:
    raise NotFound("URI not found")
