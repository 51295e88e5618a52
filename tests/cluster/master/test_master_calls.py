"""The less common v1 scheduler calls and agent calls of a real master, asserted on the wire:
MESSAGE both ways, SHUTDOWN, the calls the master accepts and ignores, UPDATE_FRAMEWORK,
LAUNCH_GROUP, EXECUTOR_EXITED and HEARTBEAT pacing."""

from __future__ import annotations

import asyncio
import base64
import itertools
from typing import Any

import httpx
import pytest

from roost.cluster.master.server import MasterServer
from roost.testing.emulated_agent import EmulatedAgent
from tests.cluster.master.conftest import RawScheduler, agent_event, task_info


async def get_json(master: MasterServer, path: str) -> Any:
    async with httpx.AsyncClient() as c:
        resp = await c.get(f"http://{master.address}{path}")
        assert resp.status_code == 200, (path, resp.status_code, resp.text)
        return resp.json()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def resources(cpus: float, mem: float) -> list[dict[str, Any]]:
    return [
        {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
        {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}},
    ]


# -- MESSAGE ---------------------------------------------------------------------------------
async def test_framework_message_reaches_agent(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    _, agent = cluster
    data = b64(b"\x00hello executor\xff")
    n = len(agent.events)
    resp = await scheduler.call(
        "MESSAGE",
        {"agent_id": {"value": agent.agent_id}, "executor_id": {"value": "ex-1"}, "data": data},
    )
    assert resp.status_code == 202
    ev = await agent_event(agent, "MESSAGE", start=n)
    msg = ev["message"]
    assert msg["framework_id"] == {"value": scheduler.framework_id}
    assert msg["executor_id"] == {"value": "ex-1"}
    assert msg["data"] == data
    assert base64.b64decode(msg["data"]) == b"\x00hello executor\xff"


async def test_executor_message_reaches_framework(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    _, agent = cluster
    data = b64(b"from the executor")
    n = len(scheduler.events)
    code = await agent.call(
        {
            "type": "MESSAGE",
            "message": {
                "framework_id": {"value": scheduler.framework_id},
                "executor_id": {"value": "ex-2"},
                "data": data,
            },
        }
    )
    assert code == 202
    ev = await scheduler.wait_for("MESSAGE", timeout=2, start=n)
    assert ev["message"] == {
        "agent_id": {"value": agent.agent_id},
        "executor_id": {"value": "ex-2"},
        "data": data,
    }


# -- SHUTDOWN --------------------------------------------------------------------------------
async def test_shutdown_call_reaches_agent_as_shutdown_executor(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    _, agent = cluster
    n = len(agent.events)
    resp = await scheduler.call(
        "SHUTDOWN", {"agent_id": {"value": agent.agent_id}, "executor_id": {"value": "ex-3"}}
    )
    assert resp.status_code == 202
    ev = await agent_event(agent, "SHUTDOWN_EXECUTOR", start=n)
    assert ev["shutdown_executor"]["framework_id"] == {"value": scheduler.framework_id}
    assert ev["shutdown_executor"]["executor_id"] == {"value": "ex-3"}


# -- calls accepted and ignored ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("ctype", "body"),
    [
        ("REQUEST", {"requests": [{"resources": resources(1, 128)}]}),
        ("ACCEPT_INVERSE_OFFERS", {"inverse_offer_ids": [{"value": "io-1"}]}),
        (
            "DECLINE_INVERSE_OFFERS",
            {"inverse_offer_ids": [{"value": "io-1"}], "filters": {"refuse_seconds": 1}},
        ),
        (
            "ACKNOWLEDGE_OPERATION_STATUS",
            {"uuid": b64(bytes(range(16))), "operation_id": {"value": "op-1"}},
        ),
        ("RECONCILE_OPERATIONS", {"operations": [{"operation_id": {"value": "op-1"}}]}),
    ],
)
async def test_ignored_calls_are_accepted_and_change_nothing(
    master: MasterServer, scheduler: RawScheduler, ctype: str, body: dict[str, Any]
) -> None:
    before = await get_json(master, f"/master/frameworks?framework_id={scheduler.framework_id}")
    n = len(scheduler.events)
    resp = await scheduler.call(ctype, body)
    assert resp.status_code == 202
    assert resp.content == b""
    await asyncio.sleep(0.3)
    caused = [e["type"] for e in scheduler.events[n:] if e["type"] != "HEARTBEAT"]
    assert caused == []
    assert not scheduler.closed.is_set(), "the subscription stream is still open"
    after = await get_json(master, f"/master/frameworks?framework_id={scheduler.framework_id}")
    assert after == before
    fw = after["frameworks"][0]
    assert fw["active"] and fw["connected"]
    assert (await scheduler.call("REVIVE")).status_code == 202


# -- UPDATE_FRAMEWORK --------------------------------------------------------------------------
async def test_update_framework_changes_name(master: MasterServer, scheduler: RawScheduler) -> None:
    info = dict(scheduler.info, name="renamed", id={"value": scheduler.framework_id})
    resp = await scheduler.call("UPDATE_FRAMEWORK", {"framework_info": info})
    assert resp.status_code == 200
    got = await get_json(master, f"/master/frameworks?framework_id={scheduler.framework_id}")
    assert [f["name"] for f in got["frameworks"]] == ["renamed"]
    assert not scheduler.closed.is_set()


# -- LAUNCH_GROUP ------------------------------------------------------------------------------
def launch_group(
    offer: dict[str, Any], executor: dict[str, Any], *tasks: dict[str, Any]
) -> dict[str, Any]:
    return {
        "offer_ids": [offer["id"]],
        "operations": [
            {
                "type": "LAUNCH_GROUP",
                "launch_group": {"executor": executor, "task_group": {"tasks": list(tasks)}},
            }
        ],
    }


async def test_launch_group_with_custom_executor_sends_one_run_task_group(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    master, agent = cluster
    offer = await scheduler.offer()
    executor = {
        "executor_id": {"value": "group-ex"},
        "type": "CUSTOM",
        "command": {"value": "./my-executor"},
        "resources": resources(0.1, 32),
    }
    n = len(agent.events)
    body = launch_group(offer, executor, task_info("g1", offer), task_info("g2", offer))
    assert (await scheduler.call("ACCEPT", body)).status_code == 202
    ev = await agent_event(agent, "RUN_TASK_GROUP", start=n)
    await asyncio.sleep(0.2)
    groups = [e for e in agent.events[n:] if e["type"] == "RUN_TASK_GROUP"]
    assert len(groups) == 1, "one RUN_TASK_GROUP for the whole group"
    assert not [e for e in agent.events[n:] if e["type"] == "RUN_TASK"]
    run = ev["run_task_group"]
    assert sorted(t["task_id"]["value"] for t in run["task_group"]["tasks"]) == ["g1", "g2"]
    assert run["executor"]["executor_id"] == {"value": "group-ex"}
    assert run["executor"]["command"] == {"value": "./my-executor"}
    assert run["framework_info"]["id"] == {"value": scheduler.framework_id}
    # The emulated agent does not run task groups: both tasks stay STAGING on the master.
    got = await get_json(master, f"/master/tasks?framework_id={scheduler.framework_id}")
    assert sorted((t["id"], t["state"]) for t in got["tasks"]) == [
        ("g1", "TASK_STAGING"),
        ("g2", "TASK_STAGING"),
    ]


async def test_launch_group_with_default_executor_is_task_error(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    _, agent = cluster
    offer = await scheduler.offer()
    executor = {
        "executor_id": {"value": "default-ex"},
        "type": "DEFAULT",
        "resources": resources(0.1, 32),
    }
    n = len(agent.events)
    body = launch_group(offer, executor, task_info("d1", offer), task_info("d2", offer))
    assert (await scheduler.call("ACCEPT", body)).status_code == 202
    for tid in ("d1", "d2"):
        status = await scheduler.update(tid, "TASK_ERROR", timeout=2)
        assert "DEFAULT executor" in status["message"]
        assert "uuid" not in status
    await asyncio.sleep(0.1)
    assert not [e for e in agent.events[n:] if e["type"] in ("RUN_TASK_GROUP", "RUN_TASK")]


# -- EXECUTOR_EXITED ---------------------------------------------------------------------------
async def test_executor_exited_is_failure_to_framework(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    _, agent = cluster
    n = len(scheduler.events)
    code = await agent.call(
        {
            "type": "EXECUTOR_EXITED",
            "executor_exited": {
                "framework_id": {"value": scheduler.framework_id},
                "executor_id": {"value": "ex-4"},
                "status": 256,
            },
        }
    )
    assert code == 202
    ev = await scheduler.wait_for("FAILURE", timeout=2, start=n)
    assert ev["failure"] == {
        "agent_id": {"value": agent.agent_id},
        "executor_id": {"value": "ex-4"},
        "status": 256,
    }


# -- HEARTBEAT ---------------------------------------------------------------------------------
def heartbeats(s: RawScheduler) -> int:
    return sum(1 for e in s.events if e["type"] == "HEARTBEAT")


async def test_heartbeats_arrive_at_configured_interval(master: MasterServer) -> None:
    s = RawScheduler(master.address)
    loop = asyncio.get_running_loop()
    try:
        t0 = loop.time()
        await s.subscribe()
        assert s.events[0]["subscribed"]["heartbeat_interval_seconds"] == 0.5
        arrivals = []
        for k in range(3):
            await s.wait_for("HEARTBEAT", lambda e, k=k: heartbeats(s) > k, timeout=2)
            arrivals.append(loop.time())
        assert 0.35 <= arrivals[0] - t0 <= 2.0
        gaps = [b - a for a, b in itertools.pairwise(arrivals)]
        assert all(0.35 <= g <= 1.5 for g in gaps), gaps
        assert heartbeats(s) == 3
    finally:
        await s.close()
