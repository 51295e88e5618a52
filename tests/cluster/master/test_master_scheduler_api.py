"""The v1 scheduler API of a real master, with an emulated agent, asserted on the wire."""

from __future__ import annotations

import asyncio

import pytest

from roost.cluster.master.server import MasterServer
from roost.testing.emulated_agent import EmulatedAgent
from tests.cluster.master.conftest import RawScheduler, agent_event, launch, task_info


async def test_subscribe_returns_stream_id_and_subscribed_event(master: MasterServer) -> None:
    s = RawScheduler(master.address)
    await s.subscribe()
    try:
        assert s.stream_id
        assert s.framework_id and s.framework_id.startswith(master.master.master_id)  # type: ignore[union-attr]
        sub = s.events[0]["subscribed"]
        assert sub["heartbeat_interval_seconds"] == 0.5
        assert sub["master_info"]["version"] == "1.11.0"
        await s.wait_for("HEARTBEAT", timeout=3)
    finally:
        await s.close()


async def test_offer_covers_whole_agent_and_launch_reaches_running(
    cluster: tuple[MasterServer, EmulatedAgent],
) -> None:
    master, agent = cluster
    scheduler = RawScheduler(master.address, auto_ack=False)
    await scheduler.subscribe()
    offer = await scheduler.offer()
    assert offer["agent_id"]["value"] == agent.agent_id
    names = {r["name"]: r for r in offer["resources"]}
    assert names["cpus"]["scalar"]["value"] == 4
    assert names["ports"]["ranges"]["range"] == [{"begin": 31000, "end": 32000}]
    resp = await scheduler.call("ACCEPT", launch(offer, task_info("t1", offer)))
    assert resp.status_code == 202
    status = await scheduler.update("t1", "TASK_RUNNING")
    assert "uuid" in status and status["agent_id"]["value"] == agent.agent_id
    assert agent.pending, "the agent keeps the update until the framework acknowledges"
    ack = {"agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}
    assert (await scheduler.call("ACKNOWLEDGE", ack)).status_code == 202
    for _ in range(100):
        if not agent.pending:
            break
        await asyncio.sleep(0.02)
    assert not agent.pending
    await scheduler.close()


@pytest.mark.parametrize(
    ("capabilities", "expected"),
    [([], "TASK_LOST"), ([{"type": "PARTITION_AWARE"}], "TASK_DROPPED")],
)
async def test_unknown_offer_gets_202_then_update_without_uuid(
    master: MasterServer, capabilities: list[dict[str, str]], expected: str
) -> None:
    s = RawScheduler(master.address, {"user": "root", "name": "x", "capabilities": capabilities})
    await s.subscribe()
    try:
        fake = {"id": {"value": "nope"}, "agent_id": {"value": "a"}}
        resp = await s.call("ACCEPT", launch(fake, task_info("t9", fake)))
        assert resp.status_code == 202
        status = await s.update("t9", expected)
        assert status["reason"] == "REASON_INVALID_OFFERS"
        assert "uuid" not in status
    finally:
        await s.close()


async def test_offer_can_be_used_only_once(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    offer = await scheduler.offer()
    await scheduler.call("ACCEPT", launch(offer, task_info("a1", offer)))
    await scheduler.call("ACCEPT", launch(offer, task_info("a2", offer)))
    status = await scheduler.update("a2", "TASK_LOST")
    assert status["reason"] == "REASON_INVALID_OFFERS"


async def test_task_bigger_than_offer_is_task_error(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    offer = await scheduler.offer()
    resp = await scheduler.call("ACCEPT", launch(offer, task_info("big", offer, cpus=64)))
    assert resp.status_code == 202
    status = await scheduler.update("big", "TASK_ERROR")
    assert status["reason"] == "REASON_TASK_INVALID"
    assert "more resources" in status["message"]
    assert "uuid" not in status


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t.pop("command"), "CommandInfo or ExecutorInfo"),
        (lambda t: t.update(task_id={"value": "../x"}), "invalid characters"),
        (
            lambda t: t.update(
                resources=[{"name": "cpus", "type": "SCALAR", "scalar": {"value": "x"}}]
            ),
            "invalid resources",
        ),
        (lambda t: t.update(command={"value": 5}), "CommandInfo.value"),
        (lambda t: t.update(agent_id={"value": "other"}), "offer is for agent"),
    ],
)
async def test_invalid_task_info_is_task_error(
    cluster: tuple[MasterServer, EmulatedAgent],
    scheduler: RawScheduler,
    mutate: object,
    message: str,
) -> None:
    offer = await scheduler.offer()
    t = task_info("bad", offer)
    mutate(t)  # type: ignore[operator]
    tid = t["task_id"]["value"]
    assert (await scheduler.call("ACCEPT", launch(offer, t))).status_code == 202
    status = await scheduler.update(tid, "TASK_ERROR")
    assert message in status["message"]


