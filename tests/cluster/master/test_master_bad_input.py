"""Table-driven bad input for every master endpoint: the documented status and message, and
the master keeps serving with its state intact."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from roost.cluster.master.server import MasterServer
from tests.cluster.master.conftest import RawScheduler

JSON = {"Content-Type": "application/json"}
SUB = {"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "u", "name": "n"}}}

# (method, path, body, headers, status, message fragment)
SCHEDULER_CASES: list[tuple[str, str, Any, dict[str, str], int, str]] = [
    ("GET", "/api/v1/scheduler", None, {}, 405, "Expecting a 'POST' request"),
    ("POST", "/api/v1/scheduler", b"{not json", JSON, 400, "Failed to parse body into JSON"),
    ("POST", "/api/v1/scheduler", b"[1,2]", JSON, 400, "expected an object"),
    (
        "POST",
        "/api/v1/scheduler",
        json.dumps({"type": "FLY"}).encode(),
        JSON,
        400,
        "unknown call type 'FLY'",
    ),
    ("POST", "/api/v1/scheduler", json.dumps({"type": 7}).encode(), JSON, 400, "Expecting 'type'"),
    ("POST", "/api/v1/scheduler", json.dumps(SUB).encode(), {}, 400, "Expecting 'Content-Type'"),
    (
        "POST",
        "/api/v1/scheduler",
        json.dumps(SUB).encode(),
        {"Content-Type": "application/x-protobuf"},
        415,
        "application/json",
    ),
    (
        "POST",
        "/api/v1/scheduler",
        json.dumps(SUB).encode(),
        {**JSON, "Accept": "application/x-protobuf"},
        406,
        "Accept",
    ),
    (
        "POST",
        "/api/v1/scheduler",
        json.dumps(SUB).encode(),
        {**JSON, "Mesos-Stream-Id": "x"},
        400,
        "should not include the 'Mesos-Stream-Id'",
    ),
    (
        "POST",
        "/api/v1/scheduler",
        json.dumps({"type": "SUBSCRIBE"}).encode(),
        JSON,
        400,
        "'subscribe' to be present",
    ),
    (
        "POST",
        "/api/v1/scheduler",
        json.dumps(
            {"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": 1, "name": "n"}}}
        ).encode(),
        JSON,
        400,
        "framework_info.user",
    ),
    (
        "POST",
        "/api/v1/scheduler",
        json.dumps(
            {
                "type": "SUBSCRIBE",
                "subscribe": {
                    "framework_info": {"user": "u", "name": "n", "failover_timeout": "soon"}
                },
            }
        ).encode(),
        JSON,
        400,
        "failover_timeout",
    ),
    (
        "POST",
        "/api/v1/scheduler",
        json.dumps(
            {
                "type": "SUBSCRIBE",
                "subscribe": {"framework_info": {"user": "u", "name": "n", "capabilities": ["X"]}},
            }
        ).encode(),
        JSON,
        400,
        "capabilities",
    ),
    (
        "POST",
        "/api/v1/scheduler",
        json.dumps({"type": "REVIVE"}).encode(),
        JSON,
        400,
        "'framework_id' to be present",
    ),
    (
        "POST",
        "/api/v1/scheduler",
        json.dumps({"type": "REVIVE", "framework_id": {"value": "nope"}}).encode(),
        JSON,
        400,
        "Framework cannot be found",
    ),
    ("POST", "/api/v1/scheduler", b"x" * (17 * 1024 * 1024), JSON, 413, "larger than"),
    ("POST", "/master/api/v1/scheduler", b"{", JSON, 400, "Failed to parse body into JSON"),
    ("POST", "/api/v1/agent", b"{", JSON, 400, "Failed to parse body into JSON"),
    (
        "POST",
        "/api/v1/agent",
        json.dumps(
            {"type": "SUBSCRIBE", "subscribe": {"agent_info": {"hostname": "h", "port": "x"}}}
        ).encode(),
        JSON,
        400,
        "agent_info.port",
    ),
    (
        "POST",
        "/api/v1/agent",
        json.dumps(
            {
                "type": "SUBSCRIBE",
                "subscribe": {
                    "agent_info": {
                        "hostname": "h",
                        "port": 1,
                        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": -1}}],
                    }
                },
            }
        ).encode(),
        JSON,
        400,
        "negative",
    ),
    (
        "POST",
        "/api/v1/agent",
        json.dumps({"type": "PONG", "agent_id": {"value": "ghost"}}).encode(),
        JSON,
        403,
        "Agent is not subscribed",
    ),
    (
        "POST",
        "/api/v1/agent",
        json.dumps({"type": "LAUNCH_MISSILES"}).encode(),
        JSON,
        400,
        "unknown call type",
    ),
    ("GET", "/master/tasks?limit=abc", None, {}, 400, "Failed to parse 'limit'"),
    ("GET", "/master/tasks?limit=-5", None, {}, 400, "'limit' must be between"),
    ("GET", "/master/tasks?order=sideways", None, {}, 400, "'order' must be"),
    ("GET", "/master/state?jsonp=alert(1)", None, {}, 400, "Invalid 'jsonp'"),
    ("POST", "/master/teardown", b"frameworkId=nope", {}, 400, "No framework found"),
]


def _framework_ids(master: MasterServer) -> list[str]:
    """The frameworks /master/frameworks would list, built fresh: over HTTP two reads within
    the state view's minimum age (50 ms) get the same cached snapshot."""
    assert master.view is not None
    return [f["id"] for f in master.view.state()["frameworks"]]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "message"), SCHEDULER_CASES
)
async def test_bad_request_is_rejected_with_message(
    master: MasterServer,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    s = RawScheduler(master.address)
    await s.subscribe()
    try:
        before = _framework_ids(master)
        assert before == [s.framework_id]
        async with httpx.AsyncClient(timeout=10) as c:
            resp = await c.request(
                method, f"http://{master.address}{path}", content=body, headers=headers
            )
            assert resp.status_code == status, resp.text
            assert message in resp.text
            assert (await c.get(f"http://{master.address}/health")).status_code == 200
        assert _framework_ids(master) == before
        assert not s.closed.is_set(), "other frameworks are not disturbed"
    finally:
        await s.close()


@pytest.mark.parametrize(
    ("ctype", "payload", "message"),
    [
        ("ACCEPT", {"offer_ids": "x"}, "'accept.offer_ids' must be a list"),
        (
            "ACCEPT",
            {"offer_ids": [{"value": "o"}], "operations": [{"kind": 1}]},
            "operations[0].type",
        ),
        ("DECLINE", {"offer_ids": [], "filters": {"refuse_seconds": "soon"}}, "refuse_seconds"),
        ("KILL", {}, "'kill.task_id'"),
        (
            "ACKNOWLEDGE",
            {"agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "%%%"},
            "base64",
        ),
        (
            "ACKNOWLEDGE",
            {"agent_id": {"value": "a"}, "task_id": {"value": "t"}, "uuid": "AAAA"},
            "16 bytes",
        ),
        ("RECONCILE", {"tasks": "all"}, "'reconcile.tasks' must be a list"),
        ("RECONCILE", {"tasks": [{"agent_id": {"value": "a"}}]}, "task_id"),
        ("MESSAGE", {"agent_id": {"value": "a"}, "executor_id": {"value": "e"}, "data": 5}, "data"),
        ("SUPPRESS", {"roles": "*"}, "roles"),
    ],
)
async def test_malformed_call_of_subscribed_framework(
    scheduler: RawScheduler, ctype: str, payload: dict[str, Any], message: str
) -> None:
    resp = await scheduler.call(ctype, payload)
    assert resp.status_code == 400
    assert message in resp.text
    assert (await scheduler.call("REVIVE")).status_code == 202


async def test_call_with_wrong_stream_id(scheduler: RawScheduler) -> None:
    scheduler.stream_id = "not-the-stream"
    resp = await scheduler.call("REVIVE")
    assert resp.status_code == 400
    assert "didn't match the stream ID" in resp.text


async def test_call_of_disconnected_framework_is_403(master: MasterServer) -> None:
    s = RawScheduler(master.address, {"user": "u", "name": "n", "failover_timeout": 60})
    await s.subscribe()
    await s.close()
    async with httpx.AsyncClient() as c:
        for _ in range(50):
            resp = await c.post(
                f"http://{master.address}/api/v1/scheduler",
                json={"type": "REVIVE", "framework_id": {"value": s.framework_id}},
                headers={"Mesos-Stream-Id": s.stream_id or ""},
            )
            if resp.status_code == 403:
                break
    assert resp.status_code == 403
    assert "Framework is not subscribed" in resp.text
