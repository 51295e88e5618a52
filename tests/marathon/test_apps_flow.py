"""The app lifecycle over the REST API against a real master and agent."""

from __future__ import annotations

import pytest

from tests.marathon.conftest import MarathonEnv, eventually

HELLO = {
    "id": "hello2",
    "cmd": "echo hello; sleep 10",
    "mem": 16,
    "cpus": 0.1,
    "instances": 1,
    "disk": 0.0,
    "ports": [0],
}


async def running_tasks(env: MarathonEnv, app_id: str) -> list[dict]:
    app = await env.app(app_id)
    return [t for t in app["tasks"] if t["state"] == "TASK_RUNNING"]


async def test_post_app_answers_201_with_location_and_deployment_header(env: MarathonEnv) -> None:
    r = await env.client.post("/v2/apps", json=HELLO)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{env.url}/v2/apps/hello2"
    body = r.json()
    assert r.headers["marathon-deployment-id"] == body["deployments"][0]["id"]
    assert body["id"] == "/hello2"
    assert body["tasksRunning"] == 0 and body["tasksStaged"] == 0
    assert body["mem"] == 16.0 and body["cpus"] == 0.1
    assert body["portDefinitions"][0]["port"] >= 10000
    # read-after-write: visible at once
    assert (await env.client.get("/v2/apps/hello2")).status_code == 200


async def test_task_runs_with_marathon_environment_and_shows_in_master_state(
    env: MarathonEnv,
) -> None:
    app = {**HELLO, "id": "/grp/envy", "cmd": "env > env.txt; sleep 30", "labels": {"team": "a"}}
    assert (await env.client.post("/v2/apps", json=app)).status_code == 201
    tasks = await eventually(lambda: running_tasks(env, "/grp/envy"))
    task = tasks[0]
    assert task["id"].startswith("grp_envy.")
    assert task["appId"] == "/grp/envy" and task["host"] == "127.0.0.1"
    assert len(task["servicePorts"]) == len(task["ports"]) == 1
    master = env.cluster.master
    assert master is not None
    async with __import__("httpx").AsyncClient() as c:
        state = (await c.get(f"http://{master.address}/master/state")).json()
    mtasks = [t for f in state["frameworks"] for t in f["tasks"]]
    assert [t["name"] for t in mtasks] == ["envy.grp"]
    agent = env.cluster.agents[0]
    assert agent is not None

    async def env_file() -> str | None:
        for path in env.tmp.glob("agent0/**/env.txt"):
            return path.read_text()
        return None

    text = await eventually(env_file)
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert values["MARATHON_APP_ID"] == "/grp/envy"
    assert values["MESOS_TASK_ID"] == task["id"]
    assert values["PORT0"] == values["PORT"] == str(task["ports"][0])
    assert values["HOST"] == "127.0.0.1"
    assert values["MARATHON_APP_LABEL_TEAM"] == "a"
    assert values["MARATHON_APP_RESOURCE_MEM"] == "16.0"


async def test_exited_task_is_replaced_with_backoff(env: MarathonEnv) -> None:
    app = {**HELLO, "id": "/quick", "cmd": "exit 0", "backoffSeconds": 1, "backoffFactor": 2}
    sub = env.subscribe("status_update_event")
    assert (await env.client.post("/v2/apps", json=app)).status_code == 201
    finished: list[str] = []
    async for event in sub:
        if event["taskStatus"] == "TASK_FINISHED":
            finished.append(event["taskId"])
            if len(finished) == 2:
                break
    assert finished[0] != finished[1]
    queue = (await env.client.get("/v2/queue")).json()["queue"]
    # after two exits the delay has doubled: the app waits in the queue
    if queue:
        assert queue[0]["app"]["id"] == "/quick"
        assert queue[0]["delay"]["timeLeftSeconds"] >= 0
    r = await env.client.delete("/v2/queue/quick/delay")
    assert r.status_code in (204, 404)


async def test_scale_up_and_down_is_a_scale_deployment_not_a_restart(env: MarathonEnv) -> None:
    app = {**HELLO, "id": "/scaled", "cmd": "sleep 60"}
    assert (await env.client.post("/v2/apps", json=app)).status_code == 201
    first = await eventually(lambda: running_tasks(env, "/scaled"))
    r = await env.client.put("/v2/apps//scaled?force=False", json={"instances": 3})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"deploymentId", "version"}
    tasks = await eventually(lambda: _at_least(running_tasks(env, "/scaled"), 3), timeout=30)
    assert first[0]["id"] in {t["id"] for t in tasks}  # the old one was not restarted
    r = await env.client.put("/v2/apps/scaled", json={"instances": 1})
    assert r.status_code == 200
    await eventually(lambda: _exactly(env, "/scaled", 1), timeout=30)
    app_now = await env.app("/scaled")
    assert app_now["instances"] == 1
    assert app_now["versionInfo"]["lastConfigChangeAt"] < app_now["versionInfo"]["lastScalingAt"]


async def _at_least(coro, n: int):  # type: ignore[no-untyped-def]
    tasks = await coro
    return tasks if len(tasks) >= n else None


async def _exactly(env: MarathonEnv, app_id: str, n: int) -> bool:
    app = await env.app(app_id)
    return len(app["tasks"]) == n and app["tasksRunning"] == n and not app["deployments"]


