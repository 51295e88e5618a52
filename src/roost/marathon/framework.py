"""roost's Marathon as a framework of the master, over the v1 scheduler API only.

Offer etiquette (Marathon's ``OfferProcessor`` and ``ReviveOffersActor``): offers nobody
needs are declined with a long refuse filter (``decline_offer_duration``, 120 s); when work
appears the framework REVIVEs (clearing those filters), and when nothing is queued it
SUPPRESSes — so an idle Marathon costs the master nothing and nothing loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from roost.cluster.scheduler import Scheduler, SchedulerDriver, SchedulerError
from roost.core.logs import kv
from roost.marathon.matching import match_offers
from roost.marathon.orchestrator import Orchestrator

log = logging.getLogger(__name__)

DECLINE_OFFER_SECONDS = 120.0


class MarathonScheduler(Scheduler):
    """Scheduler callbacks, and the :class:`~roost.marathon.orchestrator.ClusterPort`."""

    def __init__(self, orc: Orchestrator, *, decline_seconds: float = DECLINE_OFFER_SECONDS):
        self.orc = orc
        self.decline_seconds = decline_seconds
        self.driver: SchedulerDriver | None = None
        self.registered = asyncio.Event()
        self.offers_processed = 0
        self.offers_declined = 0
        self.tasks_launched = 0
        self._interest: asyncio.Task[None] | None = None

    # -- ClusterPort -------------------------------------------------------------------------
    async def kill(self, task_id: str, agent_id: str) -> None:
        if self.driver is None or not self.driver.subscribed:
            return  # reconciliation after re-subscribing brings the task back to us
        await self.driver.kill(task_id, agent_id or None)

    def want_offers(self, wanted: bool, *, revive: bool) -> None:
        if self.driver is None or not self.driver.subscribed:
            return
        call = self.driver.revive() if (wanted and revive) else None
        if not wanted:
            call = self.driver.suppress()
        if call is None:
            return
        task = asyncio.create_task(call)
        task.add_done_callback(_log_failure)

    # -- callbacks ---------------------------------------------------------------------------
    async def subscribed(
        self, driver: SchedulerDriver, framework_id: str, master_info: dict[str, Any]
    ) -> None:
        self.driver = driver
        if self.orc.framework_id != framework_id:
            self.orc.framework_id = framework_id
            await self.orc.repo.set_framework_id(framework_id)
        # ask the master about every task we may have started (Marathon's TaskReconciler)
        known = [(i.task_id, i.agent_id or None) for i in self.orc.state.all_instances()]
        if known:
            driver.reconcile_tasks(known)
        with contextlib.suppress(SchedulerError):
            await driver.reconcile([])  # implicit: tasks we forgot about are killed on sight
        self.orc._offers_wanted = None  # re-announce our interest on the new subscription
        self.orc._queue_grew = True
        self.registered.set()
        self.orc.poke()

    async def offers(self, driver: SchedulerDriver, offers: list[dict[str, Any]]) -> None:
        self.offers_processed += len(offers)
        async with self.orc.lock:
            result = await match_offers(self.orc, offers)
        for oid, infos in result.launches.items():
            try:
                await driver.launch([oid], infos, refuse_seconds=self.decline_seconds)
                self.tasks_launched += len(infos)
            except SchedulerError as e:
                # the master will not run them: report them lost so they are replaced
                log.warning("launch failed", extra=kv(offer=oid, error=str(e)))
                for info in infos:
                    await self.orc.on_status(
                        {
                            "task_id": info["task_id"],
                            "state": "TASK_DROPPED",
                            "message": f"launch failed: {e}",
                        }
                    )
        unused = result.unused()
        if unused:
            self.offers_declined += len(unused)
            with contextlib.suppress(SchedulerError):
                await driver.decline(unused, refuse_seconds=self.decline_seconds)
        self.orc.poke()

    async def update(self, driver: SchedulerDriver, status: dict[str, Any]) -> None:
        await self.orc.on_status(status)

    async def error(self, driver: SchedulerDriver, message: str) -> None:
        log.error("master reported an error", extra=kv(message=message))

    async def disconnected(self, driver: SchedulerDriver) -> None:
        log.warning("lost the master; re-subscribing")


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("offer interest call failed", extra=kv(error=str(task.exception())))
