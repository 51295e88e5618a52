"""What a balancer knows about one endpoint: a :class:`Node`, and a :class:`Lease` per request.

A node's ``status`` comes from its source (the endpoint's service factory, so failure accrual
marking it dead shows up as BUSY); a node without a source has a status of its own that
simulations and tests set. ``pending`` counts leases not yet released.

Weights scale the load: a balancer compares ``cost() = load() / weight``, so under least
loaded a node of weight 2 carries about twice the outstanding requests of a node of
weight 1 before it looks as busy (and, at equal latency, gets twice the traffic). A node of
weight 0 costs infinity: it is picked only when every candidate does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

from roost.core.clock import Clock
from roost.rpc.endpoints import Endpoint
from roost.rpc.service import Status


class HasStatus(Protocol):
    """Anything with a status: a ServiceFactory, a Service, a test double."""

    @property
    def status(self) -> Status: ...


class Node:
    """One endpoint in a balancer; ``load()`` is the outstanding requests (least loaded)."""

    def __init__(self, endpoint: Endpoint, clock: Clock, source: HasStatus | None = None) -> None:
        self.endpoint = endpoint
        self.clock = clock
        self.source = source
        self.pending = 0
        """Requests started and not yet released."""
        self.requests = 0
        """Requests started in total."""
        self._status = Status.OPEN

    @property
    def address(self) -> str:
        return self.endpoint.address

    @property
    def weight(self) -> float:
        return self.endpoint.weight

    @property
    def status(self) -> Status:
        return self.source.status if self.source is not None else self._status

    @status.setter
    def status(self, status: Status) -> None:
        if self.source is not None:
            raise ValueError(f"the status of {self.address} comes from its factory")
        self._status = status

    def load(self) -> float:
        return float(self.pending)

    def cost(self) -> float:
        """The load as balancers compare it: scaled down by the weight."""
        weight = self.endpoint.weight
        if weight == 1.0:
            return self.load()
        return self.load() / weight if weight > 0 else math.inf

    def start(self, on_release: Callable[[Node], None] | None = None) -> Lease:
        """A request goes to this node now; release the lease when its response is done."""
        self.pending += 1
        self.requests += 1
        return Lease(self, self.clock.monotonic(), on_release)

    def finish(self, started: float) -> None:
        """A request started at ``started`` is done (called by :meth:`Lease.release`)."""
        self.pending -= 1

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.address} {self.status.name} pending={self.pending}>"


class Lease:
    """One outstanding request on a node; :meth:`release` (idempotent) ends it."""

    __slots__ = ("_on_release", "node", "released", "started")

    def __init__(
        self, node: Node, started: float, on_release: Callable[[Node], None] | None = None
    ) -> None:
        self.node = node
        self.started = started
        self.released = False
        self._on_release = on_release

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self.node.finish(self.started)
        if self._on_release is not None:
            self._on_release(self.node)
