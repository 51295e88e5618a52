"""Placing an app's instances on one offer: the feasibility checkers as a pipeline.

STYLE "Scheduling is a pipeline" (Nomad ``scheduler/feasible/stack.go``): each instance runs
through the checkers, cheapest first; the first to object names the reason the offer could not
take (more of) the app, which ``/v2/queue`` reports. Marathon's ``ResourceMatcher`` instead
collects every failing reason and its statistics count the one earliest in
``NoOfferMatchReason.reasonFunnel``; roost stops at the first objection, so an offer short of
cpus that also breaks a constraint counts as ``InsufficientCpus``, not ``UnfulfilledConstraint``.

Instances are placed one after another: each consumes its resources and ports and becomes a
peer for the constraint checks of the next, as Marathon does when it matches one offer for
several instances of an app (``OfferMatcherManager`` re-offers what is left).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from roost.marathon.placement.app_spec import AppSpec
from roost.marathon.placement.checkers import (
    Attempt,
    Checker,
    RoleChecker,
    ScalarChecker,
    accepted_roles,
)
from roost.marathon.placement.constraints import ConstraintsChecker
from roost.marathon.placement.offer_view import OfferView, Peer, offer_view
from roost.marathon.placement.ports import PortsChecker
from roost.marathon.placement.resource_pool import ResourcePool


@dataclass(frozen=True)
class TaskPlacement:
    """One instance fitted on the offer.

    ``host_ports`` has one port per ``portDefinitions`` entry, in order. ``resources`` is the
    Mesos ``Resource`` JSON for ``TaskInfo.resources``: cpus, mem, disk (if > 0), gpus (if > 0)
    and the ports ranges, split by the offer entries they came from and keeping their role,
    reservations and ``allocation_info``.
    """

    host_ports: tuple[int, ...]
    resources: list[dict[str, Any]]


@dataclass
class Placement:
    """What fitted on one offer; ``reason`` says why fewer than wanted did (None when all did)."""

    placements: list[TaskPlacement]
    reason: str | None


DEFAULT_CHECKERS: tuple[Checker, ...] = (
    RoleChecker(),
    ScalarChecker("cpus"),
    ScalarChecker("mem"),
    ScalarChecker("disk"),
    ScalarChecker("gpus"),
    PortsChecker(),
    ConstraintsChecker(),
)


@dataclass(frozen=True)
class Pipeline:
    """An ordered tuple of checkers, edited by name like a Finagle stack."""

    checkers: tuple[Checker, ...] = DEFAULT_CHECKERS

    def describe(self) -> list[dict[str, str]]:
        """Each checker's name and why it sits where it does, in order."""
        return [{"name": c.name, "why": c.why} for c in self.checkers]

    def replace(self, name: str, checker: Checker) -> Pipeline:
        self._index(name)
        return Pipeline(tuple(checker if c.name == name else c for c in self.checkers))

    def remove(self, name: str) -> Pipeline:
        self._index(name)
        return Pipeline(tuple(c for c in self.checkers if c.name != name))

    def insert_before(self, name: str, checker: Checker) -> Pipeline:
        i = self._index(name)
        return Pipeline((*self.checkers[:i], checker, *self.checkers[i:]))

    def place(
        self, offer: OfferView, app: AppSpec, peers: Sequence[Peer], wanted: int
    ) -> Placement:
        """Fit up to ``wanted`` instances of ``app`` on ``offer``, one after another."""
        roles = accepted_roles(app, offer)
        pool = ResourcePool.of(e for e in offer.resources if e.role in roles)
        placed_peers = list(peers)
        out = Placement([], None)
        for _ in range(max(0, wanted)):
            attempt = Attempt(app, offer, placed_peers, roles, pool)
            reason = self._run(attempt)
            if reason is not None:
                out.reason = reason
                break
            out.placements.append(TaskPlacement(attempt.host_ports, attempt.resources))
            pool = attempt.pool
            placed_peers.append(offer.as_peer())
        return out

    def _run(self, attempt: Attempt) -> str | None:
        for checker in self.checkers:
            reason = checker(attempt)
            if reason is not None:
                return reason
        return None

    def _index(self, name: str) -> int:
        for i, c in enumerate(self.checkers):
            if c.name == name:
                return i
        raise KeyError(f"no checker named {name!r} (have {[c.name for c in self.checkers]})")


DEFAULT_PIPELINE = Pipeline()


def place(
    offer: Mapping[str, Any],
    app: AppSpec,
    peers: Sequence[Peer],
    wanted: int,
    *,
    pipeline: Pipeline = DEFAULT_PIPELINE,
) -> Placement:
    """Place up to ``wanted`` instances of ``app`` on one Mesos v1 offer (JSON)."""
    return pipeline.place(offer_view(offer), app, peers, wanted)
