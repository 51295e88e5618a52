"""The v1 executor API on the agent: a raw HTTP executor, a real pymesos executor, bad input."""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.cluster.agent import executor_api
from roost.cluster.agent.server import AgentServer
from roost.cluster.agent.tasks import ExecutorState
from roost.core.recordio import Decoder

PYMESOS_EXECUTOR = """
import sys, threading
from pymesos import MesosExecutorDriver, Executor

_out = threading.Lock()


def say(*words):
    # One write per line under a lock: print() from two threads can interleave.
    with _out:
        sys.stdout.write(" ".join(str(w) for w in words) + "\\n")
        sys.stdout.flush()


class Driver(MesosExecutorDriver):
    def sendStatusUpdate(self, status):
        super().sendStatusUpdate(status)
        say("SENT", status["state"], status["uuid"])

    def on_acknowledged(self, event):
        say("ACKNOWLEDGED", event["task_id"]["value"], event["uuid"])
        super().on_acknowledged(event)


class Echo(Executor):
    def launchTask(self, driver, task):
        def run():
            driver.sendStatusUpdate({"task_id": task["task_id"], "state": "TASK_RUNNING"})
            driver.sendStatusUpdate(
                {"task_id": task["task_id"], "state": "TASK_FINISHED", "message": "done"}
            )
        threading.Thread(target=run).start()

    def shutdown(self, driver):
        say("SHUTDOWN")


if __name__ == "__main__":
    Driver(Echo(), use_addict=True).run()
    say("EXITING")
"""


def executor_info(eid: str, cmd: str) -> dict[str, Any]:
    return {
        "executor_id": {"value": eid},
        "framework_id": {"value": "FW1"},
        "command": {"value": cmd},
        "resources": [{"name": "mem", "type": "SCALAR", "scalar": {"value": 32}}],
    }


def new_uuid() -> str:
    return base64.b64encode(uuid.uuid4().bytes).decode()


def call(ctype: str, eid: str = "E1", **body: Any) -> dict[str, Any]:
    return {
        "type": ctype,
        "framework_id": {"value": "FW1"},
        "executor_id": {"value": eid},
        **body,
    }


class EventReader:
    """Reads RecordIO events from an open executor stream."""

    def __init__(self, response: httpx.Response) -> None:
        self._chunks = response.aiter_bytes()
        self._decoder = Decoder()
        self._ready: list[dict[str, Any]] = []

    async def next(self) -> dict[str, Any]:
        while not self._ready:
            chunk = await anext(self._chunks)
            self._ready.extend(json.loads(r) for r in self._decoder.feed(chunk))
        return self._ready.pop(0)


async def test_http_executor_subscribes_gets_launch_and_its_updates_are_acknowledged(
    master, agent: AgentServer, http: httpx.AsyncClient
):
    master.run_task("t1", executor=executor_info("E1", "exec sleep 30"))
    await master.eventually(lambda: "E1" in agent.agent.frameworks.get("FW1", _NO).executors)
    ex = agent.agent.frameworks["FW1"].executors["E1"]
    assert [t.task_id for t in ex.queued.values()] == ["t1"]
    sub = call("SUBSCRIBE", subscribe={"unacknowledged_tasks": [], "unacknowledged_updates": []})
    async with http.stream("POST", "/api/v1/executor", json=sub) as resp:
        assert resp.status_code == 200
        assert "content-length" not in resp.headers
        events = EventReader(resp)
        subscribed = (await events.next())["subscribed"]
        assert subscribed["framework_info"]["id"] == {"value": "FW1"}
        assert subscribed["executor_info"]["executor_id"] == {"value": "E1"}
        assert subscribed["agent_info"]["id"] == {"value": "FAKE-S0"}
        assert subscribed["container_id"] == {"value": ex.container_id}
        launch = await events.next()
        assert launch["type"] == "LAUNCH"
        assert launch["launch"]["task"]["task_id"] == {"value": "t1"}

        status = {"task_id": {"value": "t1"}, "state": "TASK_RUNNING", "uuid": new_uuid()}
        r = await http.post("/api/v1/executor", json=call("UPDATE", update={"status": status}))
        assert r.status_code == 202
        ack = await events.next()
        assert ack == {
            "type": "ACKNOWLEDGED",
            "acknowledged": {"task_id": {"value": "t1"}, "uuid": status["uuid"]},
        }
        forwarded = await master.wait_for_update("t1", "TASK_RUNNING")
        assert forwarded["uuid"] == status["uuid"]
        assert forwarded["agent_id"] == {"value": "FAKE-S0"}
        assert forwarded["executor_id"] == {"value": "E1"}

        message = call("MESSAGE", message={"data": base64.b64encode(b"hi").decode()})
        assert (await http.post("/api/v1/executor", json=message)).status_code == 202
        await master.eventually(lambda: bool(master.calls_of("MESSAGE")))
        assert master.calls_of("MESSAGE")[0]["message"]["executor_id"] == {"value": "E1"}

        master.send(
            {
                "type": "MESSAGE",
                "message": {
                    "framework_id": {"value": "FW1"},
                    "executor_id": {"value": "E1"},
                    "data": "aGk=",
                },
            }
        )
        assert await events.next() == {"type": "MESSAGE", "message": {"data": "aGk="}}
        master.kill_task("t1")
        assert await events.next() == {"type": "KILL", "kill": {"task_id": {"value": "t1"}}}
    # The executor hung up: the agent shuts it down; its live task is lost, the master told.
    await master.eventually(lambda: bool(master.calls_of("EXECUTOR_EXITED")))
    exited = master.calls_of("EXECUTOR_EXITED")[0]["executor_exited"]
    assert exited["executor_id"] == {"value": "E1"}
    assert isinstance(exited["status"], int)


