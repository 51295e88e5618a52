"""Placement: which instances of an app fit on a Mesos offer, with which resources and ports.

A pure layer (no I/O, no clock of its own) shaped like Nomad's scheduler stack: an offer is
read once (:func:`offer_view`), each instance runs through feasibility checkers cheapest first
(role, cpus, mem, disk, gpus, ports, constraints; :class:`Pipeline`), every rejection is a named
Marathon ``NoOfferMatchReason`` (:data:`REASONS`) counted by :class:`OfferStats` for
``/v2/queue``, and :func:`rank_offers` orders several offers with named scores.
:class:`ServicePortAllocator` assigns the service ports apps ask for with port 0.
"""

from roost.marathon.placement.app_spec import AppSpec, PortSpec
from roost.marathon.placement.checkers import Attempt, Checker, accepted_roles
from roost.marathon.placement.constraints import meets_constraint
from roost.marathon.placement.offer_view import (
    OfferedResource,
    OfferView,
    Peer,
    format_scalar,
    offer_view,
)
from roost.marathon.placement.pipeline import (
    DEFAULT_CHECKERS,
    DEFAULT_PIPELINE,
    Pipeline,
    Placement,
    TaskPlacement,
    place,
)
from roost.marathon.placement.ports import choose_host_ports
from roost.marathon.placement.ranking import (
    DEFAULT_RANKERS,
    BinPackRanker,
    RankedOffer,
    Ranker,
    SpreadRanker,
    rank_offers,
)
from roost.marathon.placement.reasons import REASONS
from roost.marathon.placement.service_ports import PortsExhausted, ServicePortAllocator
from roost.marathon.placement.stats import OfferStats, funnel

__all__ = [
    "DEFAULT_CHECKERS",
    "DEFAULT_PIPELINE",
    "DEFAULT_RANKERS",
    "REASONS",
    "AppSpec",
    "Attempt",
    "BinPackRanker",
    "Checker",
    "OfferStats",
    "OfferView",
    "OfferedResource",
    "Peer",
    "Pipeline",
    "Placement",
    "PortSpec",
    "PortsExhausted",
    "RankedOffer",
    "Ranker",
    "ServicePortAllocator",
    "SpreadRanker",
    "TaskPlacement",
    "accepted_roles",
    "choose_host_ports",
    "format_scalar",
    "funnel",
    "meets_constraint",
    "offer_view",
    "place",
    "rank_offers",
]
