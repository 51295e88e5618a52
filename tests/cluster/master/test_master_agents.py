"""Agent registry behaviour of a real master: pings, unreachable agents, re-registration."""

from __future__ import annotations

import httpx

from roost.cluster.master.server import MasterServer
from roost.testing.emulated_agent import EmulatedAgent
from tests.cluster.master.conftest import RawScheduler, launch, task_info, until


async def test_agent_registers_and_shows_in_state(master: MasterServer) -> None:
    agent = EmulatedAgent(
        master.address, attributes=[{"name": "rack", "type": "TEXT", "text": {"value": "r1"}}]
    )
    await agent.start()
    try:
        async with httpx.AsyncClient() as c:
            state = (await c.get(f"http://{master.address}/master/state")).json()
            slaves = (await c.get(f"http://{master.address}/master/slaves")).json()["slaves"]
            metrics = (await c.get(f"http://{master.address}/metrics/snapshot")).json()
            prom = (await c.get(f"http://{master.address}/metrics")).text
        assert [s["id"] for s in state["slaves"]] == [agent.agent_id]
        assert slaves[0]["resources"]["ports"] == "[31000-32000]"
        assert slaves[0]["attributes"] == {"rack": "r1"}
        assert metrics["master/slaves_active"] == 1
        assert "roost_master_slaves_active 1.0" in prom
    finally:
        await agent.stop()


async def test_silent_agent_becomes_unreachable_then_returns(master: MasterServer) -> None:
    agent = EmulatedAgent(master.address)
    await agent.start()
    s = RawScheduler(master.address)
    await s.subscribe()
    try:
        offer = await s.offer()
        await s.call("ACCEPT", launch(offer, task_info("p1", offer)))
        await s.update("p1", "TASK_RUNNING")
        # A second offer is outstanding when the agent goes quiet.
        await s.call("DECLINE", {"offer_ids": [], "filters": {"refuse_seconds": 0}})
        n = len(s.events)
        agent.answer_pings = False
        lost = await s.update("p1", "TASK_LOST", timeout=5)
        assert lost["reason"] == "REASON_AGENT_REMOVED"
        assert "uuid" not in lost
        failure = await s.wait_for("FAILURE", start=n)
        assert failure["failure"]["agent_id"]["value"] == agent.agent_id
        assert master.master is not None
        assert master.master.agents[agent.agent_id].unreachable_time is not None
        # The agent comes back with its task still running: adopted again.
        await agent.stop()
        back = EmulatedAgent(master.address)
        back.agent_id = agent.agent_id
        back.tasks = agent.tasks
        await back.start()
        try:
            running = await s.wait_for(
                "UPDATE",
                lambda e: e["update"]["status"]["state"] == "TASK_RUNNING",
                start=n,
            )
            assert running["update"]["status"]["task_id"]["value"] == "p1"
            assert master.master.agents[agent.agent_id].unreachable_time is None
            assert "p1" in master.master.frameworks[s.framework_id or ""].tasks
        finally:
            await back.stop()
    finally:
        await s.close()


async def test_unreachable_agent_offers_are_rescinded(master: MasterServer) -> None:
    agent = EmulatedAgent(master.address)
    await agent.start()
    s = RawScheduler(master.address)
    await s.subscribe()
    try:
        offer = await s.offer()
        agent.answer_pings = False
        ev = await s.wait_for("RESCIND", timeout=5)
        assert ev["rescind"]["offer_id"] == offer["id"]
    finally:
        await s.close()
        await agent.stop()


async def test_partition_aware_framework_sees_unreachable(master: MasterServer) -> None:
    agent = EmulatedAgent(master.address)
    await agent.start()
    s = RawScheduler(
        master.address, {"user": "u", "name": "pa", "capabilities": [{"type": "PARTITION_AWARE"}]}
    )
    await s.subscribe()
    try:
        offer = await s.offer()
        await s.call("ACCEPT", launch(offer, task_info("u1", offer)))
        await s.update("u1", "TASK_RUNNING")
        agent.answer_pings = False
        status = await s.update("u1", "TASK_UNREACHABLE", timeout=5)
        assert "unreachable_time" in status
    finally:
        await s.close()
        await agent.stop()


