"""SchedulerDriver against a real roost master and agent on loopback."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from roost.cluster.scheduler import Scheduler, SchedulerDriver
from roost.cluster.scheduler.calls import id_value
from roost.cluster.scheduler.tasks import command_task

from .scheduler_fakes import eventually

master_server = pytest.importorskip("roost.cluster.master.server")
agent_server = pytest.importorskip("roost.cluster.agent.server")
master_config = pytest.importorskip("roost.cluster.master.config")
agent_config = pytest.importorskip("roost.cluster.agent.config")

pytestmark = pytest.mark.slow

RESOURCES = "cpus:2;mem:1024;disk:1024;ports:[31000-31099]"


class Framework(Scheduler):
    """Keeps what the master sends, for the tests to look at."""

    def __init__(self) -> None:
        self.subscriptions: list[str] = []
        self.offer_queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.updates: list[dict[str, Any]] = []
        self.errors: list[str] = []

    async def subscribed(self, driver: SchedulerDriver, fid: str, info: dict[str, Any]) -> None:
        self.subscriptions.append(fid)

    async def offers(self, driver: SchedulerDriver, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            self.offer_queue.put_nowait(offer)

    async def update(self, driver: SchedulerDriver, status: dict[str, Any]) -> None:
        self.updates.append(status)

    async def error(self, driver: SchedulerDriver, message: str) -> None:
        self.errors.append(message)

    async def next_offer(self, within: float = 15.0) -> dict[str, Any]:
        async with asyncio.timeout(within):
            return await self.offer_queue.get()

    async def no_offer_for(self, seconds: float) -> bool:
        try:
            await self.next_offer(within=seconds)
        except TimeoutError:
            return True
        return False

    def of(self, task_id: str) -> list[dict[str, Any]]:
        return [u for u in self.updates if id_value(u.get("task_id")) == task_id]

    def states(self, task_id: str) -> list[str]:
        return [str(u["state"]) for u in self.of(task_id)]

    def reconciled(self, task_id: str) -> list[dict[str, Any]]:
        """The master's answers to RECONCILE, without the agent's (re-sent) updates."""
        return [u for u in self.of(task_id) if u.get("reason") == "REASON_RECONCILIATION"]

    async def wait_state(self, task_id: str, state: str, within: float = 20.0) -> None:
        await eventually(lambda: state in self.states(task_id), within=within)


@dataclass
class Cluster:
    master: Any
    agent: Any
    work: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.master.port}"


def _master(work: Path, port: int = 0) -> Any:
    config = master_config.MasterConfig(
        ip="127.0.0.1", port=port, work_dir=work / "master", allocation_interval=0.1
    )
    return master_server.MasterServer(config)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    master = _master(tmp_path)
    await master.start()
    agent = agent_server.AgentServer(
        agent_config.AgentConfig(
            master=f"127.0.0.1:{master.port}",
            work_dir=tmp_path / "agent",
            port=0,
            ip="127.0.0.1",
            hostname="127.0.0.1",
            resources=RESOURCES,
            status_update_retry_min=0.3,
            status_update_retry_max=1.0,
            reconnect_backoff_min=0.05,
            reconnect_backoff_max=0.5,
        )
    )
    await agent.start()
    c = Cluster(master, agent, tmp_path)
    yield c
    await agent.stop()
    await c.master.stop()


async def _subscribe(cluster: Cluster, **kwargs: Any) -> tuple[SchedulerDriver, Framework]:
    fw = Framework()
    info = {"name": "driver-it", "failover_timeout": 3600.0}
    driver = SchedulerDriver(cluster.address, info, fw, reconnect_backoff=(0.05, 0.5), **kwargs)
    await driver.start()
    async with asyncio.timeout(10):
        await driver.wait_subscribed()
    return driver, fw


@pytest.fixture
async def framework(cluster: Cluster) -> AsyncIterator[tuple[SchedulerDriver, Framework]]:
    driver, fw = await _subscribe(cluster)
    yield driver, fw
    await driver.stop()


async def _launch(
    driver: SchedulerDriver, fw: Framework, task_id: str, command: str
) -> dict[str, Any]:
    offer = await fw.next_offer()
    task = command_task(offer, task_id=task_id, name=task_id, command=[command], cpus=0.1, mem=32)
    await driver.launch([offer["id"]], [task], refuse_seconds=0)
    return offer


async def test_subscribe_gets_a_framework_id_and_offers(framework: Any) -> None:
    driver, fw = framework
    assert driver.framework_id and fw.subscriptions == [driver.framework_id]
    offer = await fw.next_offer()
    assert id_value(offer["framework_id"]) == driver.framework_id
    names = {r["name"] for r in offer["resources"]}
    assert {"cpus", "mem"} <= names


async def test_command_task_runs_to_finished_and_updates_are_acknowledged(
    framework: Any,
) -> None:
    driver, fw = framework
    await _launch(driver, fw, "echo-1", "echo hi")
    await fw.wait_state("echo-1", "TASK_FINISHED")
    states = fw.states("echo-1")
    assert states.index("TASK_STARTING") < states.index("TASK_RUNNING")
    assert states.index("TASK_RUNNING") < states.index("TASK_FINISHED")
    # The agent re-sends an update from 0.3 s (at most every 1 s) until it is acknowledged.
    # Delivery is at least once: on a loaded machine an acknowledgement may take longer than
    # 0.3 s and one re-send cross it. What the acknowledgements must do is stop the re-sends.
    await asyncio.sleep(1.5)
    settled = len(fw.of("echo-1"))
    await asyncio.sleep(2.5)  # past the longest retry period, twice
    assert len(fw.of("echo-1")) == settled
    uuids = [u["uuid"] for u in fw.of("echo-1") if "uuid" in u]
    assert len(set(uuids)) >= 3


async def test_without_acknowledgements_the_agent_keeps_resending(cluster: Cluster) -> None:
    driver, fw = await _subscribe(cluster, implicit_acknowledgements=False)
    try:
        await _launch(driver, fw, "echo-noack", "echo hi")
        await eventually(lambda: len(fw.of("echo-noack")) >= 3)
        first = fw.of("echo-noack")[0]
        assert all(u.get("uuid") == first["uuid"] for u in fw.of("echo-noack"))
        await driver.acknowledge(id_value(first["agent_id"]) or "", "echo-noack", first["uuid"])
        await eventually(lambda: len({u["uuid"] for u in fw.of("echo-noack")}) >= 2)
    finally:
        await driver.stop()


async def test_kill_ends_a_running_task(framework: Any) -> None:
    driver, fw = framework
    offer = await _launch(driver, fw, "sleeper", "sleep 60")
    await fw.wait_state("sleeper", "TASK_RUNNING")
    await driver.kill("sleeper", id_value(offer["agent_id"]))
    await fw.wait_state("sleeper", "TASK_KILLED")


async def test_a_failing_command_ends_failed(framework: Any) -> None:
    driver, fw = framework
    await _launch(driver, fw, "fails", "exit 3")
    await fw.wait_state("fails", "TASK_FAILED")


async def test_decline_with_refuse_seconds_holds_offers_back_until_revive(framework: Any) -> None:
    driver, fw = framework
    offer = await fw.next_offer()
    await driver.decline([offer["id"]], refuse_seconds=60)
    assert await fw.no_offer_for(1.0)
    await driver.revive()  # clears the filter
    again = await fw.next_offer(within=5)
    assert again["agent_id"] == offer["agent_id"]


async def test_a_short_refusal_expires(framework: Any) -> None:
    driver, fw = framework
    offer = await fw.next_offer()
    await driver.decline([offer["id"]], refuse_seconds=0.5)
    again = await fw.next_offer(within=5)
    assert again["id"] != offer["id"]


async def test_suppress_stops_offers_and_revive_brings_them_back(framework: Any) -> None:
    driver, fw = framework
    await driver.suppress()
    offer = await fw.next_offer()  # possibly sent before SUPPRESS arrived
    await driver.decline([offer["id"]], refuse_seconds=0)
    assert await fw.no_offer_for(1.0)
    await driver.revive()
    await fw.next_offer(within=5)


async def test_implicit_and_explicit_reconciliation(framework: Any) -> None:
    driver, fw = framework
    offer = await _launch(driver, fw, "long", "sleep 60")
    agent_id = id_value(offer["agent_id"])
    await fw.wait_state("long", "TASK_RUNNING")
    fw.updates.clear()

    # The RUNNING update's acknowledgement may cross a re-send (from 0.3 s), so the agent's
    # updates can still trickle in: look only at the master's reconciliation answers.
    await driver.reconcile([])
    await eventually(lambda: bool(fw.reconciled("long")))
    answer = fw.reconciled("long")[0]
    assert answer["state"] == "TASK_RUNNING"
    assert "uuid" not in answer

    fw.updates.clear()
    driver.reconcile_tasks([("long", agent_id), ("never-launched", agent_id)])
    await eventually(lambda: not driver.reconciling)
    # `reconciling` clears as the UPDATE is read off the stream; the update() callback runs
    # later, from the dispatch queue.
    await eventually(lambda: bool(fw.reconciled("long") and fw.of("never-launched")))
    assert [u["state"] for u in fw.reconciled("long")] == ["TASK_RUNNING"]
    assert fw.states("never-launched") == ["TASK_LOST"]
    assert fw.reconciled("never-launched") == fw.of("never-launched")


async def test_resubscribes_after_a_master_restart_with_the_same_framework_id(
    cluster: Cluster,
) -> None:
    driver, fw = await _subscribe(cluster)
    fid = driver.framework_id
    port = cluster.master.port
    await cluster.master.stop()
    await eventually(lambda: not driver.subscribed)
    cluster.master = _master(cluster.work, port)
    await cluster.master.start()
    await eventually(lambda: len(fw.subscriptions) == 2, within=15)
    assert fw.subscriptions == [fid, fid] and driver.framework_id == fid
    assert fw.errors == []
    await fw.next_offer()  # the framework is back in business
    await driver.stop()


async def _run_task_cli(*args: str) -> tuple[int, str, str]:
    """``roost run-task`` in a subprocess (through a wrapper until main.py registers it)."""
    from roost.cli.main import app

    names = {c.name for c in app.registered_commands}
    if "run-task" in names:
        argv = [sys.executable, "-m", "roost", "run-task", *args]
    else:
        wrapper = (
            "import typer; from roost.cli.run_task import run_task_command as c; "
            "app = typer.Typer(); app.callback()(lambda: None); "
            "app.command('run-task')(c); app()"
        )
        argv = [sys.executable, "-c", wrapper, "run-task", *args]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_run_task_cli_prints_finished_and_exits_0(cluster: Cluster) -> None:
    code, out, err = await _run_task_cli("--master", cluster.address, "--", "echo", "hi")
    assert code == 0, (out, err)
    assert "TASK_RUNNING" in out and "TASK_FINISHED" in out
    assert "launched" in out and "sandbox" in out
    assert "Waiting for an offer" in err


async def test_run_task_cli_exits_1_when_the_task_fails(cluster: Cluster) -> None:
    code, out, _ = await _run_task_cli("--master", cluster.address, "--env", "X=3", "--", "exit $X")
    assert code == 1
    assert "TASK_FAILED" in out


async def test_the_example_framework_runs_a_command(cluster: Cluster) -> None:
    script = Path(__file__).parents[3] / "examples" / "run_task.py"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        cluster.address,
        "echo hello",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "TASK_FINISHED" in out.decode()
