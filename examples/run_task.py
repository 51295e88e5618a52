"""Run one shell command on a roost (or Mesos) cluster with roost's scheduler driver.

    python examples/run_task.py 127.0.0.1:5050 'echo hello from roost'

The framework subscribes, launches the command on the first offer with room for it,
declines every other offer, prints each state change and tears itself down at the end.
``roost run-task`` is the full-featured version of this script.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

from roost.cluster.scheduler import Scheduler, SchedulerDriver
from roost.cluster.scheduler.tasks import TERMINAL_STATES, command_task, offer_fits


class RunOnce(Scheduler):
    def __init__(self, command: str) -> None:
        self.command = command
        self.task_id = f"example.{uuid.uuid4().hex[:8]}"
        self.launched = False
        self.final_state: str | None = None
        self.done = asyncio.Event()

    async def subscribed(
        self, driver: SchedulerDriver, framework_id: str, master_info: dict[str, Any]
    ) -> None:
        print(f"subscribed as framework {framework_id}")

    async def offers(self, driver: SchedulerDriver, offers: list[dict[str, Any]]) -> None:
        for offer in offers:
            if not self.launched and offer_fits(offer, cpus=0.1, mem=32):
                task = command_task(
                    offer,
                    task_id=self.task_id,
                    name="example",
                    command=[self.command],
                    cpus=0.1,
                    mem=32,
                )
                await driver.launch([offer["id"]], [task])
                self.launched = True
            else:
                # Keep this agent's resources away for an hour: we need nothing more.
                await driver.decline([offer["id"]], refuse_seconds=3600)

    async def update(self, driver: SchedulerDriver, status: dict[str, Any]) -> None:
        # Returning from update() acknowledges the status (implicit acknowledgements).
        print(status["state"], status.get("message", ""))
        if status["state"] in TERMINAL_STATES:
            self.final_state = status["state"]
            self.done.set()


async def main(master: str, command: str) -> int:
    scheduler = RunOnce(command)
    driver = SchedulerDriver(master, {"name": "example-run-task"}, scheduler)
    await driver.start()
    try:
        await scheduler.done.wait()
    finally:
        await driver.stop()  # TEARDOWN: the master forgets the framework
    return 0 if scheduler.final_state == "TASK_FINISHED" else 1


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python examples/run_task.py HOST:PORT COMMAND...")
    sys.exit(asyncio.run(main(sys.argv[1], " ".join(sys.argv[2:]))))
