"""Master restart from its registry (SQLite under the work dir): recovered agents, the
``--agent-reregister-timeout`` deadline, re-registration after a restart, and the
reconciliation replies that depend on an agent's state (reference §4.3, §4.4)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.cluster.master.config import MasterConfig
from roost.cluster.master.server import MasterServer
from roost.testing.emulated_agent import EmulatedAgent
from tests.cluster.master.conftest import RawScheduler, fast_config, launch, task_info

PARTITION_AWARE = [{"type": "PARTITION_AWARE"}]


class Restartable:
    """A master that can be stopped and started again on the same work dir and registry."""

    def __init__(self, config: MasterConfig) -> None:
        self.config = config
        self.server: MasterServer | None = None

    @property
    def address(self) -> str:
        assert self.server is not None
        return self.server.address

    async def start(self) -> None:
        self.server = MasterServer(self.config)
        await self.server.start()

    async def restart(self) -> None:
        assert self.server is not None
        await self.server.stop()
        self.server = None
        await self.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def get(self, path: str) -> Any:
        async with httpx.AsyncClient() as c:
            resp = await c.get(f"http://{self.address}{path}")
        assert resp.status_code == 200, (path, resp.status_code, resp.text)
        return resp.json()


async def restartable(tmp_path: Path, **kw: Any) -> Restartable:
    config = fast_config(tmp_path / "master", **kw)
    assert config.store_url().startswith("sqlite:///")
    m = Restartable(config)
    await m.start()
    return m


@pytest.fixture
async def rmaster(tmp_path: Path) -> AsyncIterator[Restartable]:
    m = await restartable(tmp_path)
    yield m
    await m.stop()


@pytest.fixture
async def rmaster_short(tmp_path: Path) -> AsyncIterator[Restartable]:
    m = await restartable(tmp_path, agent_reregister_timeout=0.5)
    yield m
    await m.stop()


def agent_id_of(entry: dict[str, Any]) -> str:
    """``slaves[].id`` is a string; ``recovered_slaves[]`` entries are AgentInfo-like."""
    aid = entry["id"]
    return aid["value"] if isinstance(aid, dict) else aid


async def registered_then_restarted(m: Restartable) -> str:
    """Register an agent, make it vanish, restart the master: returns the agent's id."""
    agent = EmulatedAgent(m.address)
    await agent.start()
    aid = agent.agent_id
    assert aid
    await agent.stop()
    await m.restart()
    return aid


async def expect_update(
    s: RawScheduler, task_id: str, state: str, timeout: float = 1.0
) -> dict[str, Any]:
    try:
        return await s.update(task_id, state, timeout)
    except TimeoutError:
        got = [
            (e["update"]["status"]["task_id"]["value"], e["update"]["status"]["state"])
            for e in s.events
            if e["type"] == "UPDATE"
        ]
        raise AssertionError(
            f"no {state} for {task_id} within {timeout} s; updates: {got}"
        ) from None


def no_update_for(s: RawScheduler, task_id: str, start: int) -> None:
    for e in s.events[start:]:
        if e["type"] == "UPDATE":
            assert e["update"]["status"]["task_id"]["value"] != task_id, e


# -- recovered agents ------------------------------------------------------------------------
async def test_restarted_master_lists_agent_as_recovered(rmaster: Restartable) -> None:
    aid = await registered_then_restarted(rmaster)
    state = await rmaster.get("/master/state")
    assert [agent_id_of(a) for a in state["recovered_slaves"]] == [aid]
    assert state["slaves"] == []
    slaves = await rmaster.get("/master/slaves")
    assert [agent_id_of(a) for a in slaves["recovered_slaves"]] == [aid]
    assert slaves["slaves"] == []
    metrics = await rmaster.get("/metrics/snapshot")
    assert metrics["master/slaves_active"] == 0
    assert metrics["master/slaves_unreachable"] == 0


@pytest.mark.parametrize(
    ("capabilities", "unknown_agent_state"),
    [([], "TASK_LOST"), (PARTITION_AWARE, "TASK_UNKNOWN")],
)
async def test_reconcile_while_agent_is_recovering(
    rmaster: Restartable, capabilities: list[dict[str, str]], unknown_agent_state: str
) -> None:
    aid = await registered_then_restarted(rmaster)
    s = RawScheduler(rmaster.address, {"user": "u", "name": "rec", "capabilities": capabilities})
    await s.subscribe()
    try:
        n = len(s.events)
        resp = await s.call(
            "RECONCILE",
            {
                "tasks": [
                    # (2) unknown task on a recovered agent: no reply, it may come back.
                    {"task_id": {"value": "on-recovered"}, "agent_id": {"value": aid}},
                    # (6) unknown agent: LOST / UNKNOWN.
                    {"task_id": {"value": "on-unknown"}, "agent_id": {"value": "no-such-agent"}},
                    # no agent_id while an agent is recovering: no reply either.
                    {"task_id": {"value": "anywhere"}},
                ]
            },
        )
        assert resp.status_code == 202
        status = await expect_update(s, "on-unknown", unknown_agent_state, 2)
        assert status["reason"] == "REASON_RECONCILIATION"
        assert "uuid" not in status
        await asyncio.sleep(1.0)
        no_update_for(s, "on-recovered", n)
        no_update_for(s, "anywhere", n)
    finally:
        await s.close()