async def test_reregistering_agent_that_lost_a_task_reports_it_gone(master: MasterServer) -> None:
    agent = EmulatedAgent(master.address)
    await agent.start()
    s = RawScheduler(master.address)
    await s.subscribe()
    try:
        offer = await s.offer()
        await s.call("ACCEPT", launch(offer, task_info("g1", offer)))
        await s.update("g1", "TASK_RUNNING")
        await agent.stop()
        fresh = EmulatedAgent(master.address)
        fresh.agent_id = agent.agent_id  # same agent id, but no tasks (it restarted)
        await fresh.start()
        try:
            status = await s.update("g1", "TASK_LOST")
            assert status["reason"] == "REASON_AGENT_RESTARTED"
        finally:
            await fresh.stop()
    finally:
        await s.close()


async def test_new_agent_triggers_immediate_offer(master: MasterServer) -> None:
    s = RawScheduler(master.address)
    await s.subscribe()
    try:
        agent = EmulatedAgent(master.address, resources="cpus:2;mem:1024")
        await agent.start()
        try:
            offer = await s.offer(timeout=2)
            assert offer["agent_id"]["value"] == agent.agent_id
        finally:
            await agent.stop()
    finally:
        await s.close()


async def test_two_frameworks_share_agents_fairly(master: MasterServer) -> None:
    s1, s2 = RawScheduler(master.address), RawScheduler(master.address)
    await s1.subscribe()
    await s2.subscribe()
    agents = [EmulatedAgent(master.address, port=6000 + i) for i in range(4)]
    for a in agents:
        await a.start()
    try:

        def offered(s: RawScheduler) -> set[str]:
            return {
                o["agent_id"]["value"]
                for e in s.events
                if e["type"] == "OFFERS"
                for o in e["offers"]["offers"]
            }

        # The offers arrive over two streams, as allocation and delivery get round to them.
        await until(lambda: len(offered(s1)) + len(offered(s2)) >= 4)
        got1, got2 = offered(s1), offered(s2)
        assert not got1 & got2, "an agent is offered to one framework at a time"
        assert len(got1) + len(got2) == 4
        assert len(got1) == len(got2) == 2, "DRF: equal frameworks get equal shares"
    finally:
        await s1.close()
        await s2.close()
        for a in agents:
            await a.stop()


async def test_batched_updates_are_applied_in_order_all_or_nothing(master: MasterServer) -> None:
    agent = EmulatedAgent(master.address)
    await agent.start()
    s = RawScheduler(master.address)
    await s.subscribe()
    try:
        offer = await s.offer()
        await s.call("ACCEPT", launch(offer, task_info("b1", offer)))
        await s.update("b1", "TASK_RUNNING")
        fw = {"value": s.framework_id}

        def upd(state: str) -> dict[str, object]:
            return {"framework_id": fw, "status": {"task_id": {"value": "b1"}, "state": state}}

        bad = await agent.call(
            {"type": "UPDATES", "updates": {"updates": [upd("TASK_KILLING"), upd("TASK_NOPE")]}}
        )
        assert bad == 400
        ok = await agent.call(
            {"type": "UPDATES", "updates": {"updates": [upd("TASK_KILLING"), upd("TASK_KILLED")]}}
        )
        assert ok == 202
        await s.update("b1", "TASK_KILLED")
        states = [e["update"]["status"]["state"] for e in s.events if e["type"] == "UPDATE"]
        assert states[-2:] == ["TASK_KILLING", "TASK_KILLED"]
        assert states.count("TASK_KILLING") == 1, "the rejected batch applied nothing"
    finally:
        await s.close()
        await agent.stop()
