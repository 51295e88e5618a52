"""The Mesos hierarchical DRF allocator as pure logic (``hierarchical.cpp``, ``drf/sorter.cpp``).

Drive an :class:`Allocator` with agent and framework events and an injected clock; call
:meth:`Allocator.allocate` every ``allocation_interval`` and whenever
:meth:`Allocator.needs_run` is true; turn each :class:`Allocation` into an offer.
"""

from roost.cluster.master.allocator.allocator import Allocator
from roost.cluster.master.allocator.errors import (
    AllocatorError,
    DuplicateError,
    UnknownAgentError,
    UnknownFrameworkError,
)
from roost.cluster.master.allocator.min_allocatable import DEFAULT_MIN_ALLOCATABLE, MinAllocatable
from roost.cluster.master.allocator.model import Allocation, AllocatorSnapshot
from roost.cluster.master.allocator.offer_filter import (
    DEFAULT_REFUSE_SECONDS,
    MAX_REFUSE_SECONDS,
    OfferFilters,
    RefusedOfferFilter,
    refuse_timeout,
)
from roost.cluster.master.allocator.sorter import ClusterTotals, DrfSorter, Quantities, quantities
from roost.cluster.master.allocator.state import GPU_RESOURCES

__all__ = [
    "DEFAULT_MIN_ALLOCATABLE",
    "DEFAULT_REFUSE_SECONDS",
    "GPU_RESOURCES",
    "MAX_REFUSE_SECONDS",
    "Allocation",
    "Allocator",
    "AllocatorError",
    "AllocatorSnapshot",
    "ClusterTotals",
    "DrfSorter",
    "DuplicateError",
    "MinAllocatable",
    "OfferFilters",
    "Quantities",
    "RefusedOfferFilter",
    "UnknownAgentError",
    "UnknownFrameworkError",
    "quantities",
    "refuse_timeout",
]
