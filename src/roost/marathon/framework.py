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

from roost.cluster.scheduler import NotSubscribed, Scheduler, SchedulerDriver, SchedulerError
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
        self._interest_wanted: str | None = None
        self._interest_wake = asyncio.Event()
        self.removed = False
        """The master removed the framework for good (failover timeout passed)."""
        self._closed = False

    # -- ClusterPort -------------------------------------------------------------------------
    async def kill(self, task_id: str, agent_id: str) -> None:
        if self.driver is None or not self.driver.subscribed:
            raise NotSubscribed("not subscribed to the master yet")  # the kill is re-sent
        await self.driver.kill(task_id, agent_id or None)

    def want_offers(self, wanted: bool, *, revive: bool) -> None:
        """Record the latest interest; one worker sends REVIVE/SUPPRESS in order, so a
        SUPPRESS can never overtake the REVIVE that followed it."""
        if not wanted:
            self._interest_wanted = "SUPPRESS"
        elif revive:
            self._interest_wanted = "REVIVE"
        else:
            return
        if self._closed:
            return
        self._interest_wake.set()
        if self._interest is None or self._interest.done():
            self._interest = asyncio.create_task(self._interest_worker())

    async def _interest_worker(self) -> None:
        while True:
            await self._interest_wake.wait()
            self._interest_wake.clear()
            call, self._interest_wanted = self._interest_wanted, None
            driver = self.driver
            if call is None:
                continue
            if driver is None or not driver.subscribed:
                self.orc._offers_wanted = None  # not sent: the next round says it again
                continue
            try:
                await (driver.revive() if call == "REVIVE" else driver.suppress())
            except Exception as e:  # the worker must outlive any one failed call
                log.warning("offer interest call failed", extra=kv(call=call, error=str(e)))
                self.orc._offers_wanted = None  # unknown now: the next round says it again
                self.orc.offers_changed()

    async def aclose(self) -> None:
        self._closed = True
        if self._interest is not None:
            self._interest.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._interest
            self._interest = None

    # -- callbacks ---------------------------------------------------------------------------
    async def subscribed(
        self, driver: SchedulerDriver, framework_id: str, master_info: dict[str, Any]
    ) -> None:
        self.driver = driver
        self.orc.kills.reset()  # kills sent on an old subscription may be lost: send again
        self.orc._offers_wanted = None  # re-announce our interest on the new subscription
        if self.orc.framework_id != framework_id:
            self.orc.framework_id = framework_id
            await self.orc.repo.set_framework_id(framework_id)
        # ask the master about every task we may have started (Marathon's TaskReconciler)
        known = [(i.task_id, i.agent_id or None) for i in self.orc.state.all_instances()]
        if known:
            driver.reconcile_tasks(known)
        with contextlib.suppress(SchedulerError):
            await driver.reconcile([])  # implicit: tasks we forgot about are killed on sight
        self.orc._offers_wanted = None  # re-announce once subscribed (a round may have run)
        self.orc.offers_changed()
        self.orc._queue_grew = True
        self.registered.set()
        self.orc.poke()

    async def offers(self, driver: SchedulerDriver, offers: list[dict[str, Any]]) -> None:
        self.offers_processed += len(offers)
        try:
            async with self.orc.lock:
                result = await match_offers(self.orc, offers)
        except Exception:  # never leave offers outstanding: decline them all
            log.exception("matching offers failed")
            with contextlib.suppress(SchedulerError):
                await driver.decline(
                    [o["id"]["value"] for o in offers], refuse_seconds=self.decline_seconds
                )
            return
        failed: list[str] = []
        for oid, infos in result.launches.items():
            try:
                await driver.launch([oid], infos, refuse_seconds=self.decline_seconds)
                self.tasks_launched += len(infos)
            except SchedulerError as e:
                # the master will not run them: they are dropped (replaced after a delay)
                log.warning("launch failed", extra=kv(offer=oid, error=str(e)))
                failed.append(oid)
                await self.orc.launch_failed([i["task_id"]["value"] for i in infos], str(e))
        unused = result.unused() + failed
        if unused:
            self.offers_declined += len(unused)
            with contextlib.suppress(SchedulerError):
                await driver.decline(unused, refuse_seconds=self.decline_seconds)
        self.orc.poke()

    async def update(self, driver: SchedulerDriver, status: dict[str, Any]) -> None:
        await self.orc.on_status(status)

    async def error(self, driver: SchedulerDriver, message: str) -> None:
        log.error("master reported an error", extra=kv(message=message))
        if "removed" in message.lower():
            self.removed = True  # the server subscribes again as a new framework

    async def disconnected(self, driver: SchedulerDriver) -> None:
        log.warning("lost the master; re-subscribing")
