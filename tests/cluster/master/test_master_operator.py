"""Operator endpoints and timers of a real master: /version, /redirect, aliases, /master/tasks,
JSONP, ``--offer-timeout``."""

from __future__ import annotations

from pathlib import Path

import httpx

from roost.cluster.master.server import MasterServer
from roost.testing.emulated_agent import EmulatedAgent
from tests.cluster.master.conftest import RawScheduler, fast_config, launch, task_info


async def test_version_is_numeric_for_pymesos(master: MasterServer) -> None:
    async with httpx.AsyncClient() as c:
        version = (await c.get(f"http://{master.address}/version")).json()["version"]
    assert [int(p) for p in version.split(".")] == [1, 11, 0]


async def test_redirect_points_at_the_leader(master: MasterServer) -> None:
    async with httpx.AsyncClient() as c:
        resp = await c.get(f"http://{master.address}/master/redirect")
    assert resp.status_code == 307
    assert resp.headers["location"] == f"//127.0.0.1:{master.port}"


async def test_state_aliases_and_jsonp(master: MasterServer) -> None:
    async with httpx.AsyncClient() as c:
        bodies = [
            (await c.get(f"http://{master.address}{p}")).json()
            for p in ("/state", "/state.json", "/master/state", "/master/state.json")
        ]
        jsonp = await c.get(f"http://{master.address}/master/state?jsonp=cb")
    assert {b["id"] for b in bodies} == {master.master.master_id}  # type: ignore[union-attr]
    assert jsonp.text.startswith("cb(") and jsonp.text.endswith(");")
    for key in ("slaves", "frameworks", "completed_frameworks", "leader_info", "flags"):
        assert key in bodies[0]


async def test_tasks_endpoint_filters_and_limits(
    cluster: tuple[MasterServer, EmulatedAgent], scheduler: RawScheduler
) -> None:
    master, _ = cluster
    offer = await scheduler.offer()
    tasks = [task_info(f"q{i}", offer) for i in range(3)]
    await scheduler.call("ACCEPT", launch(offer, *tasks))
    for i in range(3):
        await scheduler.update(f"q{i}", "TASK_RUNNING")
    async with httpx.AsyncClient() as c:
        base = f"http://{master.address}/master/tasks"
        everything = (await c.get(base)).json()["tasks"]
        one = (await c.get(base, params={"task_id": "q1"})).json()["tasks"]
        limited = (await c.get(base, params={"limit": 2, "order": "asc"})).json()["tasks"]
        other_fw = (await c.get(base, params={"framework_id": "nope"})).json()["tasks"]
    assert sorted(t["id"] for t in everything) == ["q0", "q1", "q2"]
    assert [t["id"] for t in one] == ["q1"] and one[0]["state"] == "TASK_RUNNING"
    assert len(limited) == 2
    assert other_fw == []
    assert one[0]["resources"]["cpus"] == 0.1


async def test_offer_timeout_rescinds_unused_offers(tmp_path: Path) -> None:
    server = MasterServer(fast_config(tmp_path / "m", offer_timeout=0.3))
    await server.start()
    agent = EmulatedAgent(server.address)
    await agent.start()
    s = RawScheduler(server.address)
    await s.subscribe()
    try:
        offer = await s.offer()
        rescind = await s.wait_for("RESCIND", timeout=5)
        assert rescind["rescind"]["offer_id"] == offer["id"]
        # The resources come back and are offered again.
        again = await s.offer(start=s.events.index(rescind))
        assert again["id"] != offer["id"]
    finally:
        await s.close()
        await agent.stop()
        await server.stop()
