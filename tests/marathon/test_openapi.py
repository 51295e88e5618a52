"""The OpenAPI document lists every route the Marathon API serves."""

from __future__ import annotations

import re

from starlette.routing import Route

from roost.marathon.api.app import create_app
from roost.marathon.api.openapi import openapi_document


def served_paths() -> set[tuple[str, str]]:
    app = create_app(None)  # type: ignore[arg-type]  # routes only; nothing is served
    inner = app.app
    out: set[tuple[str, str]] = set()
    for route in inner.routes:
        assert isinstance(route, Route)
        if "{rest:path}" in route.path:
            continue  # catch-alls: their concrete paths are checked below
        for method in route.methods or ():
            if method != "HEAD":
                out.add((method.lower(), route.path))
    return out


def shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_literal_route_is_documented() -> None:
    doc = openapi_document()["paths"]
    documented = {(m, shape(p)) for p, ops in doc.items() for m in ops}
    assert {(m, shape(p)) for m, p in served_paths()} - documented == set()


def test_the_catch_all_routes_are_documented_by_their_concrete_paths() -> None:
    doc = openapi_document()["paths"]
    for path in (
        "/v2/apps/{appId}",
        "/v2/apps/{appId}/restart",
        "/v2/apps/{appId}/tasks/{taskId}",
        "/v2/apps/{appId}/versions/{version}",
        "/v2/groups/{groupId}/versions",
        "/v2/groups/{groupId}/versions/{version}",
        "/v2/queue/{appId}/delay",
    ):
        assert path in doc, path