async def test_delete_app_kills_its_tasks_and_emits_app_terminated(env: MarathonEnv) -> None:
    app = {**HELLO, "id": "/doomed", "cmd": "sleep 60", "instances": 2}
    assert (await env.client.post("/v2/apps", json=app)).status_code == 201
    await eventually(lambda: _exactly(env, "/doomed", 2), timeout=30)
    sub = env.subscribe("app_terminated_event")
    r = await env.client.delete("/v2/apps/doomed")
    assert r.status_code == 200 and "deploymentId" in r.json()
    event = await sub.__anext__()
    assert event["appId"] == "/doomed"
    assert (await env.client.get("/v2/apps/doomed")).status_code == 404
    assert (await env.client.get("/v2/tasks")).json()["tasks"] == []


async def test_second_change_while_deploying_is_409_unless_forced(env: MarathonEnv) -> None:
    # a constraint nobody can meet keeps the deployment running
    app = {
        **HELLO,
        "id": "/stuck",
        "cmd": "sleep 60",
        "constraints": [["hostname", "LIKE", "nope"]],
    }
    r = await env.client.post("/v2/apps", json=app)
    assert r.status_code == 201
    dep = r.headers["marathon-deployment-id"]
    r = await env.client.put("/v2/apps/stuck", json={"cmd": "sleep 61"})
    assert r.status_code == 409
    body = r.json()
    assert body["deployments"] == [{"id": dep}]
    assert "locked" in body["message"]
    r = await env.client.put("/v2/apps/stuck?force=TRUE", json={"constraints": []})
    assert r.status_code == 200
    await eventually(lambda: running_tasks(env, "/stuck"))
    deployments = (await env.client.get("/v2/deployments")).json()
    assert dep not in [d["id"] for d in deployments]


async def test_restart_replaces_every_task_with_a_new_version(env: MarathonEnv) -> None:
    app = {**HELLO, "id": "/rolling", "cmd": "sleep 60", "instances": 2}
    assert (await env.client.post("/v2/apps", json=app)).status_code == 201
    await eventually(lambda: _exactly(env, "/rolling", 2), timeout=30)
    before = {t["id"] for t in (await env.app("/rolling"))["tasks"]}
    r = await env.client.post("/v2/apps/rolling/restart")
    assert r.status_code == 200
    version = r.json()["version"]

    async def replaced() -> bool:
        app = await env.app("/rolling")
        ids = {t["id"] for t in app["tasks"]}
        return (
            len(ids) == 2
            and not ids & before
            and all(t["version"] == version and t["state"] == "TASK_RUNNING" for t in app["tasks"])
            and not app["deployments"]
        )

    await eventually(replaced, timeout=30)


async def test_versions_and_rollback(env: MarathonEnv) -> None:
    app = {**HELLO, "id": "/versioned", "cmd": "sleep 60"}
    assert (await env.client.post("/v2/apps", json=app)).status_code == 201
    v1 = (await env.app("/versioned"))["version"]
    await env.client.put("/v2/apps/versioned?force=true", json={"cmd": "sleep 70"})
    versions = (await env.client.get("/v2/apps/versioned/versions")).json()["versions"]
    assert len(versions) == 2 and versions[-1] == v1
    old = (await env.client.get(f"/v2/apps/versioned/versions/{v1}")).json()
    assert old["cmd"] == "sleep 60"
    r = await env.client.put("/v2/apps/versioned?force=true", json={"version": v1})
    assert r.status_code == 200
    assert (await env.app("/versioned"))["cmd"] == "sleep 60"


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/v2/apps/nope", 404, "App '/nope' does not exist"),
        ("DELETE", "/v2/apps/nope", 404, "App '/nope' does not exist"),
        ("GET", "/v2/apps/nope/tasks", 404, "App '/nope' does not exist"),
        ("DELETE", "/v2/deployments/xyz", 404, "DeploymentPlan xyz does not exist"),
        ("GET", "/v2/groups/nope", 404, "Group '/nope' does not exist"),
        ("GET", "/v2/unknown", 404, "URI not found"),
        ("GET", "/v2/tasks?status=weird", 400, "Unknown task status 'weird'"),
        ("DELETE", "/v2/apps/x?force=maybe", 400, "force"),
    ],
)
async def test_errors_are_marathon_json(
    env: MarathonEnv, method: str, path: str, status: int, message: str
) -> None:
    r = await env.client.request(method, path)
    assert r.status_code == status
    assert message in r.json()["message"]


async def test_info_leader_ping_metrics(env: MarathonEnv) -> None:
    info = (await env.client.get("/v2/info")).json()
    assert info["frameworkId"] and info["marathon_config"]["local_port_min"] == 10000
    assert (await env.client.get("/v2/leader")).json() == {"leader": f"127.0.0.1:{env.server.port}"}
    ping = await env.client.get("/ping")
    assert ping.text == "pong"
    assert "marathon.apps" in (await env.client.get("/metrics")).json()["gauges"]
    prom = (await env.client.get("/metrics/prometheus")).text
    assert "roost_marathon_apps" in prom
    scraper = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    scraped = await env.client.get("/metrics", headers={"Accept": scraper})
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "roost_marathon_apps" in scraped.text
    doc = (await env.client.get("/openapi.json")).json()
    assert "/v2/apps" in doc["paths"] and "App" in doc["components"]["schemas"]
