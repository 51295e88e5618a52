"""Bodies of v1 scheduler calls (``scheduler.proto`` ``Call``), as plain JSON-ready dicts.

Envelope: ``{"type": T, "framework_id": {"value": ...}, "<lower(T)>": {...}}``. Ids may be
given as strings or as ``{"value": ...}`` objects; bytes fields are base64 encoded.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

IdLike = str | Mapping[str, Any]
Json = dict[str, Any]


def id_obj(value: IdLike) -> dict[str, str]:
    if isinstance(value, str):
        return {"value": value}
    v = value.get("value")
    if not isinstance(v, str):
        raise ValueError(f"expected an id string or {{'value': str}}, got {value!r}")
    return {"value": v}


def id_value(obj: Any) -> str | None:
    """``{"value": "x"}`` → ``"x"``; anything else → None."""
    if isinstance(obj, Mapping) and isinstance(obj.get("value"), str):
        return str(obj["value"])
    return None


def call(kind: str, framework_id: str | None, payload: Mapping[str, Any] | None = None) -> Json:
    body: Json = {"type": kind}
    if framework_id is not None:
        body["framework_id"] = {"value": framework_id}
    if payload is not None:
        body[kind.lower()] = dict(payload)
    return body


def filters_obj(filters: Mapping[str, Any] | None, refuse_seconds: float | None) -> Json | None:
    out = dict(filters) if filters is not None else {}
    if refuse_seconds is not None:
        out["refuse_seconds"] = float(refuse_seconds)
    return out or None


def subscribe(framework_info: Mapping[str, Any], framework_id: str | None) -> Json:
    """SUBSCRIBE; a re-subscribe carries the id both top-level and in ``framework_info.id``."""
    info = dict(framework_info)
    if framework_id is not None:
        info["id"] = {"value": framework_id}
    return call("SUBSCRIBE", framework_id, {"framework_info": info})


def launch_op(task_infos: Sequence[Mapping[str, Any]]) -> Json:
    return {"type": "LAUNCH", "launch": {"task_infos": [dict(t) for t in task_infos]}}


def launch_group_op(executor: Mapping[str, Any], task_infos: Sequence[Mapping[str, Any]]) -> Json:
    group = {"executor": dict(executor), "task_group": {"tasks": [dict(t) for t in task_infos]}}
    return {"type": "LAUNCH_GROUP", "launch_group": group}


def accept(
    framework_id: str,
    offer_ids: Iterable[IdLike],
    operations: Sequence[Mapping[str, Any]],
    filters: Json | None = None,
) -> Json:
    payload: Json = {
        "offer_ids": [id_obj(o) for o in offer_ids],
        "operations": [dict(op) for op in operations],
    }
    if filters:
        payload["filters"] = filters
    return call("ACCEPT", framework_id, payload)


def decline(framework_id: str, offer_ids: Iterable[IdLike], filters: Json | None = None) -> Json:
    payload: Json = {"offer_ids": [id_obj(o) for o in offer_ids]}
    if filters:
        payload["filters"] = filters
    return call("DECLINE", framework_id, payload)


def roles_call(kind: str, framework_id: str, roles: Iterable[str] | None) -> Json:
    """REVIVE / SUPPRESS: no roles means all of the framework's roles."""
    return call(kind, framework_id, {"roles": list(roles)} if roles else None)


def kill(
    framework_id: str,
    task_id: IdLike,
    agent_id: IdLike | None = None,
    kill_policy: Mapping[str, Any] | None = None,
) -> Json:
    payload: Json = {"task_id": id_obj(task_id)}
    if agent_id is not None:
        payload["agent_id"] = id_obj(agent_id)
    if kill_policy is not None:
        payload["kill_policy"] = dict(kill_policy)
    return call("KILL", framework_id, payload)


def acknowledge(framework_id: str, agent_id: IdLike, task_id: IdLike, uuid: str | bytes) -> Json:
    """``uuid`` is the status' base64 string as received, or its 16 raw bytes."""
    b64 = base64.b64encode(uuid).decode() if isinstance(uuid, bytes) else uuid
    payload = {"agent_id": id_obj(agent_id), "task_id": id_obj(task_id), "uuid": b64}
    return call("ACKNOWLEDGE", framework_id, payload)


def reconcile(framework_id: str, tasks: Iterable[tuple[IdLike, IdLike | None]]) -> Json:
    """RECONCILE; an empty list asks about every task the master knows (implicit)."""
    items: list[Json] = []
    for task_id, agent_id in tasks:
        item: Json = {"task_id": id_obj(task_id)}
        if agent_id is not None:
            item["agent_id"] = id_obj(agent_id)
        items.append(item)
    return call("RECONCILE", framework_id, {"tasks": items})


def message(framework_id: str, agent_id: IdLike, executor_id: IdLike, data: bytes) -> Json:
    payload = {
        "agent_id": id_obj(agent_id),
        "executor_id": id_obj(executor_id),
        "data": base64.b64encode(data).decode(),
    }
    return call("MESSAGE", framework_id, payload)


def shutdown(framework_id: str, executor_id: IdLike, agent_id: IdLike) -> Json:
    payload = {"executor_id": id_obj(executor_id), "agent_id": id_obj(agent_id)}
    return call("SHUTDOWN", framework_id, payload)


def request(framework_id: str, requests: Sequence[Mapping[str, Any]]) -> Json:
    return call("REQUEST", framework_id, {"requests": [dict(r) for r in requests]})


def teardown(framework_id: str) -> Json:
    return call("TEARDOWN", framework_id)
