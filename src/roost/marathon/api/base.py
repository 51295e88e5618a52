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
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest(
            "Invalid JSON", details=[{"path": "/", "errors": [f"Unexpected JSON: {e}"]}]
        ) from None
    except RecursionError:
        # the decoder recurses once per nesting level: "[[[[..." must be a 400, not a 500
        raise BadRequest(
            "Invalid JSON",
            details=[{"path": "/", "errors": ["Unexpected JSON: nested too deeply"]}],
        ) from None


def flag(request: Request, name: str, default: bool) -> bool:
    return parse_bool(request.query_params.get(name), default=default, name=name)


def deployment_result(plan_id: str, version: str, status: int = 200) -> Response:
    return ok(
        {"deploymentId": plan_id, "version": version},
        status,
        {"Marathon-Deployment-Id": plan_id},
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
