"""A ready-made framework that runs one command task to completion (``roost run-task``).

It launches the task on the first offer that fits, declines every other offer with a long
refuse filter (so the allocator stops re-offering those agents), suppresses offers once the
task is launched and records each status of its task until a terminal one arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from roost.cluster.scheduler.calls import id_value
from roost.cluster.scheduler.scheduler import Scheduler
from roost.cluster.scheduler.tasks import TERMINAL_STATES, command_task, offer_fits

if TYPE_CHECKING:
    from roost.cluster.scheduler.driver import SchedulerDriver

#: How long declined agents are kept away (an hour: a one-shot framework needs one offer).
LONG_REFUSAL = 3600.0


class OneShotTask(Scheduler):
    def __init__(
        self,
        *,
        task_id: str,
        name: str,
        command: Sequence[str],
        resources: Mapping[str, float],
        shell: bool = True,
        env: Mapping[str, str] | None = None,
        refuse_seconds: float = LONG_REFUSAL,
        on_status: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.task_id = task_id
        self.name = name
        self.command = list(command)
        self.resources = dict(resources)
        self.shell = shell
        self.env = dict(env or {})
        self.refuse_seconds = refuse_seconds
        self.on_status = on_status
        self.offer: dict[str, Any] | None = None
        self.statuses: list[dict[str, Any]] = []
        self.final: dict[str, Any] | None = None
        self.error_message: str | None = None
        self.launched = asyncio.Event()
        self.done = asyncio.Event()

    async def offers(self, driver: SchedulerDriver, offers: list[dict[str, Any]]) -> None:
        declined: list[dict[str, Any]] = []
        for offer in offers:
            if self.offer is None and offer_fits(offer, **self.resources):
                self.offer = offer
                task = command_task(
                    offer,
                    task_id=self.task_id,
                    name=self.name,
                    command=self.command,
                    shell=self.shell,
                    env=self.env,
                    **self.resources,
                )
                await driver.launch([offer["id"]], [task], refuse_seconds=self.refuse_seconds)
                self.launched.set()
                await driver.suppress()
            else:
                declined.append(offer["id"])
        if declined:
            await driver.decline(declined, refuse_seconds=self.refuse_seconds)

    async def update(self, driver: SchedulerDriver, status: dict[str, Any]) -> None:
        if id_value(status.get("task_id")) != self.task_id or self.final is not None:
            return
        last = self.statuses[-1] if self.statuses else None
        if last is not None and last.get("state") == status.get("state"):
            if status.get("reason") == "REASON_RECONCILIATION":
                return  # a reconciliation echo of what we already know
        self.statuses.append(status)
        if self.on_status is not None:
            self.on_status(status)
        if status.get("state") in TERMINAL_STATES:
            self.final = status
            self.done.set()

    async def error(self, driver: SchedulerDriver, message: str) -> None:
        self.error_message = message
        self.done.set()

    @property
    def succeeded(self) -> bool:
        return self.final is not None and self.final.get("state") == "TASK_FINISHED"
