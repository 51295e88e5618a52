"""Offers: turning allocator decisions into OFFERS events, rescinds and ``--offer-timeout``.

One Offer per (agent, role) and one OFFERS event per framework per allocation run, as in
``Master::offer``. The allocation loop runs every ``--allocation-interval`` and at once
(coalesced) when the allocator asks for a run: new agent, new framework, REVIVE.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from roost.cluster.master.base import MasterBase
from roost.cluster.master.model import Offer
from roost.cluster.protocol import ref
from roost.core.aio import wait_event


class OfferHandling(MasterBase):
    async def allocation_loop(self) -> None:
        interval = self.config.allocation_interval
        while not self.stopping:
            await wait_event(self._alloc_wakeup, interval)
            self._alloc_wakeup.clear()
            if not self.stopping:
                self.run_allocation()

    def run_allocation(self) -> int:
        t0 = time.perf_counter()
        decisions = self.allocator.allocate()
        by_framework: dict[str, list[dict[str, Any]]] = {}
        now = self.clock.monotonic()
        for d in decisions:
            fw = self.frameworks.get(d.framework_id)
            agent = self.agents.get(d.agent_id)
            if fw is None or agent is None or not fw.connected:
                self.allocator.recover(d.framework_id, d.agent_id, d.resources, None)
                continue
            offer = Offer(
                self.new_offer_id(), fw.framework_id, agent.agent_id, d.role, d.resources, now
            )
            self.offers[offer.offer_id] = offer
            fw.offers[offer.offer_id] = offer
            agent.offers[offer.offer_id] = offer
            if self.config.offer_timeout is not None:
                oid = offer.offer_id
                offer.timer = asyncio.get_running_loop().call_later(
                    self.config.offer_timeout, self._offer_expired, oid
                )
            by_framework.setdefault(fw.framework_id, []).append(self.offer_json(offer))
        for fid, offers in by_framework.items():
            self.send_to_framework(
                self.frameworks[fid], {"type": "OFFERS", "offers": {"offers": offers}}
            )
        self.counters["allocation_runs"] += 1
        self.allocation_run_ms = (time.perf_counter() - t0) * 1000
        if decisions:
            self.changed()
        return len(decisions)

    def offer_json(self, offer: Offer) -> dict[str, Any]:
        agent = self.agents[offer.agent_id]
        executor_ids = sorted({k[1] for k in agent.executors if k[0] == offer.framework_id})
        return {
            "id": ref(offer.offer_id),
            "framework_id": ref(offer.framework_id),
            "agent_id": ref(offer.agent_id),
            "hostname": agent.hostname,
            "url": {
                "scheme": "http",
                "address": {"hostname": agent.hostname, "ip": agent.hostname, "port": agent.port},
                "path": "/slave(1)",
            },
            "resources": offer.resources.to_json(role=offer.role),
            "attributes": agent.attributes,
            "executor_ids": [ref(e) for e in executor_ids],
            "allocation_info": {"role": offer.role},
        }

    def _offer_expired(self, offer_id: str) -> None:
        offer = self.offers.get(offer_id)
        if offer is not None:
            self.remove_offer(offer, rescind=True, refuse_seconds=None)

    def forget_offer(self, offer: Offer) -> None:
        """Drop an offer from the books; its resources stay allocated to the framework."""
        self.offers.pop(offer.offer_id, None)
        if offer.timer is not None:
            offer.timer.cancel()
        fw = self.frameworks.get(offer.framework_id)
        if fw is not None:
            fw.offers.pop(offer.offer_id, None)
        agent = self.agents.get(offer.agent_id)
        if agent is not None:
            agent.offers.pop(offer.offer_id, None)

    def remove_offer(self, offer: Offer, rescind: bool, refuse_seconds: float | None) -> None:
        """Forget an offer and give its resources back (with a refuse filter if asked)."""
        self.offers.pop(offer.offer_id, None)
        if offer.timer is not None:
            offer.timer.cancel()
        fw = self.frameworks.get(offer.framework_id)
        agent = self.agents.get(offer.agent_id)
        if fw is not None:
            fw.offers.pop(offer.offer_id, None)
            if rescind:
                self.send_to_framework(
                    fw, {"type": "RESCIND", "rescind": {"offer_id": ref(offer.offer_id)}}
                )
        if agent is not None:
            agent.offers.pop(offer.offer_id, None)
            if agent.unreachable_time is None:
                self.allocator.recover(
                    offer.framework_id, offer.agent_id, offer.resources, refuse_seconds
                )
        self.changed()