async def test_decline_filter_holds_agent_back_until_revive(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    offer = await scheduler.offer()
    n = len(scheduler.events)
    resp = await scheduler.call(
        "DECLINE", {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 30}}
    )
    assert resp.status_code == 202
    await asyncio.sleep(0.4)  # eight allocation intervals
    assert not [e for e in scheduler.events[n:] if e["type"] == "OFFERS"]
    await scheduler.call("REVIVE")
    await scheduler.offer(timeout=2, start=n)


async def test_decline_with_short_filter_is_reoffered(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    offer = await scheduler.offer()
    n = len(scheduler.events)
    await scheduler.call(
        "DECLINE", {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 0.2}}
    )
    again = await scheduler.offer(timeout=3, start=n)
    assert again["agent_id"] == offer["agent_id"]
    assert again["id"] != offer["id"]


async def test_suppress_stops_offers_and_revive_resumes(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    offer = await scheduler.offer()
    await scheduler.call("SUPPRESS")
    await scheduler.call("DECLINE", {"offer_ids": [offer["id"]], "filters": {"refuse_seconds": 0}})
    n = len(scheduler.events)
    await asyncio.sleep(0.4)
    assert not [e for e in scheduler.events[n:] if e["type"] == "OFFERS"]
    await scheduler.call("REVIVE")
    await scheduler.offer(timeout=2, start=n)


async def test_kill_running_task(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    offer = await scheduler.offer()
    await scheduler.call("ACCEPT", launch(offer, task_info("k1", offer)))
    await scheduler.update("k1", "TASK_RUNNING")
    assert (await scheduler.call("KILL", {"task_id": {"value": "k1"}})).status_code == 202
    await scheduler.update("k1", "TASK_KILLED")


async def test_kill_unknown_task_is_lost(scheduler: RawScheduler) -> None:
    await scheduler.call("KILL", {"task_id": {"value": "ghost"}})
    status = await scheduler.update("ghost", "TASK_LOST")
    assert "uuid" not in status


async def test_reconcile_implicit_and_explicit(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    _, agent = cluster
    offer = await scheduler.offer()
    await scheduler.call("ACCEPT", launch(offer, task_info("r1", offer)))
    await scheduler.update("r1", "TASK_RUNNING")
    n = len(scheduler.events)
    await scheduler.call("RECONCILE", {"tasks": []})
    ev = await scheduler.wait_for(
        "UPDATE", lambda e: e["update"]["status"].get("reason") == "REASON_RECONCILIATION", start=n
    )
    assert ev["update"]["status"]["state"] == "TASK_RUNNING"
    assert "uuid" not in ev["update"]["status"]
    n = len(scheduler.events)
    await scheduler.call(
        "RECONCILE",
        {
            "tasks": [
                {"task_id": {"value": "r1"}},
                {"task_id": {"value": "nope"}, "agent_id": {"value": agent.agent_id}},
                {"task_id": {"value": "nope2"}, "agent_id": {"value": "no-such-agent"}},
            ]
        },
    )
    got = {}
    for _ in range(3):
        ev = await scheduler.wait_for(
            "UPDATE", lambda e: e["update"]["status"]["task_id"]["value"] not in got, start=n
        )
        got[ev["update"]["status"]["task_id"]["value"]] = ev["update"]["status"]["state"]
    # Not partition-aware: unknown tasks are LOST whatever the agent's state.
    assert got == {"r1": "TASK_RUNNING", "nope": "TASK_LOST", "nope2": "TASK_LOST"}


async def test_reconcile_partition_aware_states(
    cluster: tuple[MasterServer, EmulatedAgent],
) -> None:
    master, agent = cluster
    s = RawScheduler(
        master.address, {"user": "u", "name": "pa", "capabilities": [{"type": "PARTITION_AWARE"}]}
    )
    await s.subscribe()
    try:
        await s.call(
            "RECONCILE",
            {
                "tasks": [
                    {"task_id": {"value": "g"}, "agent_id": {"value": agent.agent_id}},
                    {"task_id": {"value": "u"}, "agent_id": {"value": "unknown-agent"}},
                    {"task_id": {"value": "n"}},
                ]
            },
        )
        assert (await s.update("g", "TASK_GONE"))["reason"] == "REASON_RECONCILIATION"
        await s.update("u", "TASK_UNKNOWN")
        await s.update("n", "TASK_UNKNOWN")
    finally:
        await s.close()


async def test_resubscribe_newest_stream_wins(master: MasterServer) -> None:
    first = RawScheduler(master.address)
    await first.subscribe()
    second = RawScheduler(master.address)
    try:
        await second.subscribe(first.framework_id)
        assert second.framework_id == first.framework_id
        err = await first.wait_for("ERROR")
        assert err["error"]["message"] == "Framework failed over"
        await asyncio.wait_for(first.closed.wait(), 5)
        # The old stream id no longer works; the new one does.
        old = await first.call("REVIVE")
        assert old.status_code == 400
        assert (await second.call("REVIVE")).status_code == 202
    finally:
        await first.close()
        await second.close()


async def test_teardown_kills_tasks_and_forgets_framework(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    master, agent = cluster
    offer = await scheduler.offer()
    await scheduler.call("ACCEPT", launch(offer, task_info("td", offer)))
    await scheduler.update("td", "TASK_RUNNING")
    assert (await scheduler.call("TEARDOWN")).status_code == 202
    await asyncio.wait_for(scheduler.closed.wait(), 5)
    await agent_event(agent, "SHUTDOWN_FRAMEWORK")
    assert master.master is not None
    assert scheduler.framework_id not in master.master.frameworks
    # A removed framework cannot come back.
    again = RawScheduler(master.address)
    try:
        again._task = asyncio.create_task(
            again._run(
                {
                    "type": "SUBSCRIBE",
                    "framework_id": {"value": scheduler.framework_id},
                    "subscribe": {
                        "framework_info": {
                            "user": "u",
                            "name": "n",
                            "id": {"value": scheduler.framework_id},
                        }
                    },
                }
            )
        )
        err = await again.wait_for("ERROR")
        assert err["error"]["message"] == "Framework has been removed"
    finally:
        await again.close()


async def test_failover_timeout_removes_disconnected_framework(
    cluster: tuple[MasterServer, EmulatedAgent],
) -> None:
    master, agent = cluster
    s = RawScheduler(master.address, {"user": "u", "name": "f", "failover_timeout": 1.0})
    await s.subscribe()
    offer = await s.offer()
    await s.call("ACCEPT", launch(offer, task_info("ft", offer)))
    await s.update("ft", "TASK_RUNNING")
    fid = s.framework_id
    await s.close()
    assert master.master is not None
    await asyncio.sleep(0.1)
    assert fid in master.master.frameworks, "still within failover_timeout"
    for _ in range(250):
        if fid not in master.master.frameworks:
            break
        await asyncio.sleep(0.02)
    assert fid not in master.master.frameworks
    # The master forgets the framework at once; the agent hears of it over its event stream.
    await agent_event(agent, "SHUTDOWN_FRAMEWORK")
