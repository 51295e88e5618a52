"""A discrete-event simulation of one client in front of a set of backends, in virtual time.

It drives a real balancer through its pure API (``acquire()`` / ``Lease.release()``) on a
clock the simulation moves; no asyncio, no wall clock, every random draw from a seeded RNG.

The model (the "Beyond round robin" experiment, linkerd.io 2016-03-16):

* requests arrive every ``1 / rate`` seconds, each goes to the node the balancer picks;
* a backend answers after a latency drawn when the request is sent (normal around the
  median for healthy ones, fixed for a slow one during its slow period);
* a request answered after ``timeout`` counts as failed; there are no retries;
* ``release="answer"`` (default): the balancer's lease is released when the backend answers,
  so the slow backend keeps a timed-out request as pending and its round-trip time is the
  full answer time. This is the experiment as run: the load tester judged the timeout, the
  proxy under test saw every response. ``release="timeout"`` instead releases at
  ``min(latency, timeout)``, as a per-attempt timeout under the balancer would (the
  balancer then never sees a round trip longer than the timeout).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from roost.rpc.endpoints import Endpoint
from roost.rpc.loadbalancer import Balancer, Lease


class SimClock:
    """The simulation's virtual time (a :class:`roost.core.clock.Clock`)."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now


@dataclass(frozen=True)
class Backend:
    address: str
    median: float = 0.167
    sd: float = 0.005
    slow_latency: float | None = None
    slow_from: float = 0.0
    slow_until: float = 0.0

    def latency(self, t: float, rng: random.Random) -> float:
        if self.slow_latency is not None and self.slow_from <= t < self.slow_until:
            return self.slow_latency
        return max(rng.gauss(self.median, self.sd), 0.0)


@dataclass
class Result:
    requests: int = 0
    succeeded: int = 0
    per_backend: dict[str, int] = field(default_factory=dict)
    failed_per_backend: dict[str, int] = field(default_factory=dict)

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.requests if self.requests else 1.0


def beyond_round_robin_backends() -> list[Backend]:
    """11 backends around 167 ms; the last answers in 2 s from t=15 s to t=45 s."""
    backends = [Backend(f"10.0.0.{i}:8080") for i in range(1, 11)]
    backends.append(Backend("10.0.0.11:8080", slow_latency=2.0, slow_from=15.0, slow_until=45.0))
    return backends


def simulate(
    make_balancer: Callable[[SimClock, random.Random], Balancer[Any]],
    backends: list[Backend],
    *,
    duration: float = 60.0,
    rate: float = 1000.0,
    timeout: float = 1.0,
    release: Literal["answer", "timeout"] = "answer",
    seed: int = 1,
) -> Result:
    clock = SimClock()
    latency_rng = random.Random(seed)
    balancer = make_balancer(clock, random.Random(seed + 1))
    by_address = {b.address: b for b in backends}
    for backend in backends:
        balancer.add(Endpoint(backend.address))

    releases: list[tuple[float, int, Lease]] = []  # (when, sequence, lease)
    result = Result()
    total = int(duration * rate)
    for i in range(total):
        t = i / rate
        while releases and releases[0][0] <= t:
            when, _, lease = heapq.heappop(releases)
            clock.now = when
            lease.release()
        clock.now = t
        lease = balancer.acquire()
        address = lease.node.address
        latency = by_address[address].latency(t, latency_rng)
        ok = latency <= timeout
        result.requests += 1
        result.succeeded += ok
        result.per_backend[address] = result.per_backend.get(address, 0) + 1
        if not ok:
            result.failed_per_backend[address] = result.failed_per_backend.get(address, 0) + 1
        held = latency if release == "answer" else min(latency, timeout)
        heapq.heappush(releases, (t + held, i, lease))
    return result
