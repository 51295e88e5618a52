"""Regression tests: nothing one framework or agent sends may corrupt the master's state or
disturb another framework."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from roost.cluster.master.server import MasterServer
from roost.testing.emulated_agent import EmulatedAgent
from tests.cluster.master.conftest import RawScheduler, fast_config, launch, task_info, until


async def _state(master: MasterServer) -> dict[str, Any]:
    async with httpx.AsyncClient() as c:
        resp = await c.get(f"http://{master.address}/master/state")
    assert resp.status_code == 200
    return dict(resp.json())


async def test_same_task_id_in_two_frameworks_stays_apart(master: MasterServer) -> None:
    agent = EmulatedAgent(master.address, resources="cpus:1;mem:256")
    await agent.start()
    a, b = RawScheduler(master.address), RawScheduler(master.address)
    await a.subscribe()
    try:
        offer = await a.offer()
        await a.call("ACCEPT", launch(offer, task_info("t1", offer, cpus=0.5, mem=64), refuse=0))
        await a.update("t1", "TASK_RUNNING")
        await b.subscribe()
        offer = await b.offer()
        await b.call("ACCEPT", launch(offer, task_info("t1", offer, cpus=0.5, mem=64)))
        await b.update("t1", "TASK_RUNNING")
        # The agent keys tasks per framework too; finish A's t1 only.
        agent.tasks["t1"]["framework_id"] = {"value": a.framework_id}
        await agent.update("t1", "TASK_FINISHED")
        await a.update("t1", "TASK_FINISHED")
        state = await _state(master)
        by_fw = {f["id"]: [t["state"] for t in f["tasks"]] for f in state["frameworks"]}
        assert by_fw[b.framework_id] == ["TASK_RUNNING"]
        assert not [
            e
            for e in b.events
            if e.get("update", {}).get("status", {}).get("state") == "TASK_FINISHED"
        ]
    finally:
        await a.close()
        await b.close()
        await agent.stop()


async def test_duplicate_offer_ids_are_refused_without_double_counting(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    master, _ = cluster
    offer = await scheduler.offer()
    body = launch(offer, task_info("dup", offer, cpus=8))
    body["offer_ids"] = [offer["id"], offer["id"]]
    assert (await scheduler.call("ACCEPT", body)).status_code == 202
    status = await scheduler.update("dup", "TASK_LOST")
    assert status["reason"] == "REASON_INVALID_OFFERS"
    slave = (await _state(master))["slaves"][0]
    assert slave["used_resources"]["cpus"] <= slave["resources"]["cpus"]


async def test_torn_down_framework_tasks_are_shut_down_when_agent_returns(
    master: MasterServer,
) -> None:
    agent = EmulatedAgent(master.address)
    await agent.start()
    s = RawScheduler(master.address)
    await s.subscribe()
    offer = await s.offer()
    await s.call("ACCEPT", launch(offer, task_info("orphan", offer)))
    await s.update("orphan", "TASK_RUNNING")
    await agent.stop()  # disconnected: the SHUTDOWN_FRAMEWORK cannot reach it now
    await s.call("TEARDOWN")
    await s.close()
    back = EmulatedAgent(master.address)
    back.agent_id, back.tasks = agent.agent_id, agent.tasks
    await back.start()
    try:
        await until(lambda: any(e["type"] == "SHUTDOWN_FRAMEWORK" for e in back.events))
        slave = (await _state(master))["slaves"][0]
        assert slave["used_resources"]["cpus"] == 0
    finally:
        await back.stop()


async def test_kill_for_a_disconnected_agent_is_delivered_when_it_returns(
    master: MasterServer,
) -> None:
    agent = EmulatedAgent(master.address)
    await agent.start()
    s = RawScheduler(master.address, {"user": "u", "name": "k", "failover_timeout": 60})
    await s.subscribe()
    try:
        offer = await s.offer()
        await s.call("ACCEPT", launch(offer, task_info("later", offer)))
        await s.update("later", "TASK_RUNNING")
        await agent.stop()
        await asyncio.sleep(0.05)
        assert (await s.call("KILL", {"task_id": {"value": "later"}})).status_code == 202
        back = EmulatedAgent(master.address)
        back.agent_id, back.tasks = agent.agent_id, agent.tasks
        await back.start()
        try:
            await s.update("later", "TASK_KILLED")
            assert any(e["type"] == "KILL_TASK" for e in back.events)
        finally:
            await back.stop()
    finally:
        await s.close()


async def test_agent_with_malformed_attributes_is_refused_and_state_still_serves(
    master: MasterServer,
) -> None:
    async with httpx.AsyncClient() as c:
        for attrs in (
            [{"name": "rack", "text": "r1"}],
            [{"name": "rack", "type": "TEXT"}],
            ["rack"],
        ):
            body = {
                "type": "SUBSCRIBE",
                "subscribe": {"agent_info": {"hostname": "h", "port": 1, "attributes": attrs}},
            }
            resp = await c.post(f"http://{master.address}/api/v1/agent", json=body)
            assert resp.status_code == 400
            assert "attributes[0]" in resp.text
    assert (await _state(master))["slaves"] == []


async def test_malformed_agent_report_changes_nothing_and_agent_can_register_after(
    master: MasterServer,
) -> None:
    agent = EmulatedAgent(master.address)
    await agent.start()
    await agent.stop()
    bad = agent.subscribe_body()
    bad["subscribe"]["tasks"] = [
        {"framework_id": {"value": "f"}, "task": {"task_id": {"value": "t"}, "executor": "x"}}
    ]
    async with httpx.AsyncClient() as c:
        resp = await c.post(f"http://{master.address}/api/v1/agent", json=bad)
    assert resp.status_code == 400
    assert "executor" in resp.text
    back = EmulatedAgent(master.address)
    back.agent_id = agent.agent_id
    await back.start()
    try:
        assert [s["id"] for s in (await _state(master))["slaves"]] == [agent.agent_id]
    finally:
        await back.stop()


async def test_unsafe_framework_id_is_refused(master: MasterServer) -> None:
    async with httpx.AsyncClient() as c:
        for fid in ("../x", "a/b", "x" * 5000):
            body = {
                "type": "SUBSCRIBE",
                "framework_id": {"value": fid},
                "subscribe": {"framework_info": {"user": "u", "name": "n", "id": {"value": fid}}},
            }
            resp = await c.post(f"http://{master.address}/api/v1/scheduler", json=body)
            assert resp.status_code == 400
            assert "'framework_id' must be" in resp.text
    assert (await _state(master))["frameworks"] == []


async def test_suppressed_roles_on_subscribe_and_resubscribe(
    cluster: tuple[MasterServer, EmulatedAgent],
) -> None:
    master, _ = cluster
    s = RawScheduler(master.address, {"user": "u", "name": "quiet", "failover_timeout": 60})
    await s.subscribe(suppressed_roles=["*"])
    await asyncio.sleep(0.3)
    assert not [e for e in s.events if e["type"] == "OFFERS"], "suppressed from the start"
    await s.close()
    again = RawScheduler(master.address, s.info)
    try:
        await again.subscribe(s.framework_id)
        await again.offer(timeout=3)  # re-subscribing without suppressed_roles un-suppresses
    finally:
        await again.close()


async def test_state_shows_suppress_and_revive_at_once(scheduler: RawScheduler) -> None:
    """/master/state is cached by generation: SUPPRESS and REVIVE must bump it, or an idle
    framework reads as unsuppressed for as long as nothing else changes."""

    async def suppressed() -> list[str]:
        async with httpx.AsyncClient() as c:
            state = (
                await c.get(scheduler.url.replace("/api/v1/scheduler", "/master/state"))
            ).json()
        roles: list[str] = state["frameworks"][0]["suppressed_roles"]
        return roles

    assert await suppressed() == []  # built and cached before the call
    await asyncio.sleep(0.1)  # past the state view's minimum age
    assert (await scheduler.call("SUPPRESS", {})).status_code == 202
    await asyncio.sleep(0.1)
    assert await suppressed() == ["*"]
    assert (await scheduler.call("REVIVE", {})).status_code == 202
    await asyncio.sleep(0.1)
    assert await suppressed() == []


async def test_update_framework_cannot_change_user(scheduler: RawScheduler) -> None:
    resp = await scheduler.call(
        "UPDATE_FRAMEWORK", {"framework_info": {"user": "mallory", "name": "test"}}
    )
    assert resp.status_code == 400
    assert "'framework_info.user' cannot be changed" in resp.text
    resp = await scheduler.call(
        "UPDATE_FRAMEWORK", {"framework_info": {"user": "root", "name": "renamed"}}
    )
    assert resp.status_code == 200


async def test_unknown_operation_type_is_a_bad_request(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    offer = await scheduler.offer()
    resp = await scheduler.call(
        "ACCEPT", {"offer_ids": [offer["id"]], "operations": [{"type": "TELEPORT"}]}
    )
    assert resp.status_code == 400
    assert "not an operation type: 'TELEPORT'" in resp.text


async def test_unreachable_agents_stay_unreachable_across_a_master_restart(tmp_path: Path) -> None:
    config = fast_config(tmp_path / "m")
    server = MasterServer(config)
    await server.start()
    agent = EmulatedAgent(server.address, answer_pings=False)
    await agent.start()
    assert server.master is not None
    await until(
        lambda: (
            server.master is not None
            and server.master.agents[agent.agent_id or ""].unreachable_time is not None
        )
    )
    await asyncio.sleep(0.1)  # the registry write is asynchronous
    await agent.stop()
    await server.stop()
    again = MasterServer(config)
    await again.start()
    try:
        state = await _state(again)
        assert state["unreachable_slaves"] == 1
        assert state["recovered_slaves"] == []
    finally:
        await again.stop()


async def test_command_task_id_cannot_reuse_an_executor_id(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    offer = await scheduler.offer()
    with_executor = task_info("t-ex", offer)
    del with_executor["command"]
    with_executor["executor"] = {
        "executor_id": {"value": "shared"},
        "command": {"value": "true"},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}}],
    }
    clash = task_info("shared", offer)  # a command task: its executor id is its task id
    await scheduler.call("ACCEPT", launch(offer, with_executor, clash))
    status = await scheduler.update("shared", "TASK_ERROR")
    assert "already used as an executor ID" in status["message"]
