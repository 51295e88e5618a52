"""P2C over Peak EWMA cost (Finagle ``loadbalancer/PeakEwma.scala``; Tower ``load/peak_ewma``).

Each node keeps an exponentially weighted moving average of its round-trip times, in
nanoseconds as upstream does, measured from acquire to release. On each observation ``x``
at time ``t``::

    w = exp(-(t - t_last) / tau)          # tau = decay_time, 10 s by default
    ema = x                                if x > ema   (peak: a slow reply counts at once)
    ema = x * (1 - w) + ema * w            otherwise

``load()`` first decays the average by observing 0, then is ``ema * (pending + 1)``: latency
times the queue the next request would join. A node without history (``ema == 0``) but with
requests in flight costs ``PENALTY + pending``, so it gets one request at a time until its
first reply says how fast it is.
"""

from __future__ import annotations

import math
import random

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.endpoints import Endpoint
from roost.rpc.loadbalancer.balancer import Balancer
from roost.rpc.loadbalancer.node import HasStatus, Node
from roost.rpc.loadbalancer.p2c import p2c_pick

PENALTY = float((2**63 - 1) >> 16)
"""Cost of a node with requests in flight and no reply yet (Finagle ``Long.MaxValue >> 16``)."""

NANOS = 1e9


class PeakEwmaNode(Node):
    def __init__(
        self,
        endpoint: Endpoint,
        clock: Clock,
        source: HasStatus | None = None,
        decay_time: float = 10.0,
    ) -> None:
        super().__init__(endpoint, clock, source)
        if decay_time <= 0:
            raise ValueError(f"decay_time must be positive: {decay_time}")
        self.decay_time = decay_time
        self.ema = 0.0
        """Peak EWMA of round-trip times, in nanoseconds."""
        self._stamp = clock.monotonic()

    def observe(self, rtt_ns: float, now: float | None = None) -> None:
        """A round trip of ``rtt_ns`` ended now (``now``: the clock's, if already read)."""
        if now is None:
            now = self.clock.monotonic()
        elapsed = now - self._stamp
        if rtt_ns > self.ema:  # a peak is taken at once
            self.ema = rtt_ns
        else:
            w = math.exp(-elapsed / self.decay_time) if elapsed > 0.0 else 1.0
            self.ema = rtt_ns * (1.0 - w) + self.ema * w
        if elapsed > 0.0:
            self._stamp = now

    def load(self) -> float:
        self.observe(0.0)
        if self.ema == 0.0 and self.pending > 0:
            return PENALTY + self.pending
        return self.ema * (self.pending + 1)

    def finish(self, started: float) -> None:
        now = self.clock.monotonic()
        self.observe((now - started) * NANOS, now)
        self.pending -= 1  # (Node.finish)


class P2CPeakEwma(Balancer[PeakEwmaNode]):
    """P2C where a node's load is its Peak EWMA cost."""

    algorithm = "p2c_peak_ewma"
    stateless_pick = True

    def __init__(
        self,
        *,
        decay_time: float = 10.0,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
        max_effort: int = 5,
    ) -> None:
        super().__init__(clock=clock, rng=rng, max_effort=max_effort)
        self.decay_time = decay_time

    def _new_node(self, endpoint: Endpoint, source: HasStatus | None) -> PeakEwmaNode:
        return PeakEwmaNode(endpoint, self.clock, source, self.decay_time)

    def _pick_once(self) -> PeakEwmaNode:
        return p2c_pick(self._vector, self.rng)
