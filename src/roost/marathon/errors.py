"""Errors of the Marathon API, in Marathon's JSON shape (``api/MarathonExceptionMapper.scala``).

::

    ApiError                      {"message": ...} with an HTTP status
    ├── NotFound                  404 "App '/x' does not exist", "Task 'x' does not exist", ...
    ├── Conflict                  409 duplicate ids
    ├── AppLocked                 409 + "deployments": [{"id"}] while a deployment runs
    └── BadRequest                400 malformed input that is not a validation failure

Validation failures (422 with ``details``) come from
:class:`roost.marathon.appdef.AppValidationError` and are mapped by the REST layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class ApiError(Exception):
    """An error answered as ``{"message": ...}`` (plus extra keys) with ``status``."""

    status = 500

    def __init__(self, message: str, *, status: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"message": self.message, **self.extra}


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class BadRequest(ApiError):
    status = 400


class Unavailable(ApiError):
    status = 503


class AppLocked(Conflict):
    """A change to apps that a running deployment holds (override with ``?force=true``)."""

    def __init__(self, deployment_ids: Iterable[str]) -> None:
        ids = sorted(set(deployment_ids))
        first = ids[0] if ids else ""
        super().__init__(
            "App is locked by one or more deployments. Override with the option "
            f"'?force=true'. View details at '/v2/deployments/{first}'.",
            deployments=[{"id": d} for d in ids],
        )


def app_not_found(app_id: str) -> NotFound:
    return NotFound(f"App '{app_id}' does not exist")


def task_not_found(task_id: str) -> NotFound:
    return NotFound(f"Task '{task_id}' does not exist")


def deployment_not_found(deployment_id: str) -> NotFound:
    return NotFound(f"DeploymentPlan {deployment_id} does not exist")


def group_not_found(group_id: str) -> NotFound:
    return NotFound(f"Group '{group_id}' does not exist")
