"""``roost marathon`` SIGKILLed in the middle of a rolling restart and started again: the
deployment completes and no healthy task of the target version is killed; apps, versions and
the framework id survive; tasks of the old version die only as the restart replaces them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.testing.local_cluster import LocalCluster
from roost.testing.processes import marathon_process
from tests.marathon.conftest import eventually

pytestmark = pytest.mark.slow

# listens only after a pause, so a rolling restart is caught half-way
SLOW_SERVER = """
import http.server, os, time
time.sleep(float(os.environ.get("START_DELAY", "0")))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT0"])), H).serve_forever()
"""


async def get(client: httpx.AsyncClient, path: str) -> Any:
    r = await client.get(path)
    r.raise_for_status()
    return r.json()


async def master_tasks(master: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient() as c:
        state = (await c.get(f"http://{master}/master/state")).json()
    return [t for f in state["frameworks"] for t in f["tasks"] + f["completed_tasks"]]


async def test_restart_mid_deployment_finishes_it_without_killing_healthy_tasks(
    tmp_path: Path,
) -> None:
    script = tmp_path / "server.py"
    script.write_text(SLOW_SERVER)
    app = {
        "id": "/resilient",
        "cmd": f"exec {sys.executable} {script}",
        "cpus": 0.1,
        "mem": 32,
        "instances": 3,
        "env": {"START_DELAY": "0"},
        "upgradeStrategy": {"minimumHealthCapacity": 1.0, "maximumOverCapacity": 0.0},
        "healthChecks": [
            {
                "protocol": "HTTP",
                "path": "/",
                "gracePeriodSeconds": 30,
                "intervalSeconds": 1,
                "timeoutSeconds": 1,
                "maxConsecutiveFailures": 3,
            }
        ],
    }
    async with LocalCluster(tmp_path / "cluster") as cluster:
        proc = marathon_process(
            cluster.master_address, tmp_path / "marathon", "--decline-offer-duration", "10"
        )
        await asyncio.to_thread(proc.start)
        try:
            async with httpx.AsyncClient(base_url=proc.url, timeout=10) as c:
                assert (await c.post("/v2/apps", json=app)).status_code == 201

                async def healthy(n: int) -> list[dict[str, Any]] | None:
                    a = (await get(c, "/v2/apps/resilient"))["app"]
                    ok = a["tasksHealthy"] == n and not a["deployments"] and len(a["tasks"]) == n
                    return a["tasks"] if ok else None

                old = {t["id"] for t in await eventually(lambda: healthy(3), timeout=40)}
                fid = (await get(c, "/v2/info"))["frameworkId"]
                # the new version starts slowly: the restart replaces one task at a time
                r = await c.put("/v2/apps/resilient", json={"env": {"START_DELAY": "1.5"}})
                assert r.status_code == 200
                target = r.json()["version"]

                async def one_new_healthy() -> bool:
                    tasks = (await get(c, "/v2/apps/resilient"))["app"]["tasks"]
                    return any(
                        t["version"] == target
                        and t.get("healthCheckResults")
                        and t["healthCheckResults"][0]["alive"]
                        for t in tasks
                    )

                await eventually(one_new_healthy, timeout=40)
            proc.kill()  # SIGKILL mid-deployment
            await asyncio.sleep(0.5)
            await asyncio.to_thread(proc.start)
            async with httpx.AsyncClient(base_url=proc.url, timeout=10) as c:
                assert (await get(c, "/v2/info"))["frameworkId"] == fid
                assert len((await get(c, "/v2/apps/resilient/versions"))["versions"]) == 2
                final = await eventually(lambda: healthy(3), timeout=60)
                assert all(t["version"] == target for t in final)
                assert not {t["id"] for t in final} & old
                assert (await get(c, "/v2/deployments")) == []
            # only tasks of the old version were killed; every new one still runs
            tasks = await master_tasks(cluster.master_address)
            killed = {t["id"] for t in tasks if t["state"] in ("TASK_KILLED", "TASK_KILLING")}
            assert killed <= old
            running = {t["id"] for t in tasks if t["state"] == "TASK_RUNNING"}
            assert running == {t["id"] for t in final}
        finally:
            proc.terminate()


async def test_marathon_away_past_its_failover_timeout_comes_back_as_a_new_framework(
    tmp_path: Path,
) -> None:
    from roost.marathon.server import MarathonServer
    from tests.marathon.conftest import marathon_config

    async with LocalCluster(tmp_path / "cluster") as cluster:
        config = marathon_config(tmp_path, cluster.master_address)
        config.failover_timeout = 0.5
        server = MarathonServer(config)
        await server.start()
        await server.wait_registered()
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as c:
            app = {"id": "/phoenix", "cmd": "sleep 120", "cpus": 0.1, "mem": 16}
            assert (await c.post("/v2/apps", json=app)).status_code == 201

            async def running() -> list[str] | None:
                tasks = (await get(c, "/v2/apps/phoenix"))["app"]["tasks"]
                ids = [t["id"] for t in tasks if t["state"] == "TASK_RUNNING"]
                return ids or None

            first = await eventually(running, timeout=30)
            old_fid = (await get(c, "/v2/info"))["frameworkId"]
        await server.stop()
        await asyncio.sleep(2.0)  # the master removes the framework and kills its task
        config.port = server.port
        server = MarathonServer(config)
        await server.start()
        try:
            async with httpx.AsyncClient(base_url=base, timeout=10) as c:

                async def new_framework() -> str | None:
                    fid = (await get(c, "/v2/info"))["frameworkId"]
                    return fid if fid and fid != old_fid else None

                await eventually(new_framework, timeout=30)
                again = await eventually(running, timeout=30)
                assert not set(again) & set(first)
        finally:
            await server.stop()