_NO = type("NoFramework", (), {"executors": {}})()


async def test_pymesos_executor_runs_a_task_and_exits_on_shutdown(
    master, agent: AgentServer, tmp_path: Path
):
    master.auto_ack = True
    script = tmp_path / "echo_executor.py"
    script.write_text(PYMESOS_EXECUTOR)
    master.run_task("py1", executor=executor_info("pyexec", f"{sys.executable} {script}"))
    finished = await master.wait_for_update("py1", "TASK_FINISHED", timeout=15)
    assert finished["message"] == "done"
    assert finished["agent_id"] == {"value": "FAKE-S0"}
    assert finished["executor_id"] == {"value": "pyexec"}
    assert master.states("py1") == ["TASK_RUNNING", "TASK_FINISHED"]

    ex = agent.agent.frameworks["FW1"].executors["pyexec"]
    assert ex.directory is not None
    stdout = ex.directory / "stdout"
    sent = master.updates("py1")
    await master.eventually(lambda: stdout.read_text().count("ACKNOWLEDGED") == 2)
    acked = [line.split()[2] for line in stdout.read_text().splitlines() if "ACKNOWLEDGED" in line]
    # An update re-sent (from 0.2 s) before the master's auto-ack arrived repeats its uuid.
    assert acked == list(dict.fromkeys(s["uuid"] for s in sent))[:2]

    master.send(
        {
            "type": "SHUTDOWN_EXECUTOR",
            "shutdown_executor": {
                "framework_id": {"value": "FW1"},
                "executor_id": {"value": "pyexec"},
            },
        }
    )
    await master.eventually(lambda: bool(master.calls_of("EXECUTOR_EXITED")), timeout=10)
    assert "SHUTDOWN" in stdout.read_text()
    assert master.calls_of("EXECUTOR_EXITED")[0]["executor_exited"]["status"] == 0


async def test_executor_that_never_subscribes_times_out(master, start_agent):
    master.auto_ack = True
    server = await start_agent(executor_registration_timeout=0.3)
    master.run_task("t2", executor=executor_info("mute", "exec sleep 30"))
    failed = await master.wait_for_update("t2", "TASK_FAILED")
    assert failed["reason"] == "REASON_EXECUTOR_REGISTRATION_TIMEOUT"
    assert failed["source"] == "SOURCE_AGENT"
    await master.eventually(lambda: bool(master.calls_of("EXECUTOR_EXITED")))
    await master.eventually(lambda: not server.agent.frameworks)


async def test_executor_without_command_fails_its_tasks(master, agent: AgentServer):
    master.auto_ack = True
    info = executor_info("nocmd", "x")
    del info["command"]
    master.run_task("t3", executor=info)
    failed = await master.wait_for_update("t3", "TASK_FAILED")
    assert failed["reason"] == "REASON_CONTAINER_LAUNCH_FAILED"
    assert "ExecutorInfo.command" in failed["message"]


