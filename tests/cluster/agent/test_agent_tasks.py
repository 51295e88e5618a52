"""Command tasks on a real agent driven by the fake master: updates, retries, acks, kills."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from roost.cluster.agent.server import AgentServer

SLEEP = "exec sleep 30"


def check_status(status: dict[str, Any], task_id: str, agent_id: str = "FAKE-S0") -> None:
    assert status["task_id"] == {"value": task_id}
    assert status["agent_id"] == {"value": agent_id}
    assert status["executor_id"] == {"value": task_id}
    assert status["source"] == "SOURCE_EXECUTOR"
    assert isinstance(status["timestamp"], float)
    assert len(base64.b64decode(status["uuid"])) == 16
    assert status["container_status"]["container_id"]["value"]


async def test_command_task_updates_are_retried_until_acked_and_sent_in_order(
    master, agent: AgentServer
):
    master.run_task("t1", "echo hello")
    starting = await master.wait_for_update("t1", "TASK_STARTING")
    check_status(starting, "t1")
    # Not acknowledged: STARTING is re-sent (retry_min 0.2 s) and nothing else goes out.
    await master.eventually(lambda: len(master.updates("t1")) >= 3)
    assert {s["uuid"] for s in master.updates("t1")} == {starting["uuid"]}
    master.ack(starting)
    running = await master.wait_for_update("t1", "TASK_RUNNING")
    check_status(running, "t1")
    await asyncio.sleep(0.3)
    assert master.states("t1") == ["TASK_STARTING", "TASK_RUNNING"]
    master.ack(running)
    finished = await master.wait_for_update("t1", "TASK_FINISHED")
    check_status(finished, "t1")
    assert len({starting["uuid"], running["uuid"], finished["uuid"]}) == 3
    master.ack(finished)
    await master.eventually(lambda: not agent.agent.frameworks)
    fw = agent.agent.completed_frameworks[-1]
    assert [t.state for ex in fw.completed_executors for t in ex.completed] == ["TASK_FINISHED"]
    count = len(master.updates("t1"))
    await asyncio.sleep(0.5)
    assert len(master.updates("t1")) == count  # acknowledged: no more retries


async def test_failing_command_reports_its_exit_status(master, agent: AgentServer):
    master.auto_ack = True
    master.run_task("bad", "exit 3")
    failed = await master.wait_for_update("bad", "TASK_FAILED")
    assert failed["message"] == "Command exited with status 3"
    assert failed["reason"] == "REASON_COMMAND_EXECUTOR_FAILED"
    assert master.states("bad") == ["TASK_STARTING", "TASK_RUNNING", "TASK_FAILED"]


async def test_kill_task_kills_the_process_group(master, agent: AgentServer):
    master.auto_ack = True
    master.run_task("long", SLEEP)
    await master.wait_for_update("long", "TASK_RUNNING")
    pid = next(iter(agent.agent.frameworks["FW1"].executors.values())).container.pid
    master.kill_task("long", kill_policy={"grace_period": {"nanoseconds": 500_000_000}})
    killed = await master.wait_for_update("long", "TASK_KILLED", timeout=3)
    assert killed["source"] == "SOURCE_EXECUTOR"
    await master.eventually(lambda: not _alive(pid))


async def test_kill_of_an_unknown_task_answers_task_lost(master, agent: AgentServer):
    master.auto_ack = True
    master.kill_task("ghost")
    lost = await master.wait_for_update("ghost", "TASK_LOST")
    assert lost["source"] == "SOURCE_AGENT"
    assert lost["reason"] == "REASON_TASK_UNKNOWN"


async def test_task_output_lands_in_its_sandbox(master, agent: AgentServer):
    master.auto_ack = True
    master.run_task("out", "echo to-stdout; echo to-stderr >&2; echo $MESOS_TASK_ID $MESOS_SANDBOX")
    await master.wait_for_update("out", "TASK_FINISHED")
    await master.eventually(lambda: bool(agent.agent.completed_frameworks))
    ex = agent.agent.completed_frameworks[-1].completed_executors[-1]
    assert ex.directory is not None
    assert ex.directory.is_relative_to(agent.config.work_dir / "slaves" / "FAKE-S0")
    lines = (ex.directory / "stdout").read_text().splitlines()
    assert lines == ["to-stdout", f"out {ex.directory}"]
    assert (ex.directory / "stderr").read_text() == "to-stderr\n"


async def test_fetch_failure_fails_the_task_as_a_launch_failure(master, agent: AgentServer):
    master.auto_ack = True
    uris = [{"value": "http://127.0.0.1:1/missing.tar.gz"}]
    master.run_task("nofetch", command={"value": "true", "uris": uris})
    failed = await master.wait_for_update("nofetch", "TASK_FAILED")
    assert failed["reason"] == "REASON_CONTAINER_LAUNCH_FAILED"
    assert failed["source"] == "SOURCE_AGENT"
    assert failed["message"]


async def test_duplicate_run_task_is_ignored(master, agent: AgentServer):
    master.auto_ack = True
    master.run_task("dup", SLEEP)
    await master.wait_for_update("dup", "TASK_RUNNING")
    master.run_task("dup", SLEEP)
    await asyncio.sleep(0.3)
    assert master.states("dup") == ["TASK_STARTING", "TASK_RUNNING"]


async def test_stop_leaves_no_process_behind(master, start_agent):
    master.auto_ack = True
    server = await start_agent()
    master.run_task("orphan", SLEEP)
    await master.wait_for_update("orphan", "TASK_RUNNING")
    pid = next(iter(server.agent.frameworks["FW1"].executors.values())).container.pid
    await server.stop()
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
