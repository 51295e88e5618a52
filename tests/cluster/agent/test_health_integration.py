"""Health checks end to end: a real master and agent (``roost.testing.LocalCluster``), a
framework on the scheduler driver, and tasks whose COMMAND, TCP and HTTP checks pass or fail.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.cluster.scheduler import Scheduler, SchedulerDriver, command_task
from roost.testing.local_cluster import LocalCluster

pytestmark = pytest.mark.slow

HEALTH_REASON = "REASON_TASK_HEALTH_CHECK_STATUS_UPDATED"

# Answers 200 to its first two requests and 500 after that.
FLAKY_SERVER = """
import http.server, sys
seen = 0
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global seen
        seen += 1
        self.send_response(200 if seen <= 2 else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

# Listens only after half a second, so the first checks fail (inside the grace period).
LATE_LISTENER = """
import socket, sys, time
time.sleep(0.5)
s = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    s.accept()[0].close()
"""


class Recorder(Scheduler):
    def __init__(self) -> None:
        self.offers_seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.statuses: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()

    async def offers(self, driver: SchedulerDriver, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            self.offers_seen.put_nowait(offer)

    async def update(self, driver: SchedulerDriver, status: dict[str, Any]) -> None:
        async with self._changed:
            self.statuses.append(status)
            self._changed.notify_all()

    def of(self, task_id: str) -> list[dict[str, Any]]:
        return [s for s in self.statuses if s["task_id"]["value"] == task_id]

    async def wait_for(
        self, task_id: str, pred: Callable[[dict[str, Any]], bool], timeout: float = 15
    ) -> dict[str, Any]:
        async with asyncio.timeout(timeout), self._changed:
            while True:
                found = [s for s in self.of(task_id) if pred(s)]
                if found:
                    return found[0]
                await self._changed.wait()


@pytest.fixture
def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def cluster(tmp_path: Path, port: int) -> AsyncIterator[LocalCluster]:
    resources = f"cpus:2;mem:1024;disk:1024;ports:[{port}-{port}]"
    async with LocalCluster(tmp_path, agent_resources=resources) as c:
        yield c


@pytest.fixture
async def framework(cluster: LocalCluster) -> AsyncIterator[tuple[SchedulerDriver, Recorder]]:
    rec = Recorder()
    driver = SchedulerDriver(cluster.master_address, {"user": "t", "name": "health"}, rec)
    await driver.start()
    yield driver, rec
    await driver.stop()


async def launch(
    framework: tuple[SchedulerDriver, Recorder],
    task_id: str,
    command: list[str],
    health_check: dict[str, Any],
    *,
    port: int | None = None,
    shell: bool = True,
    env: dict[str, str] | None = None,
) -> Recorder:
    driver, rec = framework
    offer = await asyncio.wait_for(rec.offers_seen.get(), 15)
    task = command_task(
        offer, task_id=task_id, name=task_id, command=command, shell=shell, env=env,
        cpus=0.1, mem=32,
    )  # fmt: skip
    if port is not None:
        ranges = {"range": [{"begin": port, "end": port}]}
        task["resources"].append({"name": "ports", "type": "RANGES", "ranges": ranges})
    task["health_check"] = health_check
    await driver.launch([offer["id"]], [task])
    return rec


def fast(kind: str, **spec: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "delay_seconds": 0,
        "interval_seconds": 0.2,
        "timeout_seconds": 5,
        "grace_period_seconds": 10,
        **spec,
    }


def healthy(value: bool) -> Callable[[dict[str, Any]], bool]:
    return lambda s: s["state"] == "TASK_RUNNING" and s.get("healthy") is value


async def test_passing_command_check_reports_task_running_healthy(
    cluster: LocalCluster, framework: tuple[SchedulerDriver, Recorder]
) -> None:
    # The check sees the task's environment and runs in its sandbox.
    check = fast(
        "COMMAND", command={"value": 'test "$GREETING" = hi && test "$PWD" = "$MESOS_SANDBOX"'}
    )
    rec = await launch(framework, "cmd", ["exec sleep 30"], check, env={"GREETING": "hi"})
    status = await rec.wait_for("cmd", healthy(True))
    assert status["reason"] == HEALTH_REASON
    assert status["source"] == "SOURCE_EXECUTOR"
    assert [s["state"] for s in rec.of("cmd")][:2] == ["TASK_STARTING", "TASK_RUNNING"]
    assert "healthy" not in rec.of("cmd")[1]  # the launch's TASK_RUNNING says nothing yet
    agent = cluster.agents[0]
    assert agent is not None
    async with httpx.AsyncClient(timeout=5) as http:
        state = (await http.get(f"http://127.0.0.1:{agent.port}/state")).json()
    [task] = [t for fw in state["frameworks"] for ex in fw["executors"] for t in ex["tasks"]]
    assert task["health_check"] == check
    assert any(s.get("healthy") is True for s in task["statuses"])


async def test_tcp_check_goes_healthy_once_the_task_listens(
    framework: tuple[SchedulerDriver, Recorder], port: int
) -> None:
    command = [sys.executable, "-c", LATE_LISTENER, str(port)]
    rec = await launch(
        framework, "tcp", command, fast("TCP", tcp={"port": port}), port=port, shell=False
    )
    status = await rec.wait_for("tcp", healthy(True))
    assert status["reason"] == HEALTH_REASON
    assert not any(s.get("healthy") is False for s in rec.of("tcp"))  # early failures: grace


async def test_failing_http_check_reports_unhealthy_and_kills_the_task(
    framework: tuple[SchedulerDriver, Recorder], port: int
) -> None:
    command = [sys.executable, "-c", FLAKY_SERVER, str(port)]
    check = fast("HTTP", http={"port": port, "path": "/health"}, consecutive_failures=2)
    rec = await launch(framework, "web", command, check, port=port, shell=False)
    killed = await rec.wait_for("web", lambda s: s["state"] == "TASK_KILLED")
    running = [s.get("healthy") for s in rec.of("web") if s["state"] == "TASK_RUNNING"]
    # Launch, first success, then one unhealthy update per failure until the kill.
    assert running == [None, True, False, False]
    assert killed["healthy"] is False
    assert "reason" not in killed  # as Mesos' command executor: no health-specific reason
    assert killed["message"] == "Command terminated with signal SIGTERM"


async def test_malformed_health_check_is_a_task_error(
    framework: tuple[SchedulerDriver, Recorder], port: int
) -> None:
    check = fast("HTTP", http={"port": port, "path": "health"})
    rec = await launch(framework, "bad", ["true"], check)
    error = await rec.wait_for("bad", lambda s: s["state"] == "TASK_ERROR")
    assert error["reason"] == "REASON_TASK_INVALID"
    assert error["message"] == (
        "Task uses invalid health check: The path 'health' of HTTP health check must start with '/'"
    )
