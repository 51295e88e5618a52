"""The OpenAPI 3 document of roost's Marathon API (served at ``/openapi.json``)."""

from __future__ import annotations

import functools
from typing import Any

from roost import __version__
from roost.marathon.appdef import AppDefinition

_APP = {"$ref": "#/components/schemas/App"}
_ERR = {"$ref": "#/components/schemas/Error"}
_DEP = {"$ref": "#/components/schemas/DeploymentResult"}

# (method, path, summary, request body schema or None, {status: (description, schema)})
ENDPOINTS: list[tuple[str, str, str, Any, dict[int, tuple[str, Any]]]] = [
    ("get", "/v2/apps", "List apps (filters cmd, id, label; embed)", None, {200: ("apps", None)}),
    (
        "post",
        "/v2/apps",
        "Create and start an app",
        _APP,
        {201: ("the app", _APP), 409: ("exists or locked", _ERR), 422: ("invalid", _ERR)},
    ),
    (
        "put",
        "/v2/apps",
        "Create or update several apps",
        {"type": "array", "items": _APP},
        {200: ("deployment", _DEP)},
    ),
    (
        "patch",
        "/v2/apps",
        "Patch several apps",
        {"type": "array", "items": _APP},
        {200: ("deployment", _DEP)},
    ),
    (
        "get",
        "/v2/apps/{appId}",
        "One app with its tasks",
        None,
        {200: ("app", None), 404: ("unknown", _ERR)},
    ),
    (
        "put",
        "/v2/apps/{appId}",
        "Update (partialUpdate=true by default), create, or roll back with {version}",
        _APP,
        {
            200: ("deployment", _DEP),
            201: ("created", _DEP),
            409: ("locked", _ERR),
            422: ("invalid", _ERR),
        },
    ),
    (
        "patch",
        "/v2/apps/{appId}",
        "Partial update",
        _APP,
        {200: ("deployment", _DEP), 404: ("unknown", _ERR)},
    ),
    (
        "delete",
        "/v2/apps/{appId}",
        "Destroy the app and kill its tasks",
        None,
        {200: ("deployment", _DEP)},
    ),
    ("post", "/v2/apps/{appId}/restart", "Rolling restart", None, {200: ("deployment", _DEP)}),
    ("get", "/v2/apps/{appId}/tasks", "Tasks of the app", None, {200: ("tasks", None)}),
    (
        "delete",
        "/v2/apps/{appId}/tasks",
        "Kill tasks (host=, scale=)",
        None,
        {200: ("tasks or deployment", None)},
    ),
    (
        "delete",
        "/v2/apps/{appId}/tasks/{taskId}",
        "Kill one task (scale=)",
        None,
        {200: ("task or deployment", None)},
    ),
    ("get", "/v2/apps/{appId}/versions", "Stored versions", None, {200: ("versions", None)}),
    (
        "get",
        "/v2/apps/{appId}/versions/{version}",
        "The app at a version",
        None,
        {200: ("app", _APP)},
    ),
    ("get", "/v2/tasks", "All tasks (status=running|staging)", None, {200: ("tasks", None)}),
    (
        "post",
        "/v2/tasks/delete",
        "Kill tasks by id (scale=)",
        {"type": "object", "properties": {"ids": {"type": "array", "items": {"type": "string"}}}},
        {200: ("tasks or deployment", None)},
    ),
    ("get", "/v2/deployments", "Running deployments", None, {200: ("list", None)}),
    (
        "delete",
        "/v2/deployments/{deploymentId}",
        "Roll back (or force=true: cancel)",
        None,
        {200: ("rollback", _DEP), 202: ("cancelled", None)},
    ),
    ("get", "/v2/groups", "The root group", None, {200: ("group", None)}),
    ("post", "/v2/groups", "Create a group", None, {201: ("deployment", _DEP)}),
    (
        "put",
        "/v2/groups",
        "Update the root group (apps, scaleBy, version; dryRun)",
        None,
        {200: ("deployment", _DEP)},
    ),
    ("patch", "/v2/groups", "As PUT /v2/groups", None, {200: ("deployment", _DEP)}),
    ("delete", "/v2/groups", "Destroy every app", None, {200: ("deployment", _DEP)}),
    ("get", "/v2/groups/{groupId}", "One group", None, {200: ("group", None)}),
    ("patch", "/v2/groups/{groupId}", "As PUT", None, {200: ("deployment", _DEP)}),
    (
        "put",
        "/v2/groups/{groupId}",
        "Update a group (apps, scaleBy, version; dryRun)",
        None,
        {200: ("deployment", _DEP)},
    ),
    ("delete", "/v2/groups/{groupId}", "Destroy a group", None, {200: ("deployment", _DEP)}),
    ("get", "/v2/groups/{groupId}/versions", "A group's versions", None, {200: ("list", None)}),
    (
        "get",
        "/v2/groups/{groupId}/versions/{version}",
        "One group; 404 unless it has this version",
        None,
        {200: ("group", None)},
    ),
    (
        "put",
        "/v2/groups/{groupId}/versions/{version}",
        "Roll a group back to a version",
        None,
        {200: ("deployment", _DEP)},
    ),
    ("get", "/v2/queue", "The launch queue with offer statistics", None, {200: ("queue", None)}),
    (
        "delete",
        "/v2/queue/{appId}/delay",
        "Reset an app's launch delay",
        None,
        {204: ("reset", None)},
    ),
    (
        "get",
        "/v2/events",
        "Server-Sent Events (Accept: text/event-stream; event_type=)",
        None,
        {200: ("text/event-stream", None)},
    ),
    ("get", "/v2/info", "Server info", None, {200: ("info", None)}),
    ("get", "/v2/leader", "The leader", None, {200: ("leader", None)}),
    (
        "delete",
        "/v2/leader",
        "Abdicate (a single roost marathon answers and stays leader)",
        None,
        {200: ("message", None)},
    ),
    ("get", "/ping", "Liveness", None, {200: ("pong", None)}),
    ("get", "/health", "Health (as /ping)", None, {200: ("pong", None)}),
    ("get", "/openapi.json", "This document", None, {200: ("openapi", None)}),
    ("get", "/metrics", "Dropwizard-style JSON metrics", None, {200: ("metrics", None)}),
    ("get", "/metrics/prometheus", "Prometheus metrics", None, {200: ("text", None)}),
]


@functools.cache
def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path, summary, body, responses in ENDPOINTS:
        op: dict[str, Any] = {"summary": summary, "responses": {}}
        params = [p.strip("{}") for p in path.split("/") if p.startswith("{")]
        if params:
            op["parameters"] = [
                {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                for p in params
            ]
        if body is not None:
            op["requestBody"] = {"content": {"application/json": {"schema": body}}}
        for status, (desc, schema) in responses.items():
            resp: dict[str, Any] = {"description": desc}
            if schema is not None:
                resp["content"] = {"application/json": {"schema": schema}}
            op["responses"][str(status)] = resp
        paths.setdefault(path, {})[method] = op
    app_schema = AppDefinition.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(app_schema.pop("$defs", {}))
    schemas["App"] = app_schema
    schemas["Error"] = {
        "type": "object",
        "properties": {
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
        "required": ["message"],
    }
    schemas["DeploymentResult"] = {
        "type": "object",
        "properties": {"deploymentId": {"type": "string"}, "version": {"type": "string"}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "roost marathon (Marathon REST API v2)", "version": __version__},
        "paths": paths,
        "components": {"schemas": schemas},
    }
