"""A 3-instance HTTP service with an HTTP health check, on a real agent: a process killed by
hand is replaced and healthy again; an instance made unhealthy is killed and replaced; a
rolling restart never drops below ``minimumHealthCapacity`` (asserted from the events)."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from roost.marathon.events import Subscription
from tests.marathon.conftest import MarathonEnv, eventually

pytestmark = pytest.mark.slow

SERVER = """
import http.server, os, sys
state = sys.argv[1]
tid = os.environ["MESOS_TASK_ID"]
open(os.path.join(state, "pid-" + tid), "w").write(str(os.getpid()))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        sick = os.path.exists(os.path.join(state, "sick-" + tid))
        self.send_response(500 if sick else 200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT0"])), H).serve_forever()
"""


def service(tmp: Path, app_id: str, **extra: Any) -> dict[str, Any]:
    script = tmp / "server.py"
    script.write_text(SERVER)
    state = tmp / "state"
    state.mkdir(exist_ok=True)
    return {
        "id": app_id,
        "cmd": f"exec {sys.executable} {script} {state}",
        "cpus": 0.1,
        "mem": 32,
        "instances": 3,
        "healthChecks": [
            {
                "protocol": "HTTP",
                "path": "/",
                "portIndex": 0,
                "gracePeriodSeconds": 10,
                "intervalSeconds": 1,
                "timeoutSeconds": 1,
                "maxConsecutiveFailures": 2,
            }
        ],
        **extra,
    }


async def all_healthy(env: MarathonEnv, app_id: str, n: int) -> list[dict[str, Any]] | None:
    app = await env.app(app_id)
    tasks = app["tasks"]
    ok = (
        app["tasksHealthy"] == n
        and len(tasks) == n
        and not app["deployments"]
        and all(t["healthCheckResults"][0]["alive"] for t in tasks)
    )
    return tasks if ok else None


async def test_killed_and_unhealthy_instances_are_replaced(env: MarathonEnv) -> None:
    app = service(env.tmp, "/web", backoffSeconds=1)
    assert (await env.client.post("/v2/apps", json=app)).status_code == 201
    tasks = await eventually(lambda: all_healthy(env, "/web", 3), timeout=40)
    state = env.tmp / "state"

    # 1. a process killed by hand: the task fails, a new one takes its place and gets healthy
    victim = tasks[0]["id"]
    pid = int((state / f"pid-{victim}").read_text())
    os.kill(pid, signal.SIGKILL)

    async def replaced() -> list[dict[str, Any]] | None:
        now = await all_healthy(env, "/web", 3)
        return now if now and victim not in {t["id"] for t in now} else None

    tasks = await eventually(replaced, timeout=40)
    failure = (await env.app("/web"))["lastTaskFailure"]
    assert failure["taskId"] == victim and failure["state"] == "TASK_FAILED"

    # 2. an instance made unhealthy is killed (unhealthy_task_kill_event) and replaced
    sub = env.subscribe("unhealthy_task_kill_event")
    sick = tasks[1]["id"]
    (state / f"sick-{sick}").touch()
    event = await asyncio.wait_for(sub.__anext__(), 30)
    assert event["taskId"] == sick and event["appId"] == "/web"

    async def healed() -> list[dict[str, Any]] | None:
        now = await all_healthy(env, "/web", 3)
        return now if now and sick not in {t["id"] for t in now} else None

    await eventually(healed, timeout=40)


class Timeline:
    """Healthy instances of one app over time, replayed from the event stream."""

    def __init__(self, sub: Subscription) -> None:
        self.sub = sub
        self.healthy: set[str] = set()
        self.minimum: int | None = None
        self.done = asyncio.Event()
        self.started = False

    async def run(self) -> None:
        async for ev in self.sub:
            kind = ev["eventType"]
            if kind == "health_status_changed_event":
                if ev["alive"]:
                    self.healthy.add(ev["instanceId"])
                else:
                    self.healthy.discard(ev["instanceId"])
            elif kind == "status_update_event" and ev["taskStatus"] != "TASK_RUNNING":
                self.healthy.discard(ev["taskId"])
            elif kind == "deployment_success":
                self.done.set()
            if self.started:
                size = len(self.healthy)
                self.minimum = size if self.minimum is None else min(self.minimum, size)


@pytest.mark.parametrize(("min_health", "max_over"), [(1.0, 1.0), (0.5, 0.0)])
async def test_rolling_restart_keeps_the_healthy_floor(
    env: MarathonEnv, min_health: float, max_over: float
) -> None:
    strategy = {"minimumHealthCapacity": min_health, "maximumOverCapacity": max_over}
    app = service(env.tmp, "/svc", upgradeStrategy=strategy)
    sub = env.subscribe("health_status_changed_event", "status_update_event", "deployment_success")
    timeline = Timeline(sub)
    runner = asyncio.create_task(timeline.run())
    try:
        assert (await env.client.post("/v2/apps", json=app)).status_code == 201
        before = await eventually(lambda: all_healthy(env, "/svc", 3), timeout=40)
        assert timeline.healthy == {t["id"] for t in before}
        timeline.started = True
        timeline.done.clear()
        r = await env.client.post("/v2/apps/svc/restart")
        assert r.status_code == 200
        await asyncio.wait_for(timeline.done.wait(), 60)
        after = await eventually(lambda: all_healthy(env, "/svc", 3), timeout=30)
        assert not {t["id"] for t in after} & {t["id"] for t in before}
        assert timeline.minimum is not None
        assert timeline.minimum >= math.ceil(3 * min_health)
    finally:
        runner.cancel()
