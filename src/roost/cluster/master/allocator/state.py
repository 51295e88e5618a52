"""The allocator's private bookkeeping records for agents, frameworks and roles.

They mirror the ``Slave``, ``Framework`` and per-role sorter state of Mesos
``src/master/allocator/mesos/hierarchical.hpp``; only ``Allocator`` mutates them.
"""

from __future__ import annotations

from roost.cluster.master.allocator.min_allocatable import MinAllocatable
from roost.cluster.master.allocator.sorter import ClusterTotals, DrfSorter, Quantities, quantities
from roost.core.resources import EMPTY, Resources

GPU_RESOURCES = "GPU_RESOURCES"


class AgentState:
    """One agent: ``available = total - allocated`` (scalars floor at zero)."""

    __slots__ = (
        "active",
        "allocated",
        "allocations",
        "available",
        "default_ok",
        "has_gpus",
        "id",
        "total",
        "total_q",
    )

    def __init__(self, agent_id: str, total: Resources) -> None:
        self.id = agent_id
        self.active = True
        self.total = total
        self.total_q: Quantities = quantities(total)
        self.has_gpus = total.millis("gpus") > 0
        self.allocated: Resources = EMPTY
        self.available: Resources = total
        # Per framework, including frameworks the allocator does not know yet (agent "used").
        self.allocations: dict[str, Resources] = {}
        # Whether ``available`` passes the global minimum (cached for the hot loop).
        self.default_ok = False

    def set_total(self, total: Resources) -> None:
        self.total = total
        self.total_q = quantities(total)
        self.has_gpus = total.millis("gpus") > 0
        self.available = total - self.allocated


class FrameworkState:
    __slots__ = (
        "active",
        "agents",
        "capabilities",
        "gpu_capable",
        "id",
        "min_allocatable",
        "role",
        "suppressed",
    )

    def __init__(
        self,
        framework_id: str,
        role: str,
        capabilities: frozenset[str],
        min_allocatable: MinAllocatable | None,
        active: bool,
        suppressed: bool,
    ) -> None:
        self.id = framework_id
        self.role = role
        self.capabilities = capabilities
        self.gpu_capable = GPU_RESOURCES in capabilities
        self.min_allocatable = min_allocatable  # None: the allocator's global policy
        self.active = active
        self.suppressed = suppressed
        self.agents: set[str] = set()  # agents holding resources allocated to this framework

    @property
    def wants_offers(self) -> bool:
        """Active in its role's sorter: connected and not suppressed."""
        return self.active and not self.suppressed


class RoleState:
    """A role: the DRF sorter of its frameworks (upstream ``frameworkSorters[role]``)."""

    __slots__ = ("frameworks", "name", "sorter", "wanting")

    def __init__(self, name: str, excluded: frozenset[str], totals: ClusterTotals) -> None:
        self.name = name
        self.sorter = DrfSorter(excluded, totals)
        self.frameworks: set[str] = set()
        self.wanting = 0  # frameworks active in ``sorter``; the role is sorted while > 0