async def test_queued_task_killed_before_subscription(master, agent: AgentServer):
    master.auto_ack = True
    master.run_task("t4", executor=executor_info("slowpoke", "exec sleep 30"))
    await master.eventually(lambda: bool(agent.agent.frameworks))
    master.kill_task("t4")
    killed = await master.wait_for_update("t4", "TASK_KILLED")
    assert killed["source"] == "SOURCE_AGENT"
    # Left without tasks, the executor is shut down before it ever subscribed.
    await master.eventually(lambda: bool(master.calls_of("EXECUTOR_EXITED")))
    await master.eventually(lambda: not agent.agent.frameworks)
    ex = agent.agent.completed_frameworks[-1].completed_executors[-1]
    assert ex.state is ExecutorState.TERMINATED


BAD_INPUT: list[tuple[str, dict[str, str], bytes, int, str]] = [
    ("not json", {"content-type": "application/json"}, b"{nope", 400, "Failed to parse"),
    ("not an object", {"content-type": "application/json"}, b"[1]", 400, "JSON object"),
    ("no type", {"content-type": "application/json"}, b"{}", 400, "'type'"),
    ("text body", {"content-type": "text/plain"}, b"{}", 415, "application/json"),
    ("no content type", {}, b"{}", 400, "Content-Type"),
    (
        "protobuf only",
        {"content-type": "application/json", "accept": "application/x-protobuf"},
        b"{}",
        406,
        "Accept",
    ),
]


