"""Load balancers (Finagle ``loadbalancer/*``): pure pickers driven by a clock and an RNG,
plus :class:`BalancerFactory`, the asyncio ServiceFactory around one.

=====================  ===============================================================
:class:`RoundRobin`     rotate over OPEN nodes; the baseline
:class:`P2CLeastLoaded` power of two choices, load = outstanding requests
:class:`P2CPeakEwma`    power of two choices, load = peak EWMA of latency x (pending + 1)
:class:`Aperture`       P2C least loaded over a load-sized window of the ring
=====================  ===============================================================
"""

from roost.rpc.loadbalancer.aperture import Aperture, LoadBand
from roost.rpc.loadbalancer.balancer import Balancer
from roost.rpc.loadbalancer.factory import BalancerFactory
from roost.rpc.loadbalancer.node import HasStatus, Lease, Node
from roost.rpc.loadbalancer.p2c import P2CLeastLoaded, p2c_pick
from roost.rpc.loadbalancer.peak_ewma import PENALTY, P2CPeakEwma, PeakEwmaNode
from roost.rpc.loadbalancer.round_robin import RoundRobin

__all__ = [
    "PENALTY",
    "Aperture",
    "Balancer",
    "BalancerFactory",
    "HasStatus",
    "Lease",
    "LoadBand",
    "Node",
    "P2CLeastLoaded",
    "P2CPeakEwma",
    "PeakEwmaNode",
    "RoundRobin",
    "p2c_pick",
]
