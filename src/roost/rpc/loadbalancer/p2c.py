"""Power of two choices, least loaded (Finagle ``p2c/P2CPick.scala``, ``P2CLeastLoaded``).

Pick ``a`` uniformly and ``b`` uniformly from the rest (without replacement). If their
statuses differ the healthier wins (OPEN > BUSY > CLOSED); otherwise the lower
:meth:`~roost.rpc.loadbalancer.node.Node.cost` (load / weight), ties going to ``a``. A single
node is always the pick. Two random choices avoid the herd behaviour of always taking the
global minimum while nearly matching its balance.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from roost.rpc.endpoints import Endpoint
from roost.rpc.loadbalancer.balancer import Balancer, N
from roost.rpc.loadbalancer.node import HasStatus, Node


def p2c_pick(nodes: Sequence[N], rng: random.Random) -> N:
    """The status-first power-of-two-choices pick over a non-empty sequence."""
    n = len(nodes)
    if n == 1:
        return nodes[0]
    i = rng.randrange(n)
    j = rng.randrange(n - 1)
    if j >= i:
        j += 1
    a, b = nodes[i], nodes[j]
    status_a, status_b = a.status, b.status
    if status_a != status_b:
        return a if status_a > status_b else b
    return b if b.cost() < a.cost() else a


class P2CLeastLoaded(Balancer[Node]):
    """P2C where a node's load is its outstanding requests."""

    algorithm = "p2c_least_loaded"
    stateless_pick = True

    def _new_node(self, endpoint: Endpoint, source: HasStatus | None) -> Node:
        return Node(endpoint, self.clock, source)

    def _pick_once(self) -> Node:
        return p2c_pick(self._vector, self.rng)
