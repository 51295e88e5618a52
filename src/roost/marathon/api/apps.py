"""``/v2/apps``: list, create, get, update (PUT/PATCH, rollback), delete, restart, tasks,
versions (``AppsResource.scala``, ``AppTasksResource.scala``, reference §1.3-1.4).

App ids contain ``/``, so one route takes the whole rest of the path and the suffixes
``/restart``, ``/tasks[/<id>]`` and ``/versions[/<v>]`` are peeled off here.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from roost.marathon import pathid
from roost.marathon.api.base import (
    client_ip,
    ctx,
    deployment_result,
    flag,
    json_body,
    kill_flags,
    ok,
)
from roost.marathon.api.groups import check_identifiers
from roost.marathon.api.render import app_info, task_body
from roost.marathon.appdef import (
    AppDefinition,
    app_json,
    apply_update,
    is_rollback,
    parse_app,
)
from roost.marathon.errors import BadRequest, Conflict, NotFound, app_not_found, task_not_found
from roost.marathon.operations import require_app
from roost.marathon.query import parse_embed
from roost.marathon.selectors import LabelSelector, SelectorError

RESERVED_SUFFIXES = ("restart", "tasks", "versions")


async def list_apps(request: Request) -> Response:
    c = ctx(request)
    q = request.query_params
    embed = parse_embed(q.getlist("embed")) | {"counts", "deployments"}
    cmd, sub = q.get("cmd"), q.get("id")
    selector = None
    if q.get("label"):
        try:
            selector = LabelSelector.parse(q["label"])
        except SelectorError as e:
            raise BadRequest(f"Invalid label selector: {e}") from None
    apps = []
    for app_id in sorted(c.orc.state.apps):
        app = c.orc.state.apps[app_id]
        if cmd and (app.cmd is None or cmd.lower() not in app.cmd.lower()):
            continue
        if sub and sub.lower() not in app_id.lower():
            continue
        if selector is not None and not selector.matches(app.labels):
            continue
        apps.append(app_info(c.orc, app, embed))
    return ok({"apps": apps})


async def create_app(request: Request) -> Response:
    c = ctx(request)
    force = flag(request, "force", False)
    app = parse_app(await json_body(request))

    def targets() -> dict[str, AppDefinition | None]:  # checked under the lock: no races
        if app.id in c.orc.state.apps:
            raise Conflict(f"An app with id [{app.id}] already exists.")
        if app.id in c.orc.state.group_ids():
            raise Conflict(f"A group with id [{app.id}] already exists.")
        check_identifiers(c.orc, {app.id: app})
        return {app.id: app}

    plan = await c.ops.change_apps(targets, force=force)
    stored = c.orc.state.apps[app.id]
    body = app_json(stored)
    c.ops.orc.emit.api_post(client_ip(request), str(request.url.path), body)
    body.update(
        {
            "tasksStaged": 0,
            "tasksRunning": 0,
            "tasksHealthy": 0,
            "tasksUnhealthy": 0,
            "deployments": [{"id": plan.id}],
        }
    )
    location = f"{request.url.scheme}://{request.url.netloc}/v2/apps{app.id}"
    return ok(body, 201, {"Location": location, "Marathon-Deployment-Id": plan.id})


async def put_apps(request: Request) -> Response:
    """``PUT /v2/apps`` (and PATCH): a JSON array of apps, created or updated together."""
    c = ctx(request)
    force = flag(request, "force", False)
    partial = request.method == "PATCH" or flag(request, "partialUpdate", True)
    body = await json_body(request)
    if not isinstance(body, list):
        raise BadRequest(
            "Invalid JSON", details=[{"path": "/", "errors": ["error.expected.jsarray"]}]
        )

    def targets() -> dict[str, AppDefinition | None]:  # read and changed under the lock
        out: dict[str, AppDefinition | None] = {}
        for i, raw in enumerate(body):
            where = f"({i})"
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                # the shape check answers as POST /v2/apps does: 400 at (i) or (i)/id
                parse_app(raw, path=where)
                raise AssertionError("an app without a string id passed the shape check")
            app_id = pathid.absolute(raw["id"])
            current = c.orc.state.apps.get(app_id)
            if current is None:
                if request.method == "PATCH":
                    raise app_not_found(app_id)
                out[app_id] = parse_app(raw, path=where)
            else:
                out[app_id] = apply_update(current, raw, partial=partial, path=where)
        check_identifiers(c.orc, out)
        return out

    plan = await c.ops.change_apps(targets, force=force)
    return deployment_result(plan.id, plan.version)


def split_app_path(rest: str) -> tuple[str, str, str | None]:
    """``grp/web/tasks/t1`` -> (``/grp/web``, ``tasks``, ``t1``); ``(id, "", None)`` plain."""
    parts = [p for p in rest.split("/") if p]
    for i, part in enumerate(parts):
        if part in RESERVED_SUFFIXES and i > 0:
            tail = parts[i + 1 :]
            if part == "restart" and tail:
                continue
            if len(tail) > 1:
                continue
            return pathid.absolute("/".join(parts[:i])), part, (tail[0] if tail else None)
    return pathid.absolute("/".join(parts)), "", None


async def app_route(request: Request) -> Response:
    app_id, suffix, arg = split_app_path(request.path_params["rest"])
    method = request.method
    if suffix == "":
        if method == "GET":
            return await get_app(request, app_id)
        if method in ("PUT", "PATCH"):
            return await update_app(request, app_id)
        if method == "DELETE":
            return await delete_app(request, app_id)
    elif suffix == "restart" and method == "POST":
        return await restart_app(request, app_id)
    elif suffix == "tasks":
        if method == "GET" and arg is None:
            return await app_tasks(request, app_id)
        if method == "DELETE":
            return await kill_app_tasks(request, app_id, arg)
    elif suffix == "versions" and method == "GET":
        return await versions(request, app_id, arg)
    raise NotFound("URI not found")


async def get_app(request: Request, app_id: str) -> Response:
    c = ctx(request)
    if app_id.endswith("/*"):  # GET /v2/apps/grp/* lists the apps of a group
        group = app_id[:-2] or "/"
        embed = parse_embed(request.query_params.getlist("embed")) | {"counts", "deployments"}
        apps = [app_info(c.orc, c.orc.state.apps[a], embed) for a in c.orc.state.apps_under(group)]
        return ok({"*": apps})
    app = require_app(c.orc, app_id)
    embed = parse_embed(request.query_params.getlist("embed")) | {
        "counts",
        "tasks",
        "deployments",
        "lastTaskFailure",
    }
    return ok({"app": app_info(c.orc, app, embed)})


async def update_app(request: Request, app_id: str) -> Response:
    c = ctx(request)
    force = flag(request, "force", False)
    partial = request.method == "PATCH" or flag(request, "partialUpdate", True)
    body = await json_body(request)
    version = is_rollback(body)
    if version is not None:
        require_app(c.orc, app_id)
        plan = await c.ops.rollback_app(app_id, version, force=force)
        return deployment_result(plan.id, plan.version)
    created = False

    def targets() -> dict[str, AppDefinition | None]:  # read and changed under the lock
        nonlocal created
        current = c.orc.state.apps.get(app_id)
        if current is not None:
            return {app_id: apply_update(current, body, partial=partial)}
        if request.method == "PATCH":
            raise app_not_found(app_id)
        raw: Any = dict(body) if isinstance(body, dict) else body
        if isinstance(raw, dict):
            raw["id"] = app_id
        app = parse_app(raw)
        check_identifiers(c.orc, {app_id: app})
        created = True
        return {app_id: app}

    plan = await c.ops.change_apps(targets, force=force)
    return deployment_result(plan.id, plan.version, 201 if created else 200)


async def delete_app(request: Request, app_id: str) -> Response:
    c = ctx(request)
    force = flag(request, "force", True)

    def targets() -> dict[str, AppDefinition | None]:
        require_app(c.orc, app_id)
        return {app_id: None}

    plan = await c.ops.change_apps(targets, force=force)
    return deployment_result(plan.id, plan.version)


async def restart_app(request: Request, app_id: str) -> Response:
    c = ctx(request)
    force = flag(request, "force", False)

    def targets() -> dict[str, AppDefinition | None]:
        return {app_id: require_app(c.orc, app_id)}

    plan = await c.ops.change_apps(targets, force=force, restart=frozenset({app_id}))
    return deployment_result(plan.id, plan.version)


async def app_tasks(request: Request, app_id: str) -> Response:
    c = ctx(request)
    require_app(c.orc, app_id)
    return ok({"tasks": [task_body(c.orc, i) for i in c.orc.state.instances_of(app_id)]})


async def kill_app_tasks(request: Request, app_id: str, task_id: str | None) -> Response:
    c = ctx(request)
    scale, force = kill_flags(request)
    require_app(c.orc, app_id)
    insts = c.orc.state.instances_of(app_id)
    if task_id is not None:
        insts = [i for i in insts if i.task_id == task_id]
        if not insts:
            raise task_not_found(task_id)
    else:
        host = request.query_params.get("host")
        if host:
            insts = [i for i in insts if i.host == host]
    bodies = [task_body(c.orc, i) for i in insts]
    _, plan = await c.ops.kill_tasks([i.task_id for i in insts], scale=scale, force=force)
    if plan is not None:
        return deployment_result(plan.id, plan.version)
    if task_id is not None:
        return ok({"task": bodies[0]})
    return ok({"tasks": bodies})


async def versions(request: Request, app_id: str, version: str | None) -> Response:
    c = ctx(request)
    require_app(c.orc, app_id)
    if version is None:
        return ok({"versions": await c.orc.repo.app_versions(app_id)})
    raw = await c.orc.repo.app_version(app_id, version)
    if raw is None:
        raise NotFound(f"App '{app_id}' does not exist in version '{version}'")
    return ok(raw)
