"""Process failures with real ``roost master`` and ``roost agent`` processes: an agent
SIGKILLed and restarted, a master SIGKILLed and restarted with its SQLite registry."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from roost.testing.processes import RoostProcess, agent_process, master_process, wait_until
from tests.cluster.master.conftest import RawScheduler, launch, task_info

pytestmark = pytest.mark.slow

FAST_PINGS = (
    "--agent-ping-timeout",
    "0.3",
    "--max-agent-ping-timeouts",
    "3",
    "--allocation-interval",
    "0.1",
)


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[list[RoostProcess]]:
    started: list[RoostProcess] = []
    yield started
    for p in reversed(started):
        p.terminate()


def slaves(master: RoostProcess) -> list[dict]:  # type: ignore[type-arg]
    return list(master.get("/master/slaves").json()["slaves"])


async def test_killed_agent_tasks_are_lost_and_restarted_agent_reregisters(
    tmp_path: Path, procs: list[RoostProcess]
) -> None:
    master = master_process(tmp_path / "m", *FAST_PINGS).start()
    procs.append(master)
    agent = agent_process(master.address, tmp_path / "a", "--resources", "cpus:2;mem:1024").start()
    procs.append(agent)
    await asyncio.to_thread(wait_until, lambda: len(slaves(master)) == 1)
    agent_id = slaves(master)[0]["id"]
    s = RawScheduler(master.address)
    await s.subscribe()
    try:
        offer = await s.offer()
        await s.call("ACCEPT", launch(offer, task_info("sleeper", offer, cmd="sleep 60"), refuse=0))
        await s.update("sleeper", "TASK_RUNNING")
        await s.offer(start=len(s.events))  # the rest of the agent is offered again
        n = len(s.events)
        agent.kill()
        lost = await s.update("sleeper", "TASK_LOST", timeout=15)
        assert "uuid" not in lost
        await s.wait_for("RESCIND", start=n, timeout=5)
        failure = await s.wait_for("FAILURE", start=n, timeout=5)
        assert failure["failure"]["agent_id"]["value"] == agent_id
        assert master.get("/metrics/snapshot").json()["master/slaves_unreachable"] == 1
        agent.start()
        await asyncio.to_thread(wait_until, lambda: [a["id"] for a in slaves(master)] == [agent_id])
        assert master.get("/metrics/snapshot").json()["master/slaves_unreachable"] == 0
        await s.offer(start=n, timeout=10)
    finally:
        await s.close()


async def test_master_restart_keeps_agents_frameworks_and_running_tasks(
    tmp_path: Path, procs: list[RoostProcess]
) -> None:
    master = master_process(tmp_path / "m", "--allocation-interval", "0.1").start()
    procs.append(master)
    agent = agent_process(master.address, tmp_path / "a", "--resources", "cpus:2;mem:1024").start()
    procs.append(agent)
    await asyncio.to_thread(wait_until, lambda: len(slaves(master)) == 1)
    agent_id = slaves(master)[0]["id"]
    s = RawScheduler(master.address, {"user": "u", "name": "survivor", "failover_timeout": 120})
    await s.subscribe()
    try:
        offer = await s.offer()
        await s.call("ACCEPT", launch(offer, task_info("long", offer, cmd="sleep 60")))
        await s.update("long", "TASK_RUNNING")
        fid = s.framework_id
        master.kill()
        await asyncio.wait_for(s.closed.wait(), 5)
        master.start()
        # The framework re-subscribes with its id; the registry knows it.
        await s.subscribe(fid)
        assert s.framework_id == fid
        # The agent re-registers by itself, reporting its running task.
        await asyncio.to_thread(
            wait_until, lambda: [a["id"] for a in slaves(master)] == [agent_id], 30
        )
        n = len(s.events)
        await s.call("RECONCILE", {"tasks": [{"task_id": {"value": "long"}}]})
        ev = await s.wait_for("UPDATE", start=n)
        assert ev["update"]["status"]["state"] == "TASK_RUNNING"
        async with httpx.AsyncClient() as c:
            state = (await c.get(f"{master.url}/master/state")).json()
        fw = next(f for f in state["frameworks"] if f["id"] == fid)
        assert [t["state"] for t in fw["tasks"]] == ["TASK_RUNNING"]
        # The task's process was never killed.
        agent_state = agent.get("/state").json()
        tasks = [t for f in agent_state["frameworks"] for e in f["executors"] for t in e["tasks"]]
        assert [t["state"] for t in tasks] == ["TASK_RUNNING"]
    finally:
        await s.close()
