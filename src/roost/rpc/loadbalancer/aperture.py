"""Aperture: P2C least loaded over a window of the ring, sized by load
(Finagle ``loadbalancer/aperture``, ``LoadBand.scala``; the Linkerd-era defaults).

Each node gets a random place on a ring when it is inserted; the window ("aperture") is
the first ``aperture`` nodes of the ring, OPEN nodes first, so a client talks to few
endpoints (few connections) while load is light and to more as it grows. Keeping ring
places across rebuilds keeps the same endpoints in the window. Weights scale the load
inside the window (as in P2C); they do not change ring places.

:class:`LoadBand` sizes the window: on every acquire and release it updates an EMA (window
``smooth_win``) of the total outstanding requests; with ``avg = ema / aperture``,
``avg >= high_load`` widens the aperture by one (up to the number of nodes) and
``avg <= low_load`` narrows it by one (down to ``min_aperture``). Counters ``widen`` and
``narrow``; gauge ``aperture`` (upstream ``logical_aperture``).
"""

from __future__ import annotations

import random

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.ema import Ema
from roost.rpc.endpoints import Endpoint
from roost.rpc.loadbalancer.balancer import Balancer, UpDown
from roost.rpc.loadbalancer.node import HasStatus, Node
from roost.rpc.loadbalancer.p2c import p2c_pick


class LoadBand:
    """Pure controller: feed it changes of total outstanding load, it says widen or narrow."""

    def __init__(self, smooth_win: float = 5.0, low_load: float = 0.5, high_load: float = 2.0):
        if not 0 <= low_load < high_load:
            raise ValueError(f"need 0 <= low_load < high_load: {low_load}, {high_load}")
        self.low_load = low_load
        self.high_load = high_load
        self.total = 0
        """Outstanding requests over the whole balancer."""
        self.ema = Ema(smooth_win)

    @property
    def offered_load_ema(self) -> float:
        return self.ema.value

    def adjust(self, delta: int, now: float, aperture: int) -> int:
        """Record ``delta`` outstanding at ``now``: +1 to widen, -1 to narrow, 0 to stay."""
        self.total += delta
        avg = self.ema.update(now, self.total) / max(aperture, 1)
        if avg >= self.high_load:
            return 1
        if avg <= self.low_load:
            return -1
        return 0


class Aperture(Balancer[Node]):
    algorithm = "aperture"

    def __init__(
        self,
        *,
        min_aperture: int = 1,
        smooth_win: float = 5.0,
        low_load: float = 0.5,
        high_load: float = 2.0,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        max_effort: int = 5,
    ) -> None:
        super().__init__(clock=clock, rng=rng, max_effort=max_effort)
        if min_aperture < 1:
            raise ValueError(f"min_aperture must be at least 1: {min_aperture}")
        self.min_aperture = min_aperture
        self.aperture = min_aperture
        self.band = LoadBand(smooth_win, low_load, high_load)
        self.widen = 0
        self.narrow = 0
        self._ring: dict[Node, float] = {}
        self._split: UpDown[Node] = UpDown([])
        self._window: list[Node] = []

    @property
    def window(self) -> list[Node]:
        """The nodes currently inside the aperture."""
        return list(self._window)

    def _new_node(self, endpoint: Endpoint, source: HasStatus | None) -> Node:
        node = Node(endpoint, self.clock, source)
        self._ring[node] = self.rng.random()
        return node

    def _on_rebuild(self) -> None:
        self._ring = {n: self._ring[n] for n in self._vector}
        if self._vector:
            self.aperture = min(max(self.aperture, self.min_aperture), len(self._vector))
        ring = sorted(self._vector, key=self._ring.__getitem__)
        self._split = UpDown(ring)
        self._window = (self._split.up + self._split.down)[: self.aperture]

    def _needs_rebuild(self) -> bool:
        return self._split.stale()

    def _may_find_open(self) -> bool:
        return bool(self._split.up)

    def _pick_once(self) -> Node:
        return self._split.seen(p2c_pick(self._window, self.rng))

    def _on_acquire(self, node: Node) -> None:
        self._adjust(1)

    def _on_release(self, node: Node) -> None:
        self._adjust(-1)

    def _adjust(self, delta: int) -> None:
        step = self.band.adjust(delta, self.clock.monotonic(), self.aperture)
        if step > 0 and self.aperture < len(self._vector):
            self.aperture += 1
            self.widen += 1
            self._rebuild()
        elif step < 0 and self.aperture > self.min_aperture:
            self.aperture -= 1
            self.narrow += 1
            self._rebuild()
