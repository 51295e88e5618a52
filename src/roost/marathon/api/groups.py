"""``/v2/groups``: the group tree of app ids (``GroupsResource.scala``, reference §1.7).

Groups exist through their apps and through explicit creation. A group's versions are the
versions of the apps under it; rolling a group back to version *v* restores, for each app,
the newest definition not later than *v*, and removes apps created after it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from roost.marathon import pathid
from roost.marathon.api.base import ctx, deployment_result, flag, json_body, ok
from roost.marathon.api.render import app_info
from roost.marathon.appdef import AppDefinition, AppValidationError, apply_update, parse_app
from roost.marathon.appdef.validate import MAX_INSTANCES
from roost.marathon.deployment import build_plan
from roost.marathon.deployment.plan import load_app
from roost.marathon.errors import BadRequest, Conflict, NotFound, group_not_found
from roost.marathon.orchestrator import Orchestrator
from roost.marathon.query import parse_embed
from roost.marathon.timestamps import format_ts, parse_ts

TIMESTAMP_MESSAGE = "must be a timestamp like 2015-09-29T15:59:51.164Z"
SAME_IDENTIFIER = "Groups and Applications may not have the same identifier."
GROUP_KEYS = {"id", "apps", "groups", "dependencies", "version", "scaleBy", "pods", "enforceRole"}


def group_json(orc: Orchestrator, group_id: str, embed: frozenset[str]) -> dict[str, Any]:
    groups = orc.state.group_ids()
    children = sorted(g for g in groups if g != group_id and pathid.parent(g) == group_id)
    apps = [a for a in orc.state.apps if pathid.parent(a) == group_id]
    versions = [orc.state.apps[a].version or "" for a in orc.state.apps_under(group_id)]
    version = max(versions, default=orc.state.root_version or orc.ts())
    return {
        "id": group_id,
        "apps": [app_info(orc, orc.state.apps[a], embed) for a in sorted(apps)],
        "groups": [group_json(orc, g, embed) for g in children],
        "pods": [],
        "dependencies": [],
        "version": version,
    }


def _group_id(request: Request) -> str:
    rest = request.path_params.get("rest", "")
    return pathid.absolute(rest) if rest.strip("/") else "/"


def _split_versions(group_id: str) -> tuple[str, str | None, bool]:
    """``/grp/versions[/v]`` -> (``/grp``, v, True)."""
    parts = [p for p in group_id.split("/") if p]
    if "versions" in parts:
        i = parts.index("versions")
        tail = parts[i + 1 :]
        return "/" + "/".join(parts[:i]), (tail[0] if tail else None), True
    return group_id, None, False


async def get_group(request: Request) -> Response:
    c = ctx(request)
    gid, version, is_versions = _split_versions(_group_id(request))
    if gid not in c.orc.state.group_ids():
        raise group_not_found(gid)
    if is_versions:
        versions = sorted(
            {v for a in c.orc.state.apps_under(gid) for v in await c.orc.repo.app_versions(a)},
            reverse=True,
        )
        if version is None:
            return ok(versions)
        if version not in versions:
            raise NotFound(f"Group '{gid}' does not exist in version '{version}'")
    embed = parse_embed(request.query_params.getlist("embed")) | {"counts", "deployments"}
    return ok(group_json(c.orc, gid, embed))


def _collect(
    raw: Any,
    base: str,
    path: str,
    out: dict[str, Any],
    groups: list[str],
    replaced: set[str] | None = None,
) -> None:
    """Flatten a group body into app bodies by absolute id (child ids may be relative);
    ``replaced`` collects the groups whose body lists ``apps`` (their other apps go)."""
    if not isinstance(raw, dict):
        raise AppValidationError(
            400, "Invalid JSON", [{"path": path or "/", "errors": ["error.expected.jsobject"]}]
        )
    unknown = sorted(set(raw) - GROUP_KEYS)
    if unknown:
        raise AppValidationError(
            422,
            "Object is not valid",
            [{"path": f"{path}/{k}", "errors": ["unknown property"]} for k in unknown],
        )
    for key, kind in (("id", str), ("apps", list), ("groups", list), ("dependencies", list)):
        if raw.get(key) is not None and not isinstance(raw[key], kind):
            code = "error.expected.jsstring" if kind is str else "error.expected.jsarray"
            raise AppValidationError(
                400, "Invalid JSON", [{"path": f"{path}/{key}", "errors": [code]}]
            )
    gid = pathid.absolute(raw.get("id") or base, base)
    errors = pathid.id_errors(gid) if gid != "/" else []
    if errors:
        raise AppValidationError(
            422, "Object is not valid", [{"path": f"{path}/id", "errors": errors}]
        )
    if base != "/" and gid != base and not pathid.is_child_of(gid, base):
        raise AppValidationError(
            422,
            "Object is not valid",
            [
                {
                    "path": f"{path}/id",
                    "errors": [
                        f"identifier {gid} is not child of {base}. Hint: use relative paths."
                    ],
                }
            ],
        )
    groups.append(gid)
    if replaced is not None and raw.get("apps") is not None:
        replaced.add(gid)
    for i, app in enumerate(raw.get("apps") or []):
        where = f"{path}/apps({i})"
        if not isinstance(app, dict) or not isinstance(app.get("id"), str):
            # the shape check answers as POST /v2/apps does: 400 at apps(i) or apps(i)/id
            parse_app(app, path=where)
            raise AssertionError("an app without a string id passed the shape check")
        app_id = pathid.absolute(app["id"], gid)
        if not pathid.is_child_of(app_id, gid):
            raise AppValidationError(
                422,
                "Object is not valid",
                [
                    {
                        "path": f"{where}/id",
                        "errors": [
                            f"identifier {app_id} is not child of {gid}. Hint: use relative paths."
                        ],
                    }
                ],
            )
        out[app_id] = ({**app, "id": app_id}, where)
    for i, sub in enumerate(raw.get("groups") or []):
        if isinstance(sub, dict) and isinstance(sub.get("id"), str):
            sub = {**sub, "id": pathid.absolute(sub["id"], gid)}
        _collect(sub, gid, f"{path}/groups({i})", out, groups, replaced)


async def _apply_group(
    request: Request, gid: str, raw: Any, *, creating: bool, must_be_new: bool = False
) -> Response:
    """Apply a group body (apps and subgroups, a ``scaleBy`` or a rollback ``version``);
    ``must_be_new`` (POST) re-checks under the lock that the id is still free."""
    c = ctx(request)
    force = flag(request, "force", False)
    dry_run = flag(request, "dryRun", False)
    orc = c.orc
    new_groups: set[str] = set()
    bodies: dict[str, Any] = {}
    groups: list[str] = []
    replaced: set[str] = set()
    rollback_to: str | None = None
    if isinstance(raw, dict) and "version" in raw and set(raw) <= {"id", "version"}:
        rollback_to = _timestamp(raw["version"])
    elif not (isinstance(raw, dict) and "scaleBy" in raw):
        _collect(raw, gid, "", bodies, groups, replaced)
        new_groups = {g for g in groups if g != "/"}

    async def targets() -> dict[str, AppDefinition | None]:  # read and changed under the lock
        if must_be_new and (gid in orc.state.group_ids() or gid in orc.state.apps):
            raise Conflict(f"Group {gid} is already created. Use PUT to change this group.")
        if rollback_to is not None:
            return await _rollback_targets(orc, gid, rollback_to)
        if isinstance(raw, dict) and "scaleBy" in raw:
            return _scaled(orc, gid, raw["scaleBy"])
        out: dict[str, AppDefinition | None] = {}
        for app_id, (body, where) in bodies.items():
            current = orc.state.apps.get(app_id)
            out[app_id] = (
                parse_app(body, path=where)
                if current is None
                else apply_update(current, body, partial=True, path=where)
            )
        if not creating:
            # PUT replaces the apps of each group whose body lists "apps"; subgroups the
            # body does not mention, and other groups, keep theirs (upstream GroupUpdate)
            for app_id in orc.state.apps:
                if app_id not in out and pathid.parent(app_id) in replaced:
                    out[app_id] = None
        check_identifiers(orc, out, groups)
        return out

    async with orc.lock:
        wanted = await targets()
        if dry_run:
            original = {a: orc.state.apps.get(a) for a in wanted}
            plan = build_plan("dry-run", orc.ts(), original, wanted)
            return ok({"steps": plan.api_json()["steps"]})
        plan = await c.ops.change_apps_locked(wanted, force=force)
        if new_groups - orc.state.groups:  # stored only once the change was accepted
            orc.state.groups |= new_groups
            await orc.repo.put_groups(sorted(orc.state.groups))
    c.orc.emit.group_change_success(gid, plan.version)
    return deployment_result(plan.id, plan.version, 201 if creating else 200)


def _scaled(orc: Orchestrator, gid: str, factor: object) -> dict[str, AppDefinition | None]:
    """Every app under ``gid`` with ``instances`` times ``factor`` (rounded), within bounds."""
    if (
        isinstance(factor, bool)
        or not isinstance(factor, int | float)
        or not math.isfinite(factor)
        or factor < 0
    ):
        details = [{"path": "/scaleBy", "errors": ["must be a non-negative number"]}]
        raise AppValidationError(422, "Object is not valid", details)
    targets: dict[str, AppDefinition | None] = {}
    for app_id in orc.state.apps_under(gid):
        app = orc.state.apps[app_id]
        wanted = app.instances * factor + 0.5
        if wanted >= MAX_INSTANCES + 1:
            message = f"would give {app_id} more than {MAX_INSTANCES} instances"
            raise AppValidationError(
                422, "Object is not valid", [{"path": "/scaleBy", "errors": [message]}]
            )
        targets[app_id] = app.model_copy(update={"instances": int(wanted)})
    return targets


def check_identifiers(
    orc: Orchestrator, targets: Mapping[str, AppDefinition | None], groups: Iterable[str] = ()
) -> None:
    """422 when a change would give an app and a group one id: an app under an app
    (``/web/sub``) or a group over one (upstream ``RootGroup.noAppsAndGroupsWithSameName``)."""
    apps = {a for a in orc.state.apps if a not in targets}
    apps |= {a for a, app in targets.items() if app is not None}
    group_ids = set(orc.state.groups) | set(groups)
    for path in apps | group_ids:
        parts = pathid.segments(path)
        group_ids |= {"/" + "/".join(parts[:i]) for i in range(1, len(parts))}
    if apps & group_ids:
        raise AppValidationError(
            422, "Object is not valid", [{"path": "/", "errors": [SAME_IDENTIFIER]}]
        )


def _timestamp(version: object) -> str:
    """A rollback target in canonical form; 400 when it is not a string, 422 when not a time."""
    if not isinstance(version, str):
        details = [{"path": "/version", "errors": ["error.expected.jsstring"]}]
        raise AppValidationError(400, "Invalid JSON", details)
    try:
        # canonical form, so that the string comparisons below order by time
        return format_ts(parse_ts(version))
    except ValueError:
        details = [{"path": "/version", "errors": [TIMESTAMP_MESSAGE]}]
        raise AppValidationError(422, "Object is not valid", details) from None


async def _rollback_targets(
    orc: Orchestrator, gid: str, version: str
) -> dict[str, AppDefinition | None]:
    targets: dict[str, AppDefinition | None] = {}
    for app_id in orc.state.apps_under(gid):
        older = [v for v in await orc.repo.app_versions(app_id) if v <= version]
        if not older:
            targets[app_id] = None
            continue
        raw = await orc.repo.app_version(app_id, max(older))
        if raw is not None:
            targets[app_id] = load_app(raw)
    return targets


async def create_group(request: Request) -> Response:
    c = ctx(request)
    raw = await json_body(request)
    if not isinstance(raw, dict):
        raise BadRequest(
            "Invalid JSON", details=[{"path": "/", "errors": ["error.expected.jsobject"]}]
        )
    rid = raw.get("id")
    if rid is None:
        rid = "/"  # upstream: no id means the root, which always exists (409 below)
    if not isinstance(rid, str):
        details = [{"path": "/id", "errors": ["error.expected.jsstring"]}]
        raise AppValidationError(400, "Invalid JSON", details)
    gid = pathid.absolute(rid)
    errors = pathid.id_errors(gid) if gid != "/" else []
    if errors:
        raise AppValidationError(422, "Object is not valid", [{"path": "/id", "errors": errors}])
    if gid in c.orc.state.group_ids() or gid in c.orc.state.apps:
        raise Conflict(f"Group {gid} is already created. Use PUT to change this group.")
    return await _apply_group(request, gid, {**raw, "id": gid}, creating=True, must_be_new=True)


async def update_group(request: Request) -> Response:
    gid, version, is_versions = _split_versions(_group_id(request))
    if is_versions and version is not None:
        # marathon-python's rollback_group: PUT /v2/groups/{id}/versions/{v}, no body (Marathon
        # 0.x's GroupsResource rollback route); the same as PUT /v2/groups/{id} {"version": v}
        if gid not in ctx(request).orc.state.group_ids():
            raise group_not_found(gid)
        return await _apply_group(request, gid, {"id": gid, "version": version}, creating=False)
    gid = _group_id(request)
    raw = await json_body(request)
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        raw = {**raw, "id": pathid.absolute(raw["id"], gid)}
    elif isinstance(raw, dict):
        raw = {**raw, "id": gid}
    creating = gid not in ctx(request).orc.state.group_ids()
    return await _apply_group(request, gid, raw, creating=creating)


async def delete_group(request: Request) -> Response:
    c = ctx(request)
    gid = _group_id(request)
    force = flag(request, "force", False)
    orc = c.orc
    async with orc.lock:
        if gid not in orc.state.group_ids():
            raise group_not_found(gid)
        plan = await c.ops.change_apps_locked(dict.fromkeys(orc.state.apps_under(gid)), force=force)
        # forgotten only once the change was accepted (a 409 keeps the group)
        orc.state.groups = {
            g for g in orc.state.groups if not (g == gid or g.startswith(gid + "/"))
        }
        await orc.repo.put_groups(sorted(orc.state.groups))
    return deployment_result(plan.id, plan.version)
