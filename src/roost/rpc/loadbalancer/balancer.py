"""The balancer loop shared by every algorithm (Finagle ``loadbalancer/Balancer.scala``).

A balancer is a pure object: it consumes endpoint changes (:meth:`Balancer.apply`, or
:meth:`Balancer.add` with the endpoint's factory as the status source), and
:meth:`Balancer.pick` chooses a node using an injected clock and RNG — no asyncio, so
simulations drive it in virtual time. :meth:`Balancer.acquire` picks and starts a
:class:`~roost.rpc.loadbalancer.node.Lease`.

The loop: up to ``max_effort`` (default 5, the Linkerd-era value) picks of the algorithm's
distributor until one is OPEN; if none is, *panic* (counter ``panicked``), rebuild the
distributor, and take one more pick whatever its status — failing open beats failing every
request when health checks are wrong. A distributor that knows it holds no OPEN node (round
robin and aperture split nodes by status) panics at once instead of spending the effort.

Stats are plain attributes (exported later as ``loadbalancer/<name>``): gauges ``size``,
``available``, ``busy``, ``closed``, ``load``; counters ``adds``, ``removes``, ``updates``,
``rebuilds``, ``panicked``.
"""

from __future__ import annotations

import abc
import random
from typing import ClassVar, Generic, TypeVar

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.endpoints import Change, Endpoint, Insert
from roost.rpc.errors import NoBrokersAvailable
from roost.rpc.loadbalancer.node import HasStatus, Lease, Node
from roost.rpc.service import Status

N = TypeVar("N", bound=Node)


class Balancer(abc.ABC, Generic[N]):
    algorithm: ClassVar[str]
    """Reported as ``loadbalancer/algorithm/<algorithm>``."""

    def __init__(
        self, *, clock: Clock = SYSTEM_CLOCK, rng: random.Random | None = None, max_effort: int = 5
    ) -> None:
        if max_effort < 1:
            raise ValueError(f"max_effort must be at least 1: {max_effort}")
        self.clock = clock
        self.rng = rng if rng is not None else random.Random()
        self.max_effort = max_effort
        self._nodes: dict[str, N] = {}
        self._vector: list[N] = []
        """The nodes as of the last rebuild, in insertion order."""
        self.adds = 0
        self.removes = 0
        self.updates = 0
        self.rebuilds = 0
        self.panicked = 0
        cls = type(self)  # the hooks an algorithm overrides (the others cost no call)
        self._acquired = self._on_acquire if cls._on_acquire is not Balancer._on_acquire else None
        self._released = self._on_release if cls._on_release is not Balancer._on_release else None
        self._rebuilds = (
            cls._needs_rebuild is not Balancer._needs_rebuild
            or cls._may_find_open is not Balancer._may_find_open
        )

    # -- endpoint changes ------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        """Consume one discovery change (nodes get no status source: see :meth:`add`)."""
        if isinstance(change, Insert):
            self.add(change.endpoint)
        else:
            self.remove(change.address)

    def add(self, endpoint: Endpoint, source: HasStatus | None = None) -> N:
        """Insert a node, or update the weight/meta (and source, if given) of a known one,
        keeping its load history."""
        node = self._nodes.get(endpoint.address)
        if node is not None:
            node.endpoint = endpoint
            if source is not None:
                node.source = source
            self.updates += 1
        else:
            node = self._new_node(endpoint, source)
            self._nodes[endpoint.address] = node
            self.adds += 1
        self._rebuild()
        return node

    def remove(self, address: str) -> N | None:
        """Forget a node; it is never picked again (its outstanding leases still release)."""
        node = self._nodes.pop(address, None)
        if node is not None:
            self.removes += 1
            self._rebuild()
        return node

    def node(self, address: str) -> N | None:
        return self._nodes.get(address)

    @property
    def nodes(self) -> list[N]:
        return list(self._nodes.values())

    # -- picking ---------------------------------------------------------------------------

    stateless_pick = False
    """``_pick_once`` keeps no state (P2C): with one node it is that node, no call needed."""

    def pick(self) -> N:
        """The node for the next request (raises :class:`NoBrokersAvailable` when empty)."""
        vector = self._vector
        if not vector:
            raise NoBrokersAvailable("no endpoints to balance over")
        if self.stateless_pick and len(vector) == 1 and not self._rebuilds:
            node = vector[0]
            if node.status is Status.OPEN:
                return node
        rebuilds = self._rebuilds
        for _ in range(self.max_effort):
            if rebuilds:
                if self._needs_rebuild():
                    self._rebuild()
                if not self._may_find_open():
                    break
            node = self._pick_once()
            if node.status is Status.OPEN:
                return node
        self.panicked += 1
        self._rebuild()
        return self._pick_once()

    def acquire(self) -> Lease:
        """Pick a node and start a request on it; release the lease when the response is done."""
        node = self.pick()
        lease = node.start(self._released)
        if self._acquired is not None:
            self._acquired(node)
        return lease

    @property
    def status(self) -> Status:
        """The best node status; BUSY when there are no nodes (more may come)."""
        if not self._vector:
            return Status.BUSY
        return Status.best(*(n.status for n in self._vector))

    # -- stats -----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return len(self._nodes)

    @property
    def available(self) -> int:
        return sum(1 for n in self._nodes.values() if n.status is Status.OPEN)

    @property
    def busy(self) -> int:
        return sum(1 for n in self._nodes.values() if n.status is Status.BUSY)

    @property
    def closed(self) -> int:
        return sum(1 for n in self._nodes.values() if n.status is Status.CLOSED)

    @property
    def load(self) -> float:
        return sum(n.load() for n in self._nodes.values())

    # -- what algorithms provide -----------------------------------------------------------

    @abc.abstractmethod
    def _new_node(self, endpoint: Endpoint, source: HasStatus | None) -> N: ...

    @abc.abstractmethod
    def _pick_once(self) -> N:
        """One distributor pick over a non-empty ``_vector``."""

    def _rebuild(self) -> None:
        self.rebuilds += 1
        self._vector = list(self._nodes.values())
        self._on_rebuild()

    def _on_rebuild(self) -> None:
        """Recompute the distributor from ``_vector``."""

    def _needs_rebuild(self) -> bool:
        """Whether node statuses changed in a way the distributor must see."""
        return False

    def _may_find_open(self) -> bool:
        """False when the (fresh) distributor knows it has no OPEN node: the loop then
        panics at once instead of spending its effort (and, for a rotation, instead of
        advancing ``max_effort + 1`` places per request, which with 2, 3 or 6 nodes would
        send every panicked request to the same node)."""
        return True

    def _on_acquire(self, node: N) -> None:
        pass

    def _on_release(self, node: Node) -> None:
        pass


class UpDown(Generic[N]):
    """Nodes split into OPEN (``up``) and the rest (``down``) at build time, for distributors
    that rotate over healthy nodes first (round robin, aperture). It is stale once a node
    that was up is picked and found not OPEN, or a down node has recovered."""

    def __init__(self, nodes: list[N]) -> None:
        self.up = [n for n in nodes if n.status is Status.OPEN]
        self.down = [n for n in nodes if n.status is not Status.OPEN]
        self._down = set(self.down)
        self.saw_down = False

    def seen(self, node: N) -> N:
        if node.status is not Status.OPEN and node not in self._down:
            self.saw_down = True
        return node

    def stale(self) -> bool:
        return self.saw_down or any(n.status is Status.OPEN for n in self.down)
