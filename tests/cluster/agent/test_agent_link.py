"""Registration with the master: ids, re-subscription after a master restart, PING, 307."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from roost import MESOS_COMPAT_VERSION
from roost.cluster.agent.config import AgentConfig
from roost.cluster.agent.server import AgentServer, run_agent
from roost.core.http import HttpServer


async def test_first_subscribe_has_no_id_and_the_assigned_id_is_persisted(
    master, agent: AgentServer
):
    sub = master.subscribes[0]["subscribe"]
    assert "id" not in sub["agent_info"]
    assert sub["agent_info"]["hostname"] == "127.0.0.1"
    assert sub["agent_info"]["port"] == agent.port
    assert sub["version"] == MESOS_COMPAT_VERSION
    names = {r["name"] for r in sub["agent_info"]["resources"]}
    assert {"cpus", "mem", "disk", "ports"} <= names
    assert {"name": "rack", "type": "TEXT", "text": {"value": "r1"}} in sub["agent_info"][
        "attributes"
    ]
    assert agent.agent_id == "FAKE-S0"
    assert (agent.config.work_dir / "meta" / "agent_id").read_text().strip() == "FAKE-S0"


async def test_a_restarted_agent_registers_with_its_persisted_id(master, start_agent):
    first = await start_agent()
    await first.stop()
    master.agent_id = "SOMETHING-ELSE"
    second = await start_agent()
    assert master.subscribes[-1]["subscribe"]["agent_info"]["id"] == {"value": "FAKE-S0"}
    assert second.agent_id == "FAKE-S0"


async def test_ping_is_answered_with_pong(master, agent: AgentServer):
    master.send({"type": "PING"})
    await master.eventually(lambda: bool(master.calls_of("PONG")))
    assert master.calls_of("PONG")[0]["agent_id"] == {"value": "FAKE-S0"}


async def test_agent_resubscribes_after_master_restart_with_its_running_task(
    master, agent: AgentServer
):
    master.auto_ack = True
    master.run_task("keep", "exec sleep 30")
    running = await master.wait_for_update("keep", "TASK_RUNNING")
    await master.restart()
    await master.eventually(lambda: len(master.subscribes) == 2)
    await asyncio.wait_for(agent.registered.wait(), 5)
    sub = master.subscribes[1]["subscribe"]
    assert sub["agent_info"]["id"] == {"value": "FAKE-S0"}
    assert [t["task"]["task_id"]["value"] for t in sub["tasks"]] == ["keep"]
    assert sub["tasks"][0]["status"]["uuid"] == running["uuid"]
    assert sub["tasks"][0]["framework_id"] == {"value": "FW1"}
    assert sub["frameworks"][0]["id"] == {"value": "FW1"}
    assert "pending_updates" not in sub
    # The task still runs and can be killed through the new stream.
    master.kill_task("keep")
    await master.wait_for_update("keep", "TASK_KILLED")


async def test_unacknowledged_updates_are_resent_after_resubscribing(master, agent: AgentServer):
    master.run_task("slow", "exec sleep 30")
    starting = await master.wait_for_update("slow", "TASK_STARTING")
    # restart() refuses the old stream's calls before it first yields, and keeps master.calls:
    # what is recorded after this mark came over the new stream.
    mark = len(master.calls)
    await master.restart()
    await master.eventually(lambda: len(master.subscribes) == 2)
    # The task is reported with the update in flight (STARTING), not the queued RUNNING.
    reported = master.subscribes[1]["subscribe"]["tasks"]
    assert [t["status"]["state"] for t in reported] == ["TASK_STARTING"]
    assert reported[0]["status"]["uuid"] == starting["uuid"]

    def resent() -> list[dict[str, Any]]:
        return [c["update"]["status"] for c in master.calls[mark:] if c["type"] == "UPDATE"]

    await master.eventually(lambda: bool(resent()))
    assert resent()[0]["task_id"] == {"value": "slow"}
    assert resent()[0]["uuid"] == starting["uuid"]
    master.ack(starting)
    await master.wait_for_update("slow", "TASK_RUNNING")


async def test_updates_ready_together_are_sent_as_one_batch(master, agent: AgentServer):
    for name in ("b1", "b2", "b3"):
        master.run_task(name, "exec sleep 30")
    for name in ("b1", "b2", "b3"):
        await master.wait_for_update(name, "TASK_STARTING")
    await master.restart()
    await master.eventually(lambda: len(master.subscribes) == 2)
    await master.eventually(lambda: any(c["type"] == "UPDATES" for c in master.raw_calls))
    batch = next(c for c in master.raw_calls if c["type"] == "UPDATES")
    assert batch["agent_id"] == {"value": "FAKE-S0"}
    tasks = sorted(u["status"]["task_id"]["value"] for u in batch["updates"]["updates"])
    assert tasks == ["b1", "b2", "b3"]
    assert all(u["framework_id"] == {"value": "FW1"} for u in batch["updates"]["updates"])


async def test_error_event_makes_the_agent_resubscribe(master, agent: AgentServer):
    master.send({"type": "ERROR", "error": {"message": "go away"}})
    await master.eventually(lambda: len(master.subscribes) == 2)


async def test_a_silent_master_is_given_up_after_five_ping_intervals(master, start_agent):
    master.ping_interval = 0.1
    await start_agent()
    await master.eventually(lambda: len(master.subscribes) >= 2, timeout=3)


async def test_agent_keeps_retrying_until_the_master_comes_up(master, start_agent):
    await master.stop()
    server = await start_agent(register=False)
    await asyncio.sleep(0.4)
    assert not server.registered.is_set()
    await master.start(master.port)
    await asyncio.wait_for(server.registered.wait(), 5)


async def test_redirect_to_the_leading_master_is_followed(master, start_agent):
    async def redirect(request: Request) -> Response:
        return Response(status_code=307, headers={"Location": f"//{master.address}"})

    app = Starlette(routes=[Route("/api/v1/agent", redirect, methods=["POST"])])
    follower = HttpServer(app, "127.0.0.1", 0, name="follower")
    await follower.start()
    try:
        server = await start_agent(master=f"127.0.0.1:{follower.port}")
        assert server.agent_id == "FAKE-S0"
        assert len(master.subscribes) == 1
    finally:
        await follower.stop()


async def test_run_agent_runs_until_cancelled_then_stops(master, tmp_path):
    config = AgentConfig(
        master=master.address, work_dir=tmp_path / "run", ip="127.0.0.1", port=0, cgroups="off"
    )
    task = asyncio.create_task(run_agent(config))
    await master.eventually(lambda: len(master.subscribes) == 1)
    master.auto_ack = True
    master.run_task("r1", "exec sleep 30")
    await master.wait_for_update("r1", "TASK_RUNNING")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    sandbox = next((tmp_path / "run").glob("slaves/*/frameworks/*/executors/r1/runs/latest"))
    assert sandbox.exists()
    assert list((tmp_path / "run" / "meta" / "containers").glob("*.json")) == []
