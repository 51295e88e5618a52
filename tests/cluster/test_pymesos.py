"""Unmodified pymesos 0.3.15 frameworks against real ``roost master`` and ``roost agent``
processes: the scheduler flow of the reference and a pymesos executor run by the agent."""

from __future__ import annotations

import getpass
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from addict import Dict  # installed by ./scripts/test, with pymesos
from pymesos import MesosSchedulerDriver, Scheduler

from roost.testing.processes import RoostProcess, agent_process, master_process, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[RoostProcess, RoostProcess]]:
    master = master_process(tmp_path / "m", "--allocation-interval", "0.1").start()
    agent = agent_process(master.address, tmp_path / "a", "--resources", "cpus:2;mem:2048").start()
    wait_until(lambda: master.get("/metrics/snapshot").json()["master/slaves_active"] == 1)
    yield master, agent
    agent.terminate()
    master.terminate()


def framework(name: str) -> Dict:
    f = Dict()
    f.user = getpass.getuser()
    f.name = name
    f.hostname = "127.0.0.1"
    return f


def scalar(name: str, value: float) -> Dict:
    r = Dict()
    r.name = name
    r.type = "SCALAR"
    r.scalar.value = value
    return r


class ThreeTasks(Scheduler):  # type: ignore[misc]
    def __init__(self, executor: dict[str, Any] | None = None, count: int = 3) -> None:
        self.executor = executor
        self.count = count
        self.launched = 0
        self.states: dict[str, list[str]] = {}
        self.done = threading.Event()
        self.errors: list[str] = []

    def resourceOffers(self, driver: Any, offers: list[Any]) -> None:
        for offer in offers:
            if self.launched >= self.count:
                driver.declineOffer(offer.id, Dict(refuse_seconds=60))
                continue
            tasks = []
            while self.launched < self.count:
                t = Dict()
                t.task_id.value = f"task-{self.launched}"
                t.agent_id.value = offer.agent_id.value
                t.name = f"task {self.launched}"
                t.resources = [scalar("cpus", 0.1), scalar("mem", 32)]
                if self.executor is not None:
                    t.executor = Dict(self.executor)
                else:
                    t.command.value = f"echo hello from {self.launched}; exit 0"
                tasks.append(t)
                self.launched += 1
            driver.launchTasks(offer.id, tasks)

    def statusUpdate(self, driver: Any, update: Any) -> None:
        self.states.setdefault(update.task_id.value, []).append(update.state)
        finished = [t for t, s in self.states.items() if s[-1] == "TASK_FINISHED"]
        if len(finished) == self.count:
            self.done.set()

    def error(self, driver: Any, message: str) -> None:
        self.errors.append(message)


def run_framework(
    master: RoostProcess,
    sched: ThreeTasks,
    name: str,
    before_stop: Callable[[str], None] | None = None,
) -> str:
    """Run ``sched`` until its tasks finish; ``before_stop(framework_id)`` runs while the
    framework is still subscribed, before ``driver.stop()`` tears it down."""
    driver = MesosSchedulerDriver(sched, framework(name), master.address, use_addict=True)
    driver.start()
    try:
        assert sched.done.wait(60), f"tasks did not finish: {sched.states} errors={sched.errors}"
        fid = str(driver.framework_id)
        if before_stop is not None:
            before_stop(fid)
    finally:
        driver.stop()
        driver.join()
    return fid


def test_pymesos_scheduler_runs_three_command_tasks(
    cluster: tuple[RoostProcess, RoostProcess],
) -> None:
    master, agent = cluster
    sched = ThreeTasks()
    seen: dict[str, Any] = {}

    def acknowledged(fid: str) -> None:
        # The master moves a task to completed_tasks only when the framework's ACKNOWLEDGE
        # of its terminal (FINISHED) update arrives. The framework is still subscribed here,
        # so nothing else (no TEARDOWN) can have completed the tasks.
        def done() -> bool:
            fws = master.get(f"/master/frameworks?framework_id={fid}").json()["frameworks"]
            if len(fws) != 1:
                return False
            seen["framework"] = fw = fws[0]
            states = sorted(t["state"] for t in fw["completed_tasks"])
            return bool(fw["active"]) and fw["tasks"] == [] and states == ["TASK_FINISHED"] * 3

        try:
            wait_until(done, timeout=10)
        except TimeoutError:
            fw = seen.get("framework", {})
            raise AssertionError(
                "pymesos' acknowledgements did not complete the tasks on the master: "
                f"tasks={[(t['id'], t['state']) for t in fw.get('tasks', [])]} "
                f"completed={[(t['id'], t['state']) for t in fw.get('completed_tasks', [])]}"
            ) from None

    run_framework(master, sched, "pymesos-three", before_stop=acknowledged)
    for states in sched.states.values():
        assert states[-1] == "TASK_FINISHED"
        assert "TASK_RUNNING" in states
    fw = seen["framework"]
    assert sorted(t["id"] for t in fw["completed_tasks"]) == ["task-0", "task-1", "task-2"]
    # The task's stdout is in its sandbox on the agent.
    executors = agent.get("/state").json()
    directories = [
        e["directory"]
        for f in executors["frameworks"] + executors["completed_frameworks"]
        for e in f["executors"] + f["completed_executors"]
    ]
    assert directories
    outputs = [
        agent.get(f"/files/read?path={d}/stdout&offset=0").json()["data"] for d in directories
    ]
    assert any("hello from" in o for o in outputs)


def test_pymesos_executor_is_launched_and_reports(
    cluster: tuple[RoostProcess, RoostProcess], tmp_path: Path
) -> None:
    master, _ = cluster
    script = tmp_path / "executor.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, threading, time
            from addict import Dict
            from pymesos import MesosExecutorDriver, Executor

            class E(Executor):
                def launchTask(self, driver, task):
                    def run():
                        for state in ("TASK_RUNNING", "TASK_FINISHED"):
                            u = Dict()
                            u.task_id.value = task.task_id.value
                            u.state = state
                            u.message = "from pymesos executor"
                            driver.sendStatusUpdate(u)
                            time.sleep(0.05)
                    threading.Thread(target=run).start()

            MesosExecutorDriver(E(), use_addict=True).run()
            """
        )
    )
    executor = {
        "executor_id": {"value": "pyexec"},
        "name": "pymesos executor",
        "command": {"value": f"{sys.executable} {script}"},
        "resources": [scalar("cpus", 0.1), scalar("mem", 32)],
    }
    sched = ThreeTasks(executor=executor, count=2)
    run_framework(master, sched, "pymesos-executor")
    for states in sched.states.values():
        assert states[-2:] == ["TASK_RUNNING", "TASK_FINISHED"]
