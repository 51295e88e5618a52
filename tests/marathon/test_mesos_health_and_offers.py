"""Agent-side (Mesos) health checks through Marathon, and offer etiquette: idle Marathon
suppresses offers; an app that cannot be placed does not make Marathon loop on declines."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.marathon.conftest import MarathonEnv, eventually

pytestmark = pytest.mark.slow


def checked_app(app_id: str, check: dict[str, Any], cmd: str) -> dict[str, Any]:
    return {
        "id": app_id,
        "cmd": cmd,
        "cpus": 0.1,
        "mem": 32,
        "instances": 1,
        "healthChecks": [
            {
                "gracePeriodSeconds": 5,
                "intervalSeconds": 1,
                "timeoutSeconds": 2,
                "maxConsecutiveFailures": 2,
                "delaySeconds": 0,
                **check,
            }
        ],
    }


async def healthy_task(env: MarathonEnv, app_id: str) -> dict[str, Any] | None:
    app = await env.app(app_id)
    if app["tasksHealthy"] == 1 and app["tasks"]:
        task: dict[str, Any] = app["tasks"][0]
        return task
    return None


async def test_command_health_check_runs_on_the_agent_and_reports_healthy(
    env: MarathonEnv,
) -> None:
    body = checked_app(
        "/cmdcheck",
        {"protocol": "COMMAND", "command": {"value": "test -f ready"}},
        "touch ready; sleep 120",
    )
    assert (await env.client.post("/v2/apps", json=body)).status_code == 201
    task = await eventually(lambda: healthy_task(env, "/cmdcheck"), timeout=30)
    result = task["healthCheckResults"][0]
    assert result["alive"] is True and result["consecutiveFailures"] == 0


async def test_failing_mesos_http_check_gets_the_task_killed_and_replaced(
    env: MarathonEnv,
) -> None:
    # nothing listens on the port: the agent's HTTP check fails past the grace period
    body = checked_app(
        "/deaf",
        {"protocol": "MESOS_HTTP", "path": "/", "portIndex": 0, "gracePeriodSeconds": 1},
        "sleep 120",
    )
    sub = env.subscribe("status_update_event")
    assert (await env.client.post("/v2/apps", json=body)).status_code == 201
    killed = None
    async with asyncio.timeout(40):
        async for ev in sub:
            if ev["taskStatus"] == "TASK_KILLED":
                killed = ev["taskId"]
                break
    assert killed is not None

    async def replaced() -> bool:
        tasks = (await env.app("/deaf"))["tasks"]
        return any(t["id"] != killed for t in tasks)

    await eventually(replaced, timeout=30)
    assert (await env.app("/deaf"))["tasksHealthy"] == 0


async def framework(env: MarathonEnv) -> dict[str, Any]:
    master = env.cluster.master
    assert master is not None
    async with httpx.AsyncClient() as c:
        state = (await c.get(f"http://{master.address}/master/state")).json()
    fw: dict[str, Any] = state["frameworks"][0]
    return fw


async def test_idle_marathon_suppresses_offers_and_revives_for_work(env: MarathonEnv) -> None:
    await eventually(lambda: _suppressed(env), timeout=10)
    body = {"id": "/work", "cmd": "sleep 60", "cpus": 0.1, "mem": 16}
    assert (await env.client.post("/v2/apps", json=body)).status_code == 201
    await eventually(lambda: _running(env, "/work"), timeout=20)
    await eventually(lambda: _suppressed(env), timeout=10)


async def _suppressed(env: MarathonEnv) -> bool:
    return bool((await framework(env))["suppressed_roles"])


async def _running(env: MarathonEnv, app_id: str) -> bool:
    return (await env.app(app_id))["tasksRunning"] == 1


async def test_unplaceable_app_does_not_loop_on_declined_offers(env: MarathonEnv) -> None:
    body = {"id": "/huge", "cmd": "sleep 60", "cpus": 64, "mem": 16}
    assert (await env.client.post("/v2/apps", json=body)).status_code == 201
    scheduler = env.server.scheduler
    assert scheduler is not None
    await eventually(lambda: _queued_with(env, "/huge", "InsufficientCpus"), timeout=20)
    seen = scheduler.offers_processed
    await asyncio.sleep(3)  # the master allocates every 0.1 s here: a loop would show
    assert scheduler.offers_processed - seen <= 1
    assert not (await framework(env))["suppressed_roles"]  # work is queued: still interested


async def _queued_with(env: MarathonEnv, app_id: str, reason: str) -> bool:
    for item in (await env.client.get("/v2/queue")).json()["queue"]:
        if item["app"]["id"] == app_id:
            rows = item["processedOffersSummary"]["rejectSummaryLastOffers"]
            return any(r["reason"] == reason and r["declined"] for r in rows)
    return False
