"""Connection-pool metrics of one client, over the pools of all its endpoints, named as in
Finagle: gauges ``pool_size``, ``pool_waiters``, ``pool_cached``, ``connections``; counters
``pool_num_waited``, ``pool_num_too_many_waiters``, ``connects``; histograms
``connect_latency_ms`` and ``failed_connect_latency_ms``.

Counters are shared by the endpoints' pools, so they only grow, even when an endpoint leaves;
gauges add up the pools open now."""

from __future__ import annotations

from typing import TYPE_CHECKING

from roost.rpc.stats import StatsReceiver

if TYPE_CHECKING:
    from roost.rpc.http.pool import HttpEndpointFactory


class PoolStats:
    def __init__(self, stats: StatsReceiver) -> None:
        self.pools: set[HttpEndpointFactory] = set()
        """The open pools (a pool joins when made and leaves when closed)."""
        self.num_waited = stats.counter("pool_num_waited")
        self.num_too_many_waiters = stats.counter("pool_num_too_many_waiters")
        self.connects = stats.counter("connects")
        self.connect_latency_ms = stats.stat("connect_latency_ms")
        self.failed_connect_latency_ms = stats.stat("failed_connect_latency_ms")
        pools = self.pools
        stats.gauge("pool_size", fn=lambda: float(sum(p.pool_size for p in pools)))
        stats.gauge("pool_waiters", fn=lambda: float(sum(p.pool_waiters for p in pools)))
        stats.gauge("pool_cached", fn=lambda: float(sum(p.pool_cached for p in pools)))
        stats.gauge("connections", fn=lambda: float(sum(p.connections for p in pools)))
