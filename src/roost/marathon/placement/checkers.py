"""Feasibility checkers: each looks at one instance on one offer and names why it cannot fit.

Like Nomad's ``FeasibilityChecker`` (``scheduler/feasible/feasible.go``), a checker answers one
question and returns a reason (a :mod:`~roost.marathon.placement.reasons` name) or None.
Resource checkers also claim what they checked, so a later checker sees what is left and the
launched task gets exactly what was checked. The pipeline runs them cheapest first and stops at
the first reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from roost.core.resources import ResourceError, to_millis
from roost.marathon.placement.app_spec import AppSpec
from roost.marathon.placement.offer_view import UNRESERVED, OfferView, Peer
from roost.marathon.placement.reasons import SCALAR_REASONS, UNFULFILLED_ROLE
from roost.marathon.placement.resource_pool import ResourcePool, Taken


@dataclass
class Attempt:
    """One instance being fitted onto one offer, and what it has claimed so far.

    ``roles`` are the resource roles the app accepts on this offer; ``pool`` holds the accepted
    entries still free; ``peers`` include the instances already placed on this offer.
    """

    app: AppSpec
    offer: OfferView
    peers: Sequence[Peer]
    roles: frozenset[str]
    pool: ResourcePool
    resources: list[dict[str, Any]] = field(default_factory=list)
    host_ports: tuple[int, ...] = ()

    def claim(self, taken: Taken) -> None:
        resources, pool = taken
        self.resources.extend(resources)
        self.pool = pool


class Checker(Protocol):
    """A named feasibility check; ``why`` says why it sits where it does in the pipeline."""

    @property
    def name(self) -> str: ...

    @property
    def why(self) -> str: ...

    def __call__(self, attempt: Attempt) -> str | None: ...


def accepted_roles(app: AppSpec, offer: OfferView) -> frozenset[str]:
    """The resource roles ``app`` may use on ``offer``.

    ``acceptedResourceRoles`` when given; otherwise unreserved resources (``*``) and those
    reserved for the role the offer was allocated to. Resources reserved for any other role are
    never used (Marathon's ``ResourceSelector``).
    """
    if app.accepted_resource_roles:
        return frozenset(app.accepted_resource_roles)
    if offer.allocation_role:
        return frozenset({UNRESERVED, offer.allocation_role})
    return frozenset({UNRESERVED})


@dataclass(frozen=True)
class RoleChecker:
    """``UnfulfilledRole`` when no resource of the offer has an accepted role, or when the app
    asks for a ``role`` and the offer was allocated to another one (Marathon 1.9+ only uses
    offers made to the app's role)."""

    name: str = "role"
    why: str = "first: without a usable resource nothing else matters, and it is a set lookup"

    def __call__(self, attempt: Attempt) -> str | None:
        allocation = attempt.offer.allocation_role
        if attempt.app.role and allocation and attempt.app.role != allocation:
            return UNFULFILLED_ROLE
        if not any(e.role in attempt.roles for e in attempt.offer.resources):
            return UNFULFILLED_ROLE
        return None


@dataclass(frozen=True)
class ScalarChecker:
    """Claims the app's ``cpus``/``mem``/``disk``/``gpus``; a zero request always fits, as in
    Marathon's ``ResourceMatcher`` (which skips scalars with ``requiredValue == 0``)."""

    resource: str
    why: str = "scalars are sums over a few entries: cheap, and the most common shortfall"

    @property
    def name(self) -> str:
        return self.resource

    def __call__(self, attempt: Attempt) -> str | None:
        try:
            wanted = to_millis(max(0.0, float(getattr(attempt.app, self.resource))))
        except ResourceError:  # more than any agent can have (or not a finite number)
            return SCALAR_REASONS[self.resource]
        taken = attempt.pool.take_scalar(self.resource, wanted)
        if taken is None:
            return SCALAR_REASONS[self.resource]
        attempt.claim(taken)
        return None