async def test_recovered_agent_not_back_in_time_becomes_unreachable(
    rmaster_short: Restartable,
) -> None:
    m = rmaster_short
    aid = await registered_then_restarted(m)
    s = RawScheduler(m.address, {"user": "u", "name": "pa", "capabilities": PARTITION_AWARE})
    await s.subscribe()
    try:
        failure = await s.wait_for("FAILURE", timeout=2)
        assert failure["failure"]["agent_id"] == {"value": aid}
        assert "executor_id" not in failure["failure"]
        metrics = await m.get("/metrics/snapshot")
        assert metrics["master/slaves_unreachable"] == 1
        # (4) an unknown task on it is now UNREACHABLE, no longer left unanswered; and with
        # no agent recovering any more, a task without agent_id is answered too (UNKNOWN).
        await s.call(
            "RECONCILE",
            {
                "tasks": [
                    {"task_id": {"value": "ghost"}, "agent_id": {"value": aid}},
                    {"task_id": {"value": "anywhere"}},
                ]
            },
        )
        status = await expect_update(s, "ghost", "TASK_UNREACHABLE", 1)
        assert status["reason"] == "REASON_RECONCILIATION"
        assert "unreachable_time" in status
        status = await expect_update(s, "anywhere", "TASK_UNKNOWN", 1)
        assert status["reason"] == "REASON_RECONCILIATION"
        state = await m.get("/master/state")
        assert state["unreachable_slaves"] == 1
        assert state["recovered_slaves"] == [], "no longer waiting for it to re-register"
        assert state["slaves"] == []
    finally:
        await s.close()


async def test_recovered_agent_reregisters_with_its_running_task(rmaster: Restartable) -> None:
    info = {"user": "u", "name": "keeper", "failover_timeout": 60}
    agent = EmulatedAgent(rmaster.address)
    await agent.start()
    s = RawScheduler(rmaster.address, dict(info))
    await s.subscribe()
    try:
        offer = await s.offer()
        await s.call("ACCEPT", launch(offer, task_info("keep", offer)))
        await s.update("keep", "TASK_RUNNING")
    finally:
        await s.close()
    aid, fid = agent.agent_id, s.framework_id
    assert aid and fid
    await agent.stop()
    await rmaster.restart()

    back = EmulatedAgent(rmaster.address)
    back.agent_id = aid
    back.tasks = agent.tasks
    await back.start()
    s2 = RawScheduler(rmaster.address, dict(info))
    try:
        assert back.agent_id == aid
        state = await rmaster.get("/master/state")
        assert state["recovered_slaves"] == []
        slaves = {a["id"]: a for a in state["slaves"]}
        assert list(slaves) == [aid]
        assert slaves[aid]["active"] is True
        await s2.subscribe(fid)
        assert s2.framework_id == fid
        await asyncio.sleep(0.1)  # /master/state is a snapshot at most 50 ms old
        state = await rmaster.get("/master/state")
        fws = {f["id"]: f for f in state["frameworks"]}
        assert fid in fws
        fw = fws[fid]
        assert fw["active"] is True
        tasks = {t["id"]: t for t in fw["tasks"]}
        assert list(tasks) == ["keep"]
        assert tasks["keep"]["state"] == "TASK_RUNNING"
        assert tasks["keep"]["slave_id"] == aid
        metrics = await rmaster.get("/metrics/snapshot")
        assert metrics["master/slaves_active"] == 1
        assert metrics["master/tasks_running"] == 1
        # Back from recovery: an unknown task naming it is answered again (3, not 2).
        n = len(s2.events)
        await s2.call(
            "RECONCILE",
            {
                "tasks": [
                    {"task_id": {"value": "keep"}},
                    {"task_id": {"value": "nope"}, "agent_id": {"value": aid}},
                ]
            },
        )
        ev = await s2.wait_for(
            "UPDATE", lambda e: e["update"]["status"]["task_id"]["value"] == "keep", start=n
        )
        assert ev["update"]["status"]["state"] == "TASK_RUNNING"
        assert ev["update"]["status"]["reason"] == "REASON_RECONCILIATION"
        status = await expect_update(s2, "nope", "TASK_LOST", 1)
        assert status["reason"] == "REASON_RECONCILIATION"
    finally:
        await s2.close()
        await back.stop()


# -- unreachable agents ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("capabilities", "expected"), [(PARTITION_AWARE, "TASK_UNREACHABLE"), ([], "TASK_LOST")]
)
async def test_reconcile_unknown_task_on_unreachable_agent(
    master: MasterServer, capabilities: list[dict[str, str]], expected: str
) -> None:
    agent = EmulatedAgent(master.address)
    await agent.start()
    s = RawScheduler(master.address, {"user": "u", "name": "pa", "capabilities": capabilities})
    await s.subscribe()
    try:
        agent.answer_pings = False
        failure = await s.wait_for("FAILURE", timeout=2.5)
        assert failure["failure"]["agent_id"] == {"value": agent.agent_id}
        await s.call(
            "RECONCILE",
            {"tasks": [{"task_id": {"value": "ghost"}, "agent_id": {"value": agent.agent_id}}]},
        )
        status = await expect_update(s, "ghost", expected, 1)
        assert status["reason"] == "REASON_RECONCILIATION"
        assert "uuid" not in status
        if expected == "TASK_UNREACHABLE":
            assert status["unreachable_time"]["nanoseconds"] > 0
    finally:
        await s.close()
        await agent.stop()
