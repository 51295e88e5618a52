"""Matching offers to the launch queue (Marathon's ``OfferMatcherManager``).

For every launchable queue entry (oldest first), the offers are ranked for that app and the
app's instances placed on them one offer at a time; what an app takes is subtracted from the
offer before the next app looks at it. Each instance is stored before its TaskInfo is handed
back. Every processed offer is recorded in the entry's offer statistics, with the reason when
it was of no use (``/v2/queue`` ``processedOffersSummary``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from roost.core.logs import kv
from roost.core.resources import ResourceError, Resources
from roost.marathon.appdef import AppDefinition
from roost.marathon.deployment.decisions import config_version
from roost.marathon.instances import Instance
from roost.marathon.launch_queue import QueueEntry
from roost.marathon.launcher import task_info
from roost.marathon.placement import Peer, offer_view, place, rank_offers
from roost.marathon.task_ids import new_task_id

if TYPE_CHECKING:
    from roost.marathon.orchestrator import Orchestrator


log = logging.getLogger(__name__)


@dataclass
class MatchResult:
    launches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """offer id -> TaskInfos to launch on it."""
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """offer id -> the original offer (to find its agent)."""

    def unused(self) -> list[str]:
        return [oid for oid in self.offers if not self.launches.get(oid)]


def _offer_id(offer: Mapping[str, Any]) -> str:
    v = offer.get("id")
    return str(v.get("value")) if isinstance(v, Mapping) else ""


def _remaining(offer: dict[str, Any], used: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        left = Resources.from_json(offer.get("resources", [])) - Resources.from_json(used)
    except ResourceError:
        return {**offer, "resources": []}
    role = (offer.get("allocation_info") or {}).get("role")
    return {**offer, "resources": left.to_json(role=role)}


def peers_of(orc: Orchestrator, app_id: str) -> list[Peer]:
    return [
        Peer(hostname=i.host, attributes=orc.agent_attributes.get(i.agent_id, {}))
        for i in orc.state.instances_of(app_id)
        if i.active
    ]


async def match_offers(orc: Orchestrator, offers: list[dict[str, Any]]) -> MatchResult:
    result = MatchResult()
    current: dict[str, dict[str, Any]] = {}
    for offer in offers:
        oid = _offer_id(offer)
        result.offers[oid] = offer
        current[oid] = offer
        view = offer_view(offer)
        orc.agent_attributes[view.agent_id] = dict(view.attributes)
    wall = orc.clock.time()
    for entry in orc.queue.launchable(orc.now()):
        app = orc.state.apps.get(entry.app_id)
        if app is None:
            orc.queue.forget(entry.app_id)
            continue
        try:
            await _match_app(orc, app, entry, current, result, wall)
        except Exception:  # one app's failure must not cost the others their launches
            log.exception("matching offers for an app failed", extra=kv(app=app.id))
    return result


async def _match_app(
    orc: Orchestrator,
    app: AppDefinition,
    entry: QueueEntry,
    current: dict[str, dict[str, Any]],
    result: MatchResult,
    wall: float,
) -> None:
    peers = peers_of(orc, app.id)
    for ranked in rank_offers(list(current.values()), app, peers):
        if orc.queue.count(app.id) <= 0:
            break
        offer = dict(ranked.offer)
        oid = _offer_id(offer)
        view = offer_view(offer)
        placement = place(offer, app, peers, orc.queue.count(app.id))
        if placement.placements:
            entry.stats.record(None, wall, agent_id=view.agent_id)
        if placement.reason is not None:
            # what is left of the offer was refused too: say why (queue summary)
            entry.stats.record(placement.reason, wall, agent_id=view.agent_id)
        if not placement.placements:
            continue
        used: list[dict[str, Any]] = []
        for p in placement.placements:
            task_id = new_task_id(app.id)
            info = task_info(
                app, task_id=task_id, agent_id=view.agent_id, host=view.hostname, placement=p
            )
            inst = Instance(
                task_id=task_id,
                app_id=app.id,
                version=app.version or "",
                config_version=config_version(app),
                agent_id=view.agent_id,
                host=view.hostname,
                host_ports=list(p.host_ports),
                service_ports=[pd.port for pd in app.port_definitions],
                staged_at=wall,
            )
            await orc.add_instance(inst)  # stored before the launch goes out
            orc.queue.remove(app.id, 1)
            result.launches.setdefault(oid, []).append(info)
            used.extend(p.resources)
            peers.append(Peer(hostname=view.hostname, attributes=view.attributes))
        current[oid] = _remaining(offer, used)
