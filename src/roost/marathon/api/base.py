"""Plumbing shared by the REST handlers: the context, JSON bodies, query flags, errors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from roost.core.http import HttpError, read_body
from roost.marathon.appdef import AppValidationError
from roost.marathon.errors import ApiError, BadRequest
from roost.marathon.events import EventBus
from roost.marathon.operations import Operations
from roost.marathon.orchestrator import Orchestrator
from roost.marathon.query import QueryError, parse_bool

BODY_LIMIT = 1024 * 1024
"""Largest request body (1 MiB); bigger ones get 413 — ZooKeeper's node limit upstream."""

MAX_DEPTH = 100
"""Deepest JSON nesting accepted in a body (400 beyond). An app definition is under ten
levels deep and each nested group adds two; the handlers walk bodies recursively, so deeper
input is refused here rather than found as a RecursionError (a 500) somewhere below."""


@dataclass
class MarathonContext:
    orc: Orchestrator
    ops: Operations
    bus: EventBus
    hostname: str
    http_port: int
    master: str
    framework_name: str = "marathon"
    zk: str = ""
    started_at: float = 0.0
    requests: dict[str, int] = field(default_factory=dict)


def ctx(request: Request) -> MarathonContext:
    c: MarathonContext = request.app.state.marathon
    return c


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(exc: Exception) -> Response:
    if isinstance(exc, ApiError):
        return JSONResponse(exc.body(), status_code=exc.status)
    if isinstance(exc, AppValidationError):
        return JSONResponse(exc.body(), status_code=exc.status)
    if isinstance(exc, HttpError):
        return JSONResponse({"message": exc.message}, status_code=exc.status)
    if isinstance(exc, QueryError):
        return JSONResponse({"message": str(exc)}, status_code=400)
    raise exc


async def json_body(request: Request) -> Any:
    raw = await read_body(request, BODY_LIMIT)
    if not raw.strip():
        raise BadRequest(
            "Invalid JSON", details=[{"path": "/", "errors": ["error.expected.jsobject"]}]
        )
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(
            "Invalid JSON", details=[{"path": "/", "errors": [f"Unexpected JSON: {e}"]}]
        ) from None
    except RecursionError:  # the decoder recurses once per level of "[[[[..."
        raise _too_deep() from None
    if _deeper_than(body, MAX_DEPTH):
        raise _too_deep()
    return body


def _too_deep() -> BadRequest:
    message = f"Unexpected JSON: nested more than {MAX_DEPTH} levels deep"
    return BadRequest("Invalid JSON", details=[{"path": "/", "errors": [message]}])


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether decoded JSON nests more than ``limit`` arrays/objects deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def flag(request: Request, name: str, default: bool) -> bool:
    return parse_bool(request.query_params.get(name), default=default, name=name)


def kill_flags(request: Request) -> tuple[bool, bool]:
    """``(scale, force)`` of a task kill; ``scale`` with ``wipe`` is refused, as upstream."""
    scale = flag(request, "scale", False)
    wipe = flag(request, "wipe", False)
    force = flag(request, "force", False)
    if scale and wipe:
        raise BadRequest("You cannot use scale and wipe at the same time.")
    return scale, force


def deployment_result(plan_id: str, version: str, status: int = 200) -> Response:
    return ok(
        {"deploymentId": plan_id, "version": version},
        status,
        {"Marathon-Deployment-Id": plan_id},
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
