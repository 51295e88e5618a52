"""Structural validation of v1 scheduler calls (``Master::Http::scheduler`` checks).

Structural problems (wrong types, unknown call type, missing required fields) are *malformed
requests*: 400 with a plain-text message. Semantic problems (an unknown offer, a task that does
not fit) are not checked here: the master answers 202 and reports them asynchronously.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from roost.cluster.protocol import id_value
from roost.core.http import HttpError

SCHEDULER_CALLS = frozenset(
    {
        "SUBSCRIBE",
        "TEARDOWN",
        "ACCEPT",
        "DECLINE",
        "ACCEPT_INVERSE_OFFERS",
        "DECLINE_INVERSE_OFFERS",
        "REVIVE",
        "SUPPRESS",
        "KILL",
        "SHUTDOWN",
        "ACKNOWLEDGE",
        "ACKNOWLEDGE_OPERATION_STATUS",
        "RECONCILE",
        "RECONCILE_OPERATIONS",
        "MESSAGE",
        "REQUEST",
        "UPDATE_FRAMEWORK",
    }
)

DEFAULT_REFUSE_SECONDS = 5.0


def bad(message: str) -> HttpError:
    return HttpError(400, f"Failed to validate scheduler::Call: {message}")


def envelope(body: Any, known: frozenset[str], what: str = "scheduler::Call") -> tuple[str, dict]:
    if not isinstance(body, dict):
        raise HttpError(
            400,
            f"Failed to convert JSON into Call protobuf: expected an object, got {type(body).__name__}",
        )
    ctype = body.get("type")
    if not isinstance(ctype, str):
        raise HttpError(400, f"Failed to validate {what}: Expecting 'type' to be present")
    if ctype not in known:
        raise HttpError(
            400, f"Failed to convert JSON into Call protobuf: unknown call type '{ctype[:64]}'"
        )
    return ctype, body


def payload(call: dict[str, Any], ctype: str, required: bool = True) -> dict[str, Any]:
    key = ctype.lower()
    value = call.get(key)
    if value is None:
        if required:
            raise bad(f"Expecting '{key}' to be present")
        return {}
    if not isinstance(value, dict):
        raise bad(f"'{key}' must be an object")
    return value


def required_id(obj: dict[str, Any], key: str, where: str) -> str:
    v = id_value(obj.get(key))
    if v is None:
        raise bad(f'Expecting \'{where}.{key}\' to be present as {{"value": "..."}}')
    return v


def id_list(obj: dict[str, Any], key: str, where: str) -> list[str]:
    items = obj.get(key, [])
    if not isinstance(items, list):
        raise bad(f"'{where}.{key}' must be a list")
    out = []
    for i, item in enumerate(items):
        v = id_value(item)
        if v is None:
            raise bad(f'\'{where}.{key}[{i}]\' must be {{"value": "..."}}')
        out.append(v)
    return out


def refuse_seconds(obj: dict[str, Any]) -> float:
    """``filters.refuse_seconds`` with Mesos' handling of odd values (default 5 s)."""
    filters = obj.get("filters")
    if filters is None:
        return DEFAULT_REFUSE_SECONDS
    if not isinstance(filters, dict):
        raise bad("'filters' must be an object")
    v = filters.get("refuse_seconds", DEFAULT_REFUSE_SECONDS)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise bad("'filters.refuse_seconds' must be a number")
    if math.isnan(v) or v < 0:
        return DEFAULT_REFUSE_SECONDS
    return float(min(v, 365 * 86400))


def roles(obj: dict[str, Any], where: str) -> list[str]:
    items = obj.get("roles", [])
    if not isinstance(items, list) or not all(isinstance(r, str) for r in items):
        raise bad(f"'{where}.roles' must be a list of strings")
    return items


def status_uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise bad("'acknowledge.uuid' must be a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise bad("'acknowledge.uuid' is not valid base64") from None
    if len(raw) != 16:
        raise bad(f"'acknowledge.uuid' must be 16 bytes, got {len(raw)}")
    return value


def framework_info(sub: dict[str, Any]) -> dict[str, Any]:
    info = sub.get("framework_info")
    if not isinstance(info, dict):
        raise bad("Expecting 'subscribe.framework_info' to be present")
    for key in ("user", "name"):
        if not isinstance(info.get(key), str):
            raise bad(f"Expecting 'framework_info.{key}' to be a string")
    ft = info.get("failover_timeout", 0)
    if isinstance(ft, bool) or not isinstance(ft, int | float) or math.isnan(ft):
        raise bad("'framework_info.failover_timeout' must be a number")
    caps = info.get("capabilities", [])
    if not isinstance(caps, list) or not all(
        isinstance(c, dict) and isinstance(c.get("type"), str) for c in caps
    ):
        raise bad("'framework_info.capabilities' must be a list of {\"type\": ...}")
    rl = info.get("roles", [])
    if not isinstance(rl, list) or not all(isinstance(r, str) and r for r in rl):
        raise bad("'framework_info.roles' must be a list of role names")
    if len(rl) > 1:
        raise bad(
            "roost supports one role per framework (MULTI_ROLE with several roles is not supported)"
        )
    role = info.get("role", "*")
    if not isinstance(role, str) or not role:
        raise bad("'framework_info.role' must be a role name")
    if len(info.get("name", "")) > 1024 or len(info.get("user", "")) > 256:
        raise bad("'framework_info.name' or 'user' is too long")
    return info


OPERATION_TYPES = frozenset(
    {
        "LAUNCH",
        "LAUNCH_GROUP",
        "RESERVE",
        "UNRESERVE",
        "CREATE",
        "DESTROY",
        "GROW_VOLUME",
        "SHRINK_VOLUME",
        "CREATE_DISK",
        "DESTROY_DISK",
    }
)


def operations(accept: dict[str, Any]) -> list[dict[str, Any]]:
    ops = accept.get("operations", [])
    if not isinstance(ops, list):
        raise bad("'accept.operations' must be a list")
    for i, op in enumerate(ops):
        if not isinstance(op, dict) or not isinstance(op.get("type"), str):
            raise bad(f"'accept.operations[{i}].type' must be present")
        t = op["type"]
        if t not in OPERATION_TYPES:
            raise bad(f"'accept.operations[{i}].type' is not an operation type: '{t[:40]}'")
        if t == "LAUNCH":
            launch = op.get("launch")
            if not isinstance(launch, dict) or not isinstance(launch.get("task_infos", []), list):
                raise bad(f"'accept.operations[{i}].launch.task_infos' must be a list")
        elif t == "LAUNCH_GROUP":
            lg = op.get("launch_group")
            if not isinstance(lg, dict) or not isinstance(lg.get("executor"), dict):
                raise bad(f"'accept.operations[{i}].launch_group.executor' must be present")
            tg = lg.get("task_group")
            if not isinstance(tg, dict) or not isinstance(tg.get("tasks"), list):
                raise bad(f"'accept.operations[{i}].launch_group.task_group.tasks' must be a list")
    return ops
