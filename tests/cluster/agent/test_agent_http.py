"""The agent's HTTP endpoints: /state, /files, /health, /version, metrics."""

from __future__ import annotations

import httpx
import pytest

from roost.cluster.agent.server import AgentServer


@pytest.mark.parametrize(
    "path", ["/state", "/state.json", "/slave(1)/state", "/slave(1)/state.json"]
)
async def test_state_has_the_mesos_agent_shape(
    master, agent: AgentServer, http: httpx.AsyncClient, path: str
):
    master.auto_ack = True
    master.run_task("s1", "exec sleep 30")
    await master.wait_for_update("s1", "TASK_RUNNING")
    state = (await http.get(path)).json()
    assert state["id"] == "FAKE-S0"
    assert state["pid"] == f"slave(1)@127.0.0.1:{agent.port}"
    assert state["hostname"] == "127.0.0.1"
    assert state["version"] == "1.11.0"
    assert state["resources"]["cpus"] == 2.0
    assert state["resources"]["ports"] == "[31000-31010]"
    assert state["attributes"] == {"rack": "r1", "level": 2.0}
    assert state["master_hostname"] == "127.0.0.1"
    assert state["flags"]["work_dir"] == str(agent.config.work_dir)
    assert state["completed_frameworks"] == []
    [fw] = state["frameworks"]
    assert (fw["id"], fw["name"], fw["completed_executors"]) == ("FW1", "test-framework", [])
    [ex] = fw["executors"]
    assert ex["id"] == ex["source"] == "s1"
    assert ex["name"] == ("Command Executor (Task: s1) (Command: sh -c 'exec sleep 30')")
    assert ex["directory"].endswith(f"/executors/s1/runs/{ex['container']}")
    assert ex["resources"]["mem"] == 32.0
    assert (ex["queued_tasks"], ex["completed_tasks"]) == ([], [])
    [task] = ex["tasks"]
    assert (task["id"], task["state"], task["framework_id"]) == ("s1", "TASK_RUNNING", "FW1")
    assert task["slave_id"] == "FAKE-S0"
    assert [s["state"] for s in task["statuses"]] == ["TASK_STARTING", "TASK_RUNNING"]


async def test_finished_task_moves_to_completed_after_its_ack(
    master, agent: AgentServer, http: httpx.AsyncClient
):
    master.auto_ack = True
    master.run_task("quick", "true")
    await master.wait_for_update("quick", "TASK_FINISHED")
    await master.eventually(lambda: not agent.agent.frameworks)
    state = (await http.get("/state")).json()
    [fw] = state["completed_frameworks"]
    [ex] = fw["completed_executors"]
    assert [t["state"] for t in ex["completed_tasks"]] == ["TASK_FINISHED"]


async def test_task_stdout_can_be_read_through_files_api(
    master, agent: AgentServer, http: httpx.AsyncClient
):
    master.auto_ack = True
    master.run_task("hello", "echo hello from the sandbox; exec sleep 30")
    await master.wait_for_update("hello", "TASK_RUNNING")
    state = (await http.get("/state")).json()
    directory = state["frameworks"][0]["executors"][0]["directory"]
    path = f"{directory}/stdout"
    await master.eventually(lambda: open(path).read() != "")
    for prefix in ("", "/slave(1)"):
        r = await http.get(f"{prefix}/files/read", params={"path": path, "offset": 0})
        assert r.status_code == 200
        assert r.json() == {"offset": 0, "data": "hello from the sandbox\n"}
    listing = (await http.get("/files/browse", params={"path": directory})).json()
    assert {e["path"].rsplit("/", 1)[1] for e in listing} >= {"stdout", "stderr"}
    r = await http.get("/files/read", params={"path": "/etc/passwd", "offset": 0})
    assert r.status_code in (403, 404)


async def test_health_and_version(http: httpx.AsyncClient):
    r = await http.get("/health")
    assert (r.status_code, r.content) == (200, b"")
    version = (await http.get("/version")).json()["version"]
    assert all(part.isdigit() for part in version.split("."))
    assert (await http.get("/slave(1)/health")).status_code == 200


async def test_metrics_snapshot_counts_tasks_and_resources(
    master, agent: AgentServer, http: httpx.AsyncClient
):
    master.auto_ack = True
    master.run_task("m1", "exec sleep 30")
    master.run_task("m2", "exit 1")
    await master.wait_for_update("m1", "TASK_RUNNING")
    await master.wait_for_update("m2", "TASK_FAILED")
    snap = (await http.get("/metrics/snapshot")).json()
    assert snap["slave/registered"] == 1
    assert snap["slave/tasks_running"] == 1
    assert snap["slave/tasks_failed"] == 1
    assert snap["slave/tasks_finished"] == 0
    assert snap["slave/cpus_total"] == 2.0
    assert snap["slave/cpus_used"] == pytest.approx(0.1)
    assert snap["slave/mem_used"] == 32.0
    assert snap["slave/executors_running"] == 1
    assert snap["system/cpus_total"] >= 1
    assert snap["slave/uptime_secs"] >= 0
    text = (await http.get("/metrics")).text
    assert "roost_slave_tasks_running 1.0" in text


async def test_jsonp_wraps_state(http: httpx.AsyncClient):
    r = await http.get("/state", params={"jsonp": "cb"})
    assert r.text.startswith("cb({") and r.text.endswith("});")