@pytest.mark.parametrize(
    ("headers", "body", "status", "text"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
async def test_bad_requests_get_plain_text_errors(
    http: httpx.AsyncClient, headers: dict[str, str], body: bytes, status: int, text: str
):
    r = await http.post("/api/v1/executor", content=body, headers=headers)
    assert r.status_code == status
    assert text in r.text
    assert r.headers["content-type"].startswith("text/plain")


BAD_CALLS: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown type", call("DANCE"), 400, "unknown type"),
    ("no framework id", {"type": "HEARTBEAT", "executor_id": {"value": "E"}}, 400, "framework_id"),
    ("no executor id", {"type": "HEARTBEAT", "framework_id": {"value": "FW1"}}, 400, "executor_id"),
    ("unknown framework", call("HEARTBEAT"), 400, "Framework 'FW1' cannot be found"),
    ("update without body", call("UPDATE"), 400, "'update'"),
]


@pytest.mark.parametrize(
    ("body", "status", "text"), [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
async def test_invalid_calls_are_rejected(
    http: httpx.AsyncClient, body: dict[str, Any], status: int, text: str
):
    r = await http.post("/api/v1/executor", json=body)
    assert (r.status_code, text in r.text) == (status, True), r.text


async def test_calls_for_unknown_or_unsubscribed_executors(
    master, agent: AgentServer, http: httpx.AsyncClient
):
    master.run_task("t5", executor=executor_info("E5", "exec sleep 30"))
    await master.eventually(lambda: bool(agent.agent.frameworks))
    r = await http.post("/api/v1/executor", json=call("HEARTBEAT", eid="other"))
    assert r.status_code == 400 and "Executor 'other'" in r.text
    status = {"task_id": {"value": "t5"}, "state": "TASK_RUNNING", "uuid": new_uuid()}
    r = await http.post(
        "/api/v1/executor", json=call("UPDATE", eid="E5", update={"status": status})
    )
    assert r.status_code == 403


async def test_bad_updates_from_a_subscribed_executor(
    master, agent: AgentServer, http: httpx.AsyncClient
):
    master.run_task("t6", executor=executor_info("E6", "exec sleep 30"))
    await master.eventually(lambda: bool(agent.agent.frameworks))
    sub = call("SUBSCRIBE", eid="E6", subscribe={})
    async with http.stream("POST", "/api/v1/executor", json=sub) as resp:
        assert resp.status_code == 200
        for status, text in [
            ({"task_id": {"value": "t6"}, "state": "TASK_RUNNING"}, "uuid"),
            ({"task_id": {"value": "t6"}, "state": "TASK_RUNNING", "uuid": "short"}, "16 bytes"),
            ({"task_id": {"value": "t6"}, "state": "TASK_STAGING", "uuid": new_uuid()}, "state"),
            ({"state": "TASK_RUNNING", "uuid": new_uuid()}, "task_id"),
            # an executor reports only on its own tasks
            (
                {"task_id": {"value": "ghost"}, "state": "TASK_FINISHED", "uuid": new_uuid()},
                "not a task of executor 'E6'",
            ),
        ]:
            body = call("UPDATE", eid="E6", update={"status": status})
            r = await http.post("/api/v1/executor", json=body)
            assert r.status_code == 400 and text in r.text, r.text


async def test_bad_resubscribe_keeps_the_current_stream(
    master, agent: AgentServer, http: httpx.AsyncClient
):
    master.run_task("t7", executor=executor_info("E7", "exec sleep 30"))
    await master.eventually(lambda: bool(agent.agent.frameworks))
    sub = call("SUBSCRIBE", eid="E7", subscribe={})
    async with http.stream("POST", "/api/v1/executor", json=sub) as resp:
        assert resp.status_code == 200
        ex = agent.agent.frameworks["FW1"].executors["E7"]
        current = ex.stream
        bad = call("SUBSCRIBE", eid="E7", subscribe={"unacknowledged_updates": 5})
        r = await http.post("/api/v1/executor", json=bad)
        assert r.status_code == 400 and "unacknowledged_updates" in r.text
        assert ex.stream is current


async def test_oversized_body_is_refused(http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(executor_api, "MAX_BODY", 1024)
    r = await http.post("/api/v1/executor", json=call("HEARTBEAT", pad="x" * 2000))
    assert r.status_code == 413


async def test_get_is_not_allowed(http: httpx.AsyncClient):
    assert (await http.get("/api/v1/executor")).status_code == 405


async def test_task_group_is_launched_as_one_launch_group(
    master, agent: AgentServer, http: httpx.AsyncClient
):
    tasks = [
        {"name": n, "task_id": {"value": n}, "agent_id": {"value": "FAKE-S0"}, "resources": []}
        for n in ("g1", "g2")
    ]
    group = {
        "framework_info": {"id": {"value": "FW1"}, "name": "fw", "user": "nobody"},
        "executor": executor_info("EG", "exec sleep 30"),
        "task_group": {"tasks": tasks},
    }
    master.send({"type": "RUN_TASK_GROUP", "run_task_group": group})
    await master.eventually(lambda: bool(agent.agent.frameworks))
    async with http.stream(
        "POST", "/api/v1/executor", json=call("SUBSCRIBE", "EG", subscribe={})
    ) as resp:
        events = EventReader(resp)
        assert (await events.next())["type"] == "SUBSCRIBED"
        launch = await events.next()
        assert launch["type"] == "LAUNCH_GROUP"
        ids = [t["task_id"]["value"] for t in launch["launch_group"]["task_group"]["tasks"]]
        assert ids == ["g1", "g2"]


async def test_executor_exit_fails_the_tasks_it_never_finished(
    master, agent: AgentServer, http: httpx.AsyncClient
):
    master.auto_ack = True
    master.run_task("t7", executor=executor_info("E7", "exec sleep 30"))
    await master.eventually(lambda: bool(agent.agent.frameworks))
    ex = agent.agent.frameworks["FW1"].executors["E7"]
    async with http.stream(
        "POST", "/api/v1/executor", json=call("SUBSCRIBE", "E7", subscribe={})
    ) as resp:
        events = EventReader(resp)
        assert (await events.next())["type"] == "SUBSCRIBED"
        assert (await events.next())["type"] == "LAUNCH"
        assert ex.container is not None
        os.kill(ex.container.pid, signal.SIGKILL)
        failed = await master.wait_for_update("t7", "TASK_FAILED")
    assert failed["reason"] == "REASON_EXECUTOR_TERMINATED"
    assert failed["source"] == "SOURCE_AGENT"
    # the two are separate calls to the master: the update may arrive first
    await master.eventually(lambda: bool(master.calls_of("EXECUTOR_EXITED")))
    exited = master.calls_of("EXECUTOR_EXITED")[0]["executor_exited"]
    assert exited["status"] == signal.SIGKILL
    await master.eventually(lambda: not agent.agent.frameworks)


async def test_shutdown_framework_stops_its_executors_and_tasks(
    master, agent: AgentServer, http: httpx.AsyncClient
):
    master.auto_ack = True
    master.run_task("cmd", "exec sleep 30")
    master.run_task("t8", executor=executor_info("E8", "exec sleep 30"))
    await master.wait_for_update("cmd", "TASK_RUNNING")
    pids = [
        ex.container.pid for ex in agent.agent.frameworks["FW1"].executors.values() if ex.container
    ]
    master.send(
        {"type": "SHUTDOWN_FRAMEWORK", "shutdown_framework": {"framework_id": {"value": "FW1"}}}
    )
    await master.wait_for_update("cmd", "TASK_KILLED")
    await master.eventually(lambda: not agent.agent.frameworks, timeout=5)
    assert list(agent.agent.updates.pending()) == []
    for pid in pids:
        await master.eventually(lambda pid=pid: not _alive(pid))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
