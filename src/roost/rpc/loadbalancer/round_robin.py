"""Round robin (Finagle ``roundrobin/RoundRobinBalancer.scala``).

At each (re)build the nodes are split into OPEN ones and the rest; picks rotate over the
OPEN nodes, or over the rest when none is OPEN. Seeing a node that is no longer OPEN, or a
left-out node that has recovered, rebuilds before the next pick. Round robin ignores
weights and load: it is the baseline the load-aware balancers are measured against.
"""

from __future__ import annotations

import random

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.endpoints import Endpoint
from roost.rpc.loadbalancer.balancer import Balancer, UpDown
from roost.rpc.loadbalancer.node import HasStatus, Node


class RoundRobin(Balancer[Node]):
    algorithm = "round_robin"

    def __init__(
        self, *, clock: Clock = SYSTEM_CLOCK, rng: random.Random | None = None, max_effort: int = 5
    ) -> None:
        super().__init__(clock=clock, rng=rng, max_effort=max_effort)
        self._split: UpDown[Node] = UpDown([])
        # Clients that start together should not all begin with the same node.
        self._offset = self.rng.randrange(1 << 16)

    def _new_node(self, endpoint: Endpoint, source: HasStatus | None) -> Node:
        return Node(endpoint, self.clock, source)

    def _on_rebuild(self) -> None:
        self._split = UpDown(self._vector)

    def _needs_rebuild(self) -> bool:
        return self._split.stale()

    def _may_find_open(self) -> bool:
        return bool(self._split.up)

    def _pick_once(self) -> Node:
        selections = self._split.up or self._split.down
        node = selections[self._offset % len(selections)]
        self._offset += 1
        return self._split.seen(node)
