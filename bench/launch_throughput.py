"""End-to-end launch throughput: ACCEPT -> TASK_RUNNING acknowledged, on one local agent.

Starts real ``roost master`` and ``roost agent`` processes, subscribes a framework with
``roost.cluster.scheduler.SchedulerDriver`` (automatic acknowledgements), launches N trivial
command tasks (``true``) as fast as offers allow and times until every task has reported
TASK_RUNNING. In the same run it times a bare loop that spawns and reaps N ``/bin/sh -c true``
processes with ``subprocess`` — the floor any process-per-task system pays on this machine.

    python bench/launch_throughput.py --tasks 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from roost.cluster.scheduler import Scheduler, SchedulerDriver, SchedulerError, command_task
from roost.testing.processes import agent_process, master_process, wait_until


class Launcher(Scheduler):
    def __init__(self, total: int) -> None:
        self.total = total
        self.launched = 0
        self.accept_at: dict[str, float] = {}
        self.running_at: dict[str, float] = {}
        self.all_running = asyncio.Event()
        self.first_accept = 0.0

    async def offers(self, driver: SchedulerDriver, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            batch = []
            while self.launched < self.total and len(batch) < 1000:
                tid = f"t{self.launched}"
                batch.append(
                    command_task(offer, task_id=tid, name=tid, command=["true"], cpus=0.01, mem=1)
                )
                self.launched += 1
            if not batch:
                with contextlib.suppress(SchedulerError):  # the round may be tearing down
                    await driver.decline([offer["id"]], refuse_seconds=3600)
                continue
            now = time.perf_counter()
            self.first_accept = self.first_accept or now
            for t in batch:
                self.accept_at[t["task_id"]["value"]] = now
            await driver.launch([offer["id"]], batch, refuse_seconds=0)

    async def update(self, driver: SchedulerDriver, status: dict[str, Any]) -> None:
        tid = status["task_id"]["value"]
        if status["state"] == "TASK_RUNNING" and tid not in self.running_at:
            self.running_at[tid] = time.perf_counter()
            if len(self.running_at) == self.total:
                self.all_running.set()


async def roost_run(master: str, tasks: int) -> tuple[float, list[float]]:
    sched = Launcher(tasks)
    driver = SchedulerDriver(master, {"user": "bench", "name": "launch-bench"}, sched)
    await driver.start()
    try:
        await asyncio.wait_for(sched.all_running.wait(), 300)
    finally:
        await driver.stop()
    end = max(sched.running_at.values())
    lat = [(sched.running_at[t] - sched.accept_at[t]) * 1000 for t in sched.running_at]
    return tasks / (end - sched.first_accept), lat


def bare_spawn(tasks: int) -> float:
    t0 = time.perf_counter()
    for _ in range(tasks):
        subprocess.Popen(["/bin/sh", "-c", "true"], start_new_session=True).wait()
    return tasks / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=300)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="roost-launch-"))
    master = master_process(work / "m", "--allocation-interval", "0.1").start()
    agent = agent_process(
        master.address,
        work / "a",
        "--resources",
        "cpus:64;mem:65536;disk:10000",
        "--cgroups",
        "off",
    ).start()
    try:
        wait_until(lambda: master.get("/metrics/snapshot").json()["master/slaves_active"] == 1)
        roost_rates, bare_rates, lats = [], [], []
        for _ in range(args.rounds):
            rate, lat = asyncio.run(roost_run(master.address, args.tasks))
            roost_rates.append(rate)
            lats.extend(lat)
            bare_rates.append(bare_spawn(args.tasks))
        lats.sort()
        r, b = statistics.median(roost_rates), statistics.median(bare_rates)
        print(f"machine: {os.cpu_count()} cores; {args.tasks} tasks x {args.rounds} rounds")
        print(
            f"roost ACCEPT->RUNNING: median {r:.0f} tasks/s  (rounds: {', '.join(f'{x:.0f}' for x in roost_rates)})"
        )
        print(f"bare subprocess spawn+wait loop: median {b:.0f} procs/s")
        print(f"ratio roost / bare: {r / b:.2f}")
        print(
            f"per-task ACCEPT->RUNNING latency: p50 {lats[len(lats) // 2]:.0f} ms  p99 {lats[int(len(lats) * 0.99) - 1]:.0f} ms"
        )
    finally:
        agent.terminate()
        master.terminate()


if __name__ == "__main__":
    main()
