"""``roost.testing.LocalCluster``: real master and agents in-process, with fault injection,
driven by the scheduler driver."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from roost.cluster.scheduler import Scheduler, SchedulerDriver, command_task
from roost.testing.local_cluster import LocalCluster


class Recorder(Scheduler):
    def __init__(self) -> None:
        self.offers_seen: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.states: dict[str, list[str]] = {}
        self.failures: list[str | None] = []
        self.changed = asyncio.Event()

    async def offers(self, driver: SchedulerDriver, offers: list[dict[str, Any]]) -> None:
        for o in offers:
            self.offers_seen.put_nowait(o)

    async def update(self, driver: SchedulerDriver, status: dict[str, Any]) -> None:
        self.states.setdefault(status["task_id"]["value"], []).append(status["state"])
        self.changed.set()

    async def failure(
        self,
        driver: SchedulerDriver,
        agent_id: str | None,
        executor_id: str | None,
        status: int | None,
    ) -> None:
        self.failures.append(agent_id)
        self.changed.set()

    async def wait_state(self, task_id: str, state: str, timeout: float = 15) -> None:
        async with asyncio.timeout(timeout):
            while state not in self.states.get(task_id, []):
                self.changed.clear()
                await self.changed.wait()


async def test_two_agents_run_tasks_and_a_stopped_agent_is_reported(tmp_path: Path) -> None:
    async with LocalCluster(tmp_path, agents=2) as cluster:
        rec = Recorder()
        driver = SchedulerDriver(cluster.master_address, {"user": "t", "name": "local"}, rec)
        await driver.start()
        try:
            hosts = set()
            for i in range(2):
                offer = await asyncio.wait_for(rec.offers_seen.get(), 10)
                hosts.add(offer["agent_id"]["value"])
                task = command_task(
                    offer, task_id=f"t{i}", name="t", command=["sleep 30"], cpus=0.1, mem=32
                )
                await driver.launch([offer["id"]], [task])
            assert len(hosts) == 2, "each agent got an offer"
            await rec.wait_state("t0", "TASK_RUNNING")
            await rec.wait_state("t1", "TASK_RUNNING")
            stopped = cluster.agents[0]
            assert stopped is not None
            stopped_id = stopped.agent_id
            await cluster.stop_agent(0)
            # Stopping kills its task; once the agent misses its pings the master says so.
            async with asyncio.timeout(15):
                while stopped_id not in rec.failures:
                    rec.changed.clear()
                    await rec.changed.wait()
            assert cluster.master is not None and cluster.master.master is not None
            assert cluster.master.master.agents[stopped_id or ""].unreachable_time is not None
            back = await cluster.start_agent(0)
            assert back.agent_id == stopped_id
        finally:
            await driver.stop()
